"""The API against its own OpenAPI description, with data generated from it: no answer is
a server error, and every answer is one the description lists, with its content type and
body schema. A bounded run (a handful of valid and invalid examples per operation,
derandomized: about a minute), part of the suite; ``MOTCUA_SCHEMATHESIS_EXAMPLES`` raises the budget for a longer hunt."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from web import create_app

EXAMPLES = int(os.environ.get("MOTCUA_SCHEMATHESIS_EXAMPLES", "6"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def test_no_server_error_and_no_answer_outside_the_description(platform):
    app = create_app({"MOTCUA_PLATFORM": platform, "TESTING": True,
                      "RATELIMIT_ENABLED": False})
    client = app.test_client()
    token = client.post("/api/v1/auth/token",
                        json={"username": "quantri", "password": "demo"}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15

    for operation in operations:
        # valid data, and data that breaks the description (wrong types, missing fields)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck), print_blob=True)
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case):
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                call()
            except Unsatisfiable:  # nothing to break: an operation without parameters
                assert mode is GenerationMode.NEGATIVE, operation.label
