"""The OpenAPI 3.1 description of the JSON API (``GET /api/v1/openapi.json``).

Built as a plain dict so that it lives next to the code it describes; a test checks that
its paths and methods are exactly the API blueprint's routes.
"""

from __future__ import annotations

from copy import deepcopy

from engine.vocabulary import STATUSES, AuditAction, TaskState

API_VERSION = "1.0.0"

_STRING = {"type": "string"}
_DATETIME = {"type": "string", "format": "date-time"}
_RECEIVING_AGENCY = {"type": "string", "description": "code of the receiving agency; required "
                     "when the procedure has several (its `agencies`)"}
_NULLABLE_DATETIME = {"type": ["string", "null"], "format": "date-time"}
_I18N = {"type": "object", "properties": {"vi": _STRING, "en": _STRING}}

_STATUS_DESCRIPTIONS = {
    200: "OK", 201: "Created", 202: "Accepted: queued, to be handled by the worker",
    400: "Malformed request (invalid JSON, a missing field)",
    401: "No valid bearer token (the response carries `WWW-Authenticate: Bearer`)",
    403: "The caller may not do this",
    404: "Not found, or not visible to the caller",
    409: "Conflict: the task is already done or claimed by another officer",
    413: "The upload exceeds the size limit",
    415: "Unsupported content type: send JSON or multipart/form-data",
    422: "Invalid data (`details`: `[{field, message}]`) or bundle (`[{file, element, message}]`)",
    429: "Too many attempts: wait the `Retry-After` seconds, then try again",
    500: "An unexpected error on the server: it is logged under the `incident` id the body "
         "carries; quote it to support",
}
#: Answers any operation can give: a malformed request (a NUL character, a number of
#: thousands of digits, JSON nested too deep), throttling and the server's own failure.
_ANY_OPERATION = (400, 429, 500)
#: ...and any operation that takes a body: data the engine refuses.
_ANY_WRITE = (413, 415, 422)


def _terms(members, what: str) -> dict:
    """A string one of ``members`` (from :mod:`engine.vocabulary`), each described."""
    return {"type": "string", "enum": [m.value for m in members],
            "description": what + ": " + "; ".join(f"`{m.value}` {m.en}" for m in members)}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict, required: list[str] | None = None, **extra) -> dict:
    schema = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = required
    return schema


def _array(items: dict) -> dict:
    return {"type": "array", "items": items}


_SHARE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}

