"""Throttling (giới hạn số lần thử) of what a stranger can repeat at our cost: signing in
(each attempt is an argon2 hash of 64 MiB), the public look-up (guessing codes and ID
numbers), registration and password reset (each sends an e-mail).

Flask-Limiter counts, per client address and per account (the user name or e-mail typed),
in this process's memory, or in Redis when ``MOTCUA_REDIS_URL`` is set so that every web
process shares the counts. Sign-in attempts count against the account only when they fail:
a typing mistake or two never locks anyone out, a password-guessing run does, for the
rest of its window. Over a limit, the answer is a 429 that says, in Vietnamese and
English, how long to wait (and ``Retry-After``).

Each app gets its own :class:`~flask_limiter.Limiter`; the limits are attached to view
endpoints by name in :data:`LIMITS` (views stay free of throttling code).
"""

from __future__ import annotations

import functools
import math
import time

from flask import Flask, Response, current_app, g, request
from flask_limiter import Limiter, RateLimitExceeded

from .errors import error_response

#: A client address: enough for a busy office behind one NAT, far too few for a guessing run.
PER_ADDRESS_LOGIN = "30 per minute;300 per hour"
#: Failed sign-ins of one account (from anywhere) before it must wait.
PER_ACCOUNT_FAILURES = "10 per 15 minutes"
PER_ADDRESS_LOOKUP = "30 per minute;300 per hour"
#: Registration and reset e-mails: per address and per e-mail address asked for.
PER_ADDRESS_ACCOUNT_FORMS = "10 per hour"
PER_EMAIL_ACCOUNT_FORMS = "3 per hour"


def address() -> str:
    """The client's address (the proxy's ``X-Forwarded-For`` with ``MOTCUA_BEHIND_PROXY``,
    through ProxyFix)."""
    return request.remote_addr or "unknown"


def _typed(name: str) -> str:
    """A field of the form or JSON body, as typed (trimmed, case-folded)."""
    value = request.form.get(name)
    if value is None and request.is_json:
        body = request.get_json(silent=True)
        value = body.get(name) if isinstance(body, dict) else None
    return value.strip().casefold() if isinstance(value, str) else ""


def account() -> str:
    return "account:" + _typed("username")


def email() -> str:
    return "email:" + _typed("email")


def login_failed() -> None:
    """Views call this when a sign-in fails: only failures count against the account."""
    g.motcua_login_failed = True


def _failed(_response: Response) -> bool:
    return bool(g.get("motcua_login_failed"))


def _only_posts() -> bool:
    return request.method != "POST"


def _anonymous_lookup() -> bool:
    """Exempt unless a look-up by code is asked for without signing in."""
    if "Authorization" in request.headers or g.get("user") is not None:
        return True
    return not (request.args.get("code") or request.view_args and request.view_args.get("code"))


#: The look-ups whose only limit spares a caller sending a token (:func:`_anonymous_lookup`).
_LOOKUPS = frozenset({"portal.lookup", "api.get_dossier"})


def _token_lookup() -> bool:
    """A look-up with ``Authorization`` (an invalid token is refused, 401, before the view):
    no limit applies (:func:`_anonymous_lookup`), so Flask-Limiter is not even asked — its
    hooks and checks cost about as much as the rest of the request's Flask machinery, and
    a portal's or an app's polling of the status look-up is the busiest request there is."""
    environ = request.environ  # asked by four hooks: worked out once
    spared = environ.get("motcua.token_lookup")
    if spared is None:
        spared = environ["motcua.token_lookup"] = ("HTTP_AUTHORIZATION" in environ
                                                    and request.endpoint in _LOOKUPS)
    return spared


def _spared(plain, limited):
    """The view: ``plain`` for a token look-up, ``limited`` (the throttled one) otherwise."""
    @functools.wraps(plain)
    def view(*args, **kwargs):
        return (plain if _token_lookup() else limited)(*args, **kwargs)
    return view


def _spare_hooks(app: Flask, limiter: Limiter) -> None:
    """Flask-Limiter's request hooks (check, headers, clean-up) skip a token look-up too.
    The limiter declares no app-wide or blueprint limit, so they have nothing to do there."""
    def owner(hook):
        return getattr(hook, "__self__", None) or next(iter(getattr(hook, "args", ())), None)

    def before(hook):
        return lambda: None if _token_lookup() else hook()

    def after(hook):
        return lambda response: response if _token_lookup() else hook(response)

    def teardown(hook):
        return lambda error=None: None if _token_lookup() else hook(error)

    for hooks, wrap in ((app.before_request_funcs, before), (app.after_request_funcs, after),
                        (app.teardown_request_funcs, teardown)):
        functions = hooks.get(None, [])
        functions[:] = [wrap(hook) if owner(hook) is limiter else hook for hook in functions]


