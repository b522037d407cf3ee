"""The JSON API, version 1 (mounted at ``/api/v1``; described by ``GET /api/v1/openapi.json``).

Views only translate HTTP: each parses the request, calls one engine function and returns
its view as JSON. Errors become HTTP statuses in :mod:`web.errors`.
"""

from . import catalogue, dossiers, messages, tasks  # noqa: F401  (each module registers its routes on bp)
from .common import bp

__all__ = ["bp"]