SCHEMAS: dict[str, dict] = {
    "Error": _obj({
        "error": {"type": "string", "description": "machine-readable name, e.g. `Conflict`"},
        "message": {"type": "string", "description": "English"},
        "message_vi": {"type": "string", "description": "Vietnamese"},
        "details": {"oneOf": [_array({"type": "object"}), {"type": "object"}],
                    "description": "field errors `{field, message}`, bundle errors "
                                   "`{file, element, message}`, or other context"},
        "incident": {"type": "string", "description": "on a 500 only: the id of the logged "
                                                      "error, for support"},
    }, ["error", "message", "message_vi", "details"]),
    "Credentials": _obj({"username": _STRING, "password": _STRING}, ["username", "password"]),
    "Token": _obj({"token": {"type": "string", "description": "send as `Authorization: Bearer`"}},
                  ["token"]),
    "Procedure": _obj({
        "code": _STRING, "national_code": {"type": ["string", "null"]},
        "name_vi": _STRING, "name_en": _STRING, "field": _I18N,
        "level": {"type": "integer", "enum": [3, 4]}, "online_label": _STRING,
        "deadline": _obj({"value": {"type": "number"}, "unit": {
            "type": "string", "enum": ["hours", "days", "working_days", "months"]},
            "online": {"type": "integer", "description": "the value for a dossier filed online, "
                                                        "when shorter"}}),
        "fee": {"type": "object"},
        "agency": _obj({"code": _STRING, "name_vi": _STRING}),
        "agencies": {**_array(_obj({"code": _STRING, "name_vi": _STRING, "name_en": _STRING})),
                     "description": "the agencies that receive it; with more than one, "
                                    "`POST /dossiers` names one as `agency`"},
        "required_documents": _array({}), "legal_basis": _array(_STRING),
        "version": {"type": "integer"},
        "form": {"type": ["object", "null"], "description": "the application form (JSON "
                 "Schema); properties with `format: document` are file fields"},
    }, ["code", "name_vi"]),
    "Bundle": _obj({"files": {"type": "object", "additionalProperties": _STRING,
                              "description": "path in the bundle → file text"}}, ["files"]),
    "DeployResult": _obj({"code": _STRING, "version": {"type": "integer"},
                          "created": {"type": "boolean"},
                          "warnings": {**_array(_obj({"file": _STRING, "element": _STRING,
                                                      "message": _STRING})),
                                       "description": "what deploy did for the analyst: a "
                                       "default role given, the process chosen, a Camunda "
                                       "diagram's conversion"}},
                         ["code", "version", "created"]),
    "Submission": _obj({"procedure": _STRING, "data": {"type": "object"},
                        "agency": _RECEIVING_AGENCY}, ["procedure", "data"]),
    "SubmitResult": _obj({"code": _STRING, "status": _terms(STATUSES, "the dossier's status"),
                          "received_at": _DATETIME,
                          "due_at": _NULLABLE_DATETIME, "agency": _STRING}, ["code", "status"]),
    "Document": _obj({"id": {"type": "integer"}, "name": _STRING, "filename": _STRING,
                      "media_type": _STRING, "size": {"type": "integer"}, "kind": _STRING,
                      "signatures": {"type": "integer"}, "created_at": _DATETIME}),
    "Dossier": _obj({
        "code": _STRING,
        "procedure": _obj({"code": _STRING, "name_vi": _STRING, "name_en": _STRING}),
        "agency": _obj({"code": _STRING, "name_vi": _STRING}),
        "applicant": _obj({"name": _STRING}),
        "status": _terms(STATUSES, "the dossier's status"),
        "received_at": _DATETIME, "due_at": _NULLABLE_DATETIME,
        "finished_at": _NULLABLE_DATETIME, "data": {"type": "object"},
        "history": _array(_obj({"at": _DATETIME, "actor": _STRING,
                                "action": _terms(tuple(AuditAction), "what happened"),
                                "detail": {}})),
        "steps": _array(_obj({"task_id": {"type": "integer"}, "title": _STRING, "role": _STRING,
                              "assignee": {"type": ["string", "null"]},
                              "due_at": _NULLABLE_DATETIME})),
        "documents": _array(_ref("Document")),
        "notifications": _array(_obj({"at": _DATETIME, "subject": _STRING, "status": _STRING})),
        # documents a step asked for, made after its commit (a slip): until they exist;
        # "failed" and its error only for the agency's staff
        "preparing": _array(_obj({"kind": _STRING, "document": _STRING, "title": _STRING,
                                  "status": {"type": "string", "enum": ["pending", "failed"]},
                                  "error": _STRING, "attempts": {"type": "integer"},
                                  "created_at": _DATETIME})),
    }, ["code", "status"]),
    "Reason": _obj({"reason": {"type": "string", "minLength": 1, "maxLength": 2000}},
                   ["reason"]),
    "InboundMessage": _obj({
        "name": {"type": "string", "minLength": 1,
                 "description": "the message's name: a message start event of a procedure's "
                                "process, or a message a dossier waits for"},
        "correlation": {"type": "string", "minLength": 1, "maxLength": 255,
                        "description": "the sending system's key for the case"},
        "payload": {"type": "object",
                    "description": "what the start or catch event receives; "
                                   "`applicant_id_number` (an account's CCCD or tax code) names "
                                   "the applicant of a dossier it starts (else the system "
                                   "account), `application` (an object) its data"}},
        ["name", "correlation"]),
    "InboundMessageResult": _obj({
        "id": {"type": "integer"}, "name": _STRING, "correlation": _STRING, "status": _STRING,
        "starts": {"type": ["string", "null"],
                   "description": "the code of the procedure a dossier will be started in, "
                                  "or null when a waiting dossier receives it"}},
        ["id", "name", "correlation", "status"]),
    "Apology": _obj({"reason": {"type": "string", "minLength": 1, "maxLength": 2000},
                     "new_date": {"type": "string", "format": "date"}},
                    ["reason", "new_date"]),
    "ApologyResult": _obj({"code": _STRING, "previous_due_at": _DATETIME, "due_at": _DATETIME,
                           "job": _STRING}, ["code", "due_at"]),
    "TaskSummary": _obj({
        "id": {"type": "integer"}, "title": _STRING, "dossier_code": _STRING,
        "spec_name": {"type": "string",
                      "description": "the diagram element (BPMN id) the task stands for"},
        "procedure_name": _STRING, "procedure_name_en": _STRING,
        "status": _terms(tuple(TaskState), "the step's state"),
        "role": _STRING, "assignee": {"type": ["string", "null"]},
        "due_at": _NULLABLE_DATETIME, "created_at": _DATETIME, "mine": {"type": "boolean"},
        "applicant_name": _STRING,
    }, ["id", "title", "dossier_code"]),
    "Task": _obj({
        "id": {"type": "integer"}, "title": _STRING,
        "status": _terms(tuple(TaskState), "the step's state"), "role": _STRING,
        "assignee": {"type": ["string", "null"]}, "due_at": _NULLABLE_DATETIME,
        "form": {"type": ["object", "null"], "description": "the task's form (JSON Schema)"},
        "sign_document": {"type": ["string", "null"],
                          "description": "set when completing signs a document: send the "
                                         "officer's key passphrase"},
        "can_claim": {"type": "boolean"}, "can_complete": {"type": "boolean"},
        "dossier": _ref("Dossier"),
        "earlier": _array(_obj({
            "id": {"type": "integer"}, "title": _STRING, "role": _STRING,
            "completed_at": _NULLABLE_DATETIME, "completed_by": _STRING,
            "form": {"type": "object"}, "data": {"type": "object"}},
            description="the steps completed before this one, latest first, with the "
                        "fields this step's role may see (x-show-to in the forms)")),
        "checklist": {"type": ["array", "null"], "items": _obj({
            "key": _STRING, "name_vi": _STRING, "name_en": _STRING,
            "document": {"type": ["object", "null"]}}),
            "description": "on a receiving step: the procedure's required documents, each "
                           "with the dossier's latest file for it or null"},
    }, ["id", "title", "status"]),
    "TaskCompletion": _obj({"data": {"type": "object"}, "passphrase": _STRING}, ["data"]),
    "TaskResult": _obj({"id": {"type": "integer"}, "status": {"const": "completed"},
                        "dossier_code": _STRING,
                        "dossier_status": _terms(STATUSES, "the dossier's status")}),
    "SignatureReport": _obj({
        "field": _STRING, "signer": _STRING, "signed_at": _NULLABLE_DATETIME,
        "intact": {"type": "boolean", "description": "the signed bytes are unchanged"},
        "valid": {"type": "boolean", "description": "the cryptographic signature checks"},
        "trusted": {"type": "boolean", "description": "the signer chains to our trust roots"},
        "modified_after": {"type": "boolean",
                           "description": "the file was changed after this signature"},
        "summary": _STRING,
        "signed": {"type": "boolean", "description": "false for an empty signature field"},
        "revision": {"type": ["integer", "null"],
                     "description": "the 1-based revision of the file this signature signed"},
        "level": {"enum": ["", "B-B", "B-T", "B-LT"],
                  "description": "PAdES baseline level; \"\" for a legacy (adbe.pkcs7) or "
                                 "failed signature"},
        "timestamp": {**_NULLABLE_DATETIME,
                      "description": "the time of the signature's RFC 3161 timestamp "
                                     "(the TSA's clock), null without one"},
    }),
    "VerificationReport": _obj({"ok": {"type": "boolean"}, "error": {"type": ["string", "null"]},
                                "signatures": _array(_ref("SignatureReport")),
                                "revisions": {"type": "integer"},
                                "unsigned_revisions": _array({"type": "integer"})},
                               ["ok", "signatures"]),
    "Stats": {
        "type": "object",
        "description": "Indicators by the national definitions (Decision 766/QĐ-TTg). The period "
                       "holds the dossiers received in it or processed in it and those carried "
                       "over (still open when it began); a cooperating pair counts once where "
                       "both sides are in scope. On time is judged against the appointment "
                       "before any apology; more than one supplement request is late. Online = "
                       "filed online and given an electronic result (a slip is not one). Shares "
                       "are 0–1, null when there is nothing to divide by.",
        "required": ["received", "by_channel", "processed_on_time", "processed_late",
                     "share_on_time", "electronic_results", "share_online", "scorecard"],
        "properties": {
            "period": _obj({"start": {"type": "string", "format": "date"},
                            "end": {"type": "string", "format": "date"}}),
            "agency": {"type": ["string", "null"]}, "procedure": {"type": ["string", "null"]},
            "received": {"type": "integer", "description": "carried over + newly received"},
            "carried_over": {"type": "integer"},
            "by_channel": _obj({c: {"type": "integer"} for c in ("online", "counter", "post")},
                               ["online", "counter", "post"]),
            "processed": {"type": "integer"},
            "processed_early": {"type": "integer"},
            "processed_on_time": {"type": "integer", "description": "on the appointment's day"},
            "processed_late": {"type": "integer"},
            "in_progress_on_time": {"type": "integer"}, "in_progress_late": {"type": "integer"},
            "share_on_time": _SHARE,
            "average_processing_time": {
                "type": "object", "description": "per procedure code: {average, unit, deadline, "
                                                 "processed}, pauses left out"},
            "electronic_results": {"type": "integer"}, "share_electronic_results": _SHARE,
            "share_online": _SHARE, "paid_online": {"type": "integer"},
            "share_paid_online": _SHARE, "share_satisfied": _SHARE,
            "synchronised": {"type": "integer", "description": "dossiers whose record the "
                             "national public-service portal has answered"},
            "share_synchronised": _SHARE,
            "scorecard": {"type": "object", "description": "group (transparency, progress, "
                          "online, digitisation, satisfaction) → points, null when the portal "
                          "cannot know any of its indicators",
                          "additionalProperties": {"type": ["number", "null"]}},
            "scorecard_detail": {"type": "array", "description": "each group with its "
                                 "indicators: value, points, max_points, threshold, confirmed, "
                                 "unknown (why the portal cannot know it)"},
        }},
}


