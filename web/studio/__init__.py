"""The analysts' studio (thiết kế quy trình) under ``/studio``.

Process analysts edit a procedure's diagram in bpmn-js and its forms in the browser,
validate and deploy them as new versions, compare versions, watch a dossier on its
diagram, and move running dossiers to a newer version. Officers of a dossier's agency may
also see that dossier on its diagram; everything else is for analysts only.

Modules: :mod:`.editor` (procedures, the diagram editor, validate, deploy),
:mod:`.forms` (the form editor and its live preview), :mod:`.decisions` (DMN decision
tables in dmn-js), :mod:`.versions` (the versions
of a procedure and what changed between two), :mod:`.trace` (where a dossier is),
:mod:`.migration` (moving running dossiers), :mod:`.drafts` (staged edits),
:mod:`.catalog` (what the properties panel offers: roles, operators, forms),
:mod:`.problems` (validation problems located on diagram elements), :mod:`.whatif`
(replaying finished dossiers on a draft before deploying), :mod:`.testrun` (one dossier
run by hand on a draft).

bpmn-js is not committed: ``make setup`` installs it from the npm registry (``npm ci``,
pinned by ``package-lock.json``) into ``node_modules/``, and :func:`vendor` serves its
built bundles and style sheets from there. Nothing is fetched from another site.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, Flask, abort, current_app, g, redirect, send_from_directory, url_for
from flask_babel import gettext as _

from .. import platform
from ..auth import _here

bp = Blueprint("studio", __name__)

View = TypeVar("View", bound=Callable[..., Any])

# bpmn-js's built files: dist/bpmn-modeler.production.min.js, dist/assets/*.css, fonts.
DEFAULT_ASSETS = Path(__file__).resolve().parents[2] / "node_modules" / "bpmn-js" / "dist"


def analyst_required(view: View) -> View:
    """Anonymous visitors go to the login page; signed-in users who are not analysts get 403."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=_here()))
        if not g.user.is_analyst:
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def assets_dir() -> Path:
    """Where bpmn-js's ``dist/`` is: the app's ``STUDIO_ASSETS_DIR``, else the setting
    ``studio_assets_dir`` (``MOTCUA_STUDIO_ASSETS_DIR``: an installed package has no
    node_modules beside it), else
    the repository's ``node_modules/bpmn-js/dist``."""
    return Path(current_app.config.get("STUDIO_ASSETS_DIR")
                or platform().settings.studio_assets_dir or DEFAULT_ASSETS)


def assets_installed() -> bool:
    return (assets_dir() / "bpmn-modeler.production.min.js").is_file()


@bp.route("/vendor/<path:filename>")
def vendor(filename: str):
    """A file of bpmn-js's ``dist/`` (library code and styles, no data: served to anyone,
    like ``/static``). 404 with the fix when ``npm ci`` has not been run."""
    if not assets_installed():
        abort(404, description=_("Chưa cài bpmn-js: chạy “make setup” (npm ci) rồi tải lại trang."))
    response = send_from_directory(assets_dir(), filename, max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.after_request
def _no_store(response):
    """Studio pages and answers show drafts that change under them: never cached."""
    if response.mimetype in ("text/html", "application/json"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    """Register the blueprint at ``/studio`` with its views."""
    from . import (  # noqa: F401
        bottlenecks,
        decisions,
        editor,
        forms,
        migration,
        testrun,
        trace,
        versions,
        whatif,
    )

    app.register_blueprint(bp, url_prefix="/studio")
