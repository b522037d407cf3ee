"""One JSON request to an outside service over HTTP(S), as the provider interfaces of the
national portal (:mod:`engine.national`) and SMS (:mod:`engine.sms`) make them: a bearer
token, an idempotency key, a bounded answer. Any failure is :class:`NoAnswer`, with what
went wrong, for the outbox row's ``last_error``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

MAX_BODY = 64 * 1024


class NoAnswer(Exception):
    """No usable answer: refused, timed out, an error status, or not a JSON object."""


def post_json(url: str, body: dict, *, token: str, key: str, timeout: float) -> dict:
    """POST ``body`` to ``url``; the JSON object answered with a 2xx status."""
    request = urllib.request.Request(
        url, method="POST", data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key,
                 "Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read(MAX_BODY + 1)
    except urllib.error.HTTPError as exc:
        detail = exc.read(2000).decode("utf-8", "replace")
        raise NoAnswer(f"HTTP {exc.code}: {detail}") from None
    except (OSError, ValueError) as exc:  # refused, reset, timed out, bad URL
        raise NoAnswer(f"no answer: {exc}") from None
    try:
        answer = json.loads(raw[:MAX_BODY])
    except ValueError:
        raise NoAnswer("the answer is not JSON") from None
    if not isinstance(answer, dict):
        raise NoAnswer(f"unexpected answer: {str(answer)[:500]}")
    return answer