#: endpoint → [(limit, key function, options)]; endpoints of blueprints not registered
#: (none today) are skipped.
LIMITS: dict[str, list[tuple[str, object, dict]]] = {
    "auth.login": [
        (PER_ADDRESS_LOGIN, address, {"exempt_when": _only_posts}),
        (PER_ACCOUNT_FAILURES, account, {"exempt_when": _only_posts, "deduct_when": _failed,
                                         "scope": "login-account"}),
    ],
    "api.issue_token": [
        (PER_ADDRESS_LOGIN, address, {}),
        (PER_ACCOUNT_FAILURES, account, {"deduct_when": _failed, "scope": "login-account"}),
    ],
    "portal.lookup": [(PER_ADDRESS_LOOKUP, address, {"exempt_when": _anonymous_lookup,
                                                     "scope": "lookup"})],
    "api.get_dossier": [(PER_ADDRESS_LOOKUP, address, {"exempt_when": _anonymous_lookup,
                                                       "scope": "lookup"})],
    "auth.register": [
        (PER_ADDRESS_ACCOUNT_FORMS, address, {"exempt_when": _only_posts}),
        (PER_EMAIL_ACCOUNT_FORMS, email, {"exempt_when": _only_posts}),
    ],
    "auth.forgot_password": [
        (PER_ADDRESS_ACCOUNT_FORMS, address, {"exempt_when": _only_posts}),
        (PER_EMAIL_ACCOUNT_FORMS, email, {"exempt_when": _only_posts}),
    ],
    "auth.reset_password": [(PER_ADDRESS_ACCOUNT_FORMS, address,
                             {"exempt_when": _only_posts})],
}


def init_app(app: Flask, redis_url: str = "") -> Limiter:
    """Build this app's limiter (memory, or Redis at ``redis_url``) and attach
    :data:`LIMITS` to the registered endpoints. ``RATELIMIT_ENABLED = False`` turns it off,
    ``RATELIMIT_KEY_PREFIX`` separates apps sharing one Redis."""
    limiter = Limiter(
        address, app=app, storage_uri=redis_url or "memory://",
        key_prefix=app.config.get("RATELIMIT_KEY_PREFIX", "motcua"),
        strategy="moving-window", headers_enabled=False,
        # A Redis outage must not lock everyone out: count in memory meanwhile.
        swallow_errors=True, in_memory_fallback_enabled=bool(redis_url))
    _spare_hooks(app, limiter)
    for endpoint, limits in LIMITS.items():
        view = plain = app.view_functions.get(endpoint)
        if view is None:
            continue
        for value, key, options in limits:
            options = dict(options)
            scope = options.pop("scope", None)
            if scope:
                view = limiter.shared_limit(value, scope, key_func=key, **options)(view)
            else:
                view = limiter.limit(value, key_func=key, **options)(view)
        app.view_functions[endpoint] = _spared(plain, view) if endpoint in _LOOKUPS else view
    app.extensions["motcua_limiter"] = limiter
    app.register_error_handler(RateLimitExceeded, _too_many)
    return limiter


def _too_many(error: RateLimitExceeded) -> Response:
    """429 saying how long to wait, in both languages, with ``Retry-After``."""
    limiter: Limiter = current_app.extensions["motcua_limiter"]
    reset_at = max((lim.reset_at for lim in limiter.current_limits if lim.breached),
                   default=time.time() + 60)
    wait = max(1, math.ceil(reset_at - time.time()))
    if wait < 120:
        english, vietnamese = f"{wait} seconds", f"{wait} giây"
    else:
        minutes = math.ceil(wait / 60)
        english, vietnamese = f"{minutes} minutes", f"{minutes} phút"
    body = {"error": "TooManyRequests",
            "message": f"Too many attempts. Please wait {english} and try again.",
            "message_vi": f"Bạn đã thử quá nhiều lần. Vui lòng chờ {vietnamese} rồi thử lại.",
            "details": {"retry_after": wait}}
    return error_response(body, 429, {"Retry-After": str(wait)})