def _responses(ok: int, ok_schema: dict | None, *errors: int, ok_media: str = "application/json"
               ) -> dict:
    responses: dict[str, dict] = {str(ok): {"description": _STATUS_DESCRIPTIONS[ok]}}
    if ok_schema is not None:
        responses[str(ok)]["content"] = {ok_media: {"schema": ok_schema}}
    for status in errors:
        responses[str(status)] = {"description": _STATUS_DESCRIPTIONS[status],
                                  "content": {"application/json": {"schema": _ref("Error")}}}
    return responses


def _json_body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _path_param(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema,
            "description": description}


def _query(name: str, description: str, fmt: str | None = None) -> dict:
    schema = {"type": "string", **({"format": fmt} if fmt else {})}
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


_PUBLIC: list = []
_OPTIONAL_AUTH = [{}, {"bearerAuth": []}]
#: Ids are INTEGER columns: a larger number is never an id (404).
_ID = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
_TASK_ID = _path_param("task_id", _ID, "the task's id")

_MULTIPART_FILES = {"type": "string", "contentMediaType": "application/octet-stream"}

PATHS: dict[str, dict] = {
    "/auth/token": {"post": {
        "summary": "Issue a bearer token", "operationId": "issueToken", "security": _PUBLIC,
        "requestBody": _json_body(_ref("Credentials")),
        "responses": _responses(200, _ref("Token"), 400, 401, 415)}},
    "/procedures": {
        "get": {"summary": "The procedure catalogue", "operationId": "listProcedures",
                "security": _PUBLIC, "responses": _responses(200, _array(_ref("Procedure")))},
        "post": {
            "summary": "Deploy a procedure bundle (analysts)", "operationId": "deployProcedure",
            "description": "201 when a new version is stored, 200 when the bundle is unchanged "
                           "or only checked (`?check=1`).",
            "parameters": [_query("check", "`1`: validate only, deploy nothing")],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _ref("Bundle")},
                "multipart/form-data": {"schema": {
                    "type": "object", "additionalProperties": _MULTIPART_FILES,
                    "description": "one file part per bundle file; its filename is its path "
                                   "in the bundle (`procedure.yaml`, `forms/application.json`)"}},
            }},
            "responses": {**_responses(201, _ref("DeployResult"), 400, 401, 403, 413, 415, 422),
                          "200": {"description": "Unchanged, or checked only",
                                  "content": {"application/json": {
                                      "schema": _ref("DeployResult")}}}}}},
    "/procedures/{code}": {"get": {
        "summary": "One procedure with its application form", "operationId": "getProcedure",
        "security": _PUBLIC,
        "parameters": [_path_param("code", _STRING, "the procedure's code")],
        "responses": _responses(200, _ref("Procedure"), 404)}},
    "/dossiers": {"post": {
        "summary": "Submit a dossier", "operationId": "submitDossier",
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": _ref("Submission")},
            "multipart/form-data": {"schema": _obj(
                {"procedure": _STRING, "agency": _RECEIVING_AGENCY,
                 "data": {"type": "string", "contentMediaType": "application/json",
                          "description": "the form data as a JSON object"}},
                ["procedure"], additionalProperties=_MULTIPART_FILES,
                description="plus one file part per file property of the form")}}},
        "responses": _responses(201, _ref("SubmitResult"), 400, 401, 403, 404, 413, 415, 422)}},
    "/dossiers/{code}": {"get": {
        "summary": "A dossier: status, history, steps, documents", "operationId": "getDossier",
        "description": "For its applicant, staff of the handling agency, or anyone with the "
                       "applicant's ID number (`?id_number=`).",
        "security": _OPTIONAL_AUTH,
        "parameters": [_path_param("code", _STRING, "the dossier's code"),
                       _query("id_number", "the applicant's ID number (anonymous look-up)")],
        "responses": _responses(200, _ref("Dossier"), 401, 403, 404)}},
    "/dossiers/{code}/withdraw": {"post": {
        "summary": "Withdraw a dossier (its applicant)", "operationId": "withdrawDossier",
        "description": "Cancels its open steps and timers; the status becomes `withdrawn`. "
                       "409 when the dossier is already finished.",
        "parameters": [_path_param("code", _STRING, "the dossier's code")],
        "requestBody": _json_body(_ref("Reason")),
        "responses": _responses(200, _ref("Dossier"), 400, 401, 403, 404, 409, 415, 422)}},
    "/dossiers/{code}/stop": {"post": {
        "summary": "Stop processing a dossier (head or reception of its agency)",
        "operationId": "stopDossier",
        "description": "Cancels its open steps and timers; the status becomes `stopped` and "
                       "the applicant is told the reason. 409 when already finished.",
        "parameters": [_path_param("code", _STRING, "the dossier's code")],
        "requestBody": _json_body(_ref("Reason")),
        "responses": _responses(200, _ref("Dossier"), 400, 401, 403, 404, 409, 415, 422)}},
    "/dossiers/{code}/apology": {"post": {
        "summary": "Apologise and extend the appointment (handler or head of its agency)",
        "operationId": "apologiseDossier",
        "description": "Before the appointment date: moves it to the close of day of "
                       "`new_date` (a working day after the current one) and sends the "
                       "applicant the apology form of the dossier's form set with the reason. "
                       "409 when the date has passed or the dossier is finished.",
        "parameters": [_path_param("code", _STRING, "the dossier's code")],
        "requestBody": _json_body(_ref("Apology")),
        "responses": _responses(200, _ref("ApologyResult"), 400, 401, 403, 404, 409, 415,
                                422)}},
    "/tasks": {"get": {
        "summary": "The caller's actionable tasks", "operationId": "listTasks",
        "description": "Tasks assigned to the caller and unclaimed tasks of the caller's "
                       "roles in their agencies, by due date (tasks without one last), then "
                       "id, one page at a time. The body is the page's array. When more "
                       "tasks follow, the response carries `Link: </api/v1/tasks?after=…>; "
                       "rel=\"next\"` and `X-Next-Cursor`: request that link (or pass the "
                       "cursor as `after`) for the next page; on the last page neither header "
                       "is sent. Cursors are opaque; a task finished meanwhile does not shift "
                       "the next page.",
        "parameters": [
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 50},
             "description": "tasks per page"},
            _query("after", "the cursor of the previous page (`X-Next-Cursor`)")],
        "responses": {**_responses(200, None, 400, 401),
                      "200": {"description": "One page of tasks", "headers": {
                          "Link": {"schema": _STRING,
                                   "description": "`<…>; rel=\"next\"` when more follow"},
                          "X-Next-Cursor": {"schema": _STRING,
                                            "description": "the `after` of the next page, "
                                                           "when more follow"}},
                          "content": {"application/json": {
                              "schema": _array(_ref("TaskSummary"))}}}}}},
    "/tasks/{task_id}": {"get": {
        "summary": "A task with its form and dossier", "operationId": "getTask",
        "parameters": [_TASK_ID], "responses": _responses(200, _ref("Task"), 401, 403, 404)}},
    "/tasks/{task_id}/claim": {"post": {
        "summary": "Claim a task", "operationId": "claimTask", "parameters": [_TASK_ID],
        "responses": _responses(200, {"type": "object"}, 401, 403, 404, 409)}},
    "/tasks/{task_id}/complete": {"post": {
        "summary": "Complete a task", "operationId": "completeTask", "parameters": [_TASK_ID],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": _ref("TaskCompletion")},
            "multipart/form-data": {"schema": _obj(
                {"data": {"type": "string", "contentMediaType": "application/json"},
                 "passphrase": _STRING},
                additionalProperties=_MULTIPART_FILES,
                description="plus one file part per file property of the task's form")}}},
        "responses": _responses(200, _ref("TaskResult"), 400, 401, 403, 404, 409, 413, 415,
                                422)}},
    "/documents/{document_id}": {"get": {
        "summary": "Download a document", "operationId": "getDocument",
        "parameters": [_path_param("document_id", _ID, "the document's id")],
        "responses": _responses(200, {"type": "string", "contentMediaType":
                                      "application/octet-stream"}, 401, 403, 404,
                                ok_media="*/*")}},
    "/verify": {"post": {
        "summary": "Verify the signatures of a PDF", "operationId": "verifyPdf",
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": _obj(
            {"file": {"type": "string", "contentMediaType": "application/pdf"}}, ["file"])}}},
        "responses": _responses(200, _ref("VerificationReport"), 400, 401, 413)}},
    "/stats": {"get": {
        "summary": "Indicators (staff)", "operationId": "getStats",
        "parameters": [_query("start", "first day, YYYY-MM-DD", "date"),
                       _query("end", "last day, YYYY-MM-DD", "date"),
                       _query("agency", "an agency code (default: the widest the caller "
                                        "may read)"),
                       _query("sub_agencies", "0 to leave the agency's sub-agencies out"),
                       _query("procedure", "a procedure code")],
        "responses": _responses(200, _ref("Stats"), 400, 401, 403, 404, 422)}},
    "/messages": {"post": {
        "summary": "Post a message from another system (system accounts)",
        "operationId": "postMessage",
        "description": "Only an account of kind `system` may post. The message is queued like "
                       "a message between dossiers: a dossier waiting for its name and "
                       "correlation receives it, or a message start event of an active "
                       "procedure's process starts a new dossier with it. 403 for any other "
                       "caller, 404 for a name nothing starts on or waits for, 422 for a bad "
                       "correlation, payload or applicant ID number.",
        "requestBody": _json_body(_ref("InboundMessage")),
        "responses": _responses(202, _ref("InboundMessageResult"), 400, 401, 403, 404, 415,
                                422)}},
    "/openapi.json": {"get": {
        "summary": "This document", "operationId": "getOpenApi", "security": _PUBLIC,
        "responses": _responses(200, {"type": "object"})}},
}


def _with_common_answers(paths: dict) -> dict:
    """Every operation with the error answers it can give besides its own (in place)."""
    for operations in paths.values():
        for method, operation in operations.items():
            statuses = _ANY_OPERATION + (_ANY_WRITE if method in ("post", "put", "patch") else ())
            responses = operation["responses"]
            for status in statuses:
                responses.setdefault(str(status), {
                    "description": _STATUS_DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": _ref("Error")}}})
    return paths


def spec(server_url: str = "/api/v1") -> dict:
    """The OpenAPI document, with ``server_url`` where the API is mounted."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Một Cửa API", "version": API_VERSION,
                 "description": "Procedures, dossiers, tasks, documents and signatures of the "
                                "one-stop public-service portal. Errors are "
                                "`{error, message, message_vi, details}`."},
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}],
        "paths": _with_common_answers(deepcopy(PATHS)),
        "components": {
            "schemas": deepcopy(SCHEMAS),
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "a token from `POST /auth/token`"}},
        },
    }
