"""What every local stand-in of an outside service answers with (``/sandbox/…``): JSON
that says it is a stand-in, never cached, behind the bearer token its protocol expects."""

from __future__ import annotations

import hmac

from flask import jsonify, request


def answer(body: dict, status: int = 200):
    """The JSON answer, marked ``"stand_in": true`` and ``X-Stand-In: true``."""
    response = jsonify({**body, "stand_in": True})
    response.status_code = status
    response.headers["X-Stand-In"] = "true"
    response.headers["Cache-Control"] = "no-store"
    return response


def bearer_ok(expected: str) -> bool:
    """Whether the request carries ``Authorization: Bearer <expected>``."""
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {expected}".encode())


def unauthorized():
    return answer({"error": "unauthorized",
                   "message": "Sai hoặc thiếu mã truy cập (Authorization: Bearer …)."}, 401)
