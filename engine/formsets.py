"""Form sets: the one-stop slips of a legal basis, as data (bộ biểu mẫu).

The slips a dossier gets follow the circular in force when it was received: Circular
01/2018/TT-VPCP (forms 01–05 here), replaced from 1/7/2025 by Circular 03/2025/TT-VPCP
(Appendix I: 7 forms, with a notice of stopped processing, and form 04 an apology *and*
request to extend). The numbering changed between them, so a set names its forms by
**meaning** (``receipt``, ``supplement``, ``refusal``, ``apology``, ``stop``, ``control``),
each with the number its circular gives it.

A form set is a folder of ``signing/layouts/`` with a ``formset.yaml``::

    code: circular-03-2025
    name: {vi: "Thông tư 03/2025/TT-VPCP", en: "Circular 03/2025/TT-VPCP"}
    legal_basis: "…"
    applies_from: 2025-07-01        # dossiers received from this date take it by default
    forms:
      apology: {number: "04", title: "…", subject: "… {code}", layout: slip-04.yaml}
      …

``layout`` is a path relative to the folder (a set may reuse another's layout). Adding a
set is adding a folder: no Python. Which set a new dossier takes (:func:`choose`), in
order: the procedure's ``form_set:`` in procedure.yaml (a bundle picks), the
administrator's ``form_set`` setting, else the set with the latest ``applies_from`` on or
before the day the dossier was received (the date an administrator may move with the
``form_set_from:<code>`` setting). The choice is stored on the dossier, so its slips keep
one legal basis for its whole life.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import yaml

from . import clock
from .errors import ScriptError

FORMSET_DIR = Path(__file__).resolve().parent.parent / "signing" / "layouts"
DEFAULT_SET = "circular-01-2018"  # the set of dossiers from before form sets were stored


@dataclass(frozen=True)
class SlipForm:
    """One form of a set: what it means, its number in the circular, its title, the
    subject of the e-mail that carries it, and its layout (parsed YAML)."""

    meaning: str
    number: str
    title: str
    subject: str
    layout_path: Path


@dataclass(frozen=True)
class FormSet:
    code: str
    name_vi: str
    name_en: str
    legal_basis: str
    applies_from: date
    forms: dict[str, SlipForm]
    diagram_numbers: bool = False

    def form(self, name: str) -> SlipForm:
        """The form named by meaning (``apology``) or by its number in this set (``04``);
        ScriptError naming what the set has otherwise."""
        key = str(name).strip()
        if key in self.forms:
            return self.forms[key]
        number = key.zfill(2) if key.isdigit() else key
        for form in self.forms.values():
            if form.number == number:
                return form
        known = ", ".join(f"{f.meaning} ({f.number})" for f in self.forms.values())
        raise ScriptError(f"The form set {self.code} has no form '{key}' (it has: {known}).",
                          vi=f"Bộ biểu mẫu {self.name_vi} không có mẫu '{key}' (có: {known}).")

    def layout(self, form: SlipForm) -> dict:
        return yaml.safe_load(form.layout_path.read_text(encoding="utf-8"))


def _load(folder: Path) -> FormSet:
    raw = yaml.safe_load((folder / "formset.yaml").read_text(encoding="utf-8")) or {}
    name = raw.get("name") or {}
    forms = {}
    for meaning, entry in (raw.get("forms") or {}).items():
        path = (folder / entry["layout"]).resolve()
        if not path.is_file():
            raise ValueError(f"{folder.name}/formset.yaml: form {meaning}: no layout {path}")
        forms[meaning] = SlipForm(meaning, str(entry["number"]).zfill(2), entry["title"],
                                  entry.get("subject") or entry["title"] + " — hồ sơ {code}",
                                  path)
    applies = raw.get("applies_from")
    return FormSet(code=raw.get("code") or folder.name, name_vi=name.get("vi", folder.name),
                   name_en=name.get("en", folder.name), legal_basis=raw.get("legal_basis", ""),
                   applies_from=applies if isinstance(applies, date)
                   else date.fromisoformat(str(applies)),
                   forms=forms, diagram_numbers=bool(raw.get("diagram_numbers")))


@lru_cache(maxsize=4)
def _all(directory: Path) -> dict[str, FormSet]:
    sets = (_load(folder) for folder in sorted(directory.iterdir())
            if (folder / "formset.yaml").is_file())
    return {s.code: s for s in sets}


#: The settings key (:mod:`engine.settings`) that moves a set's start date: this prefix and
#: the set's code.
FORM_SET_FROM = "form_set_from:"


def available(directory: Path = FORMSET_DIR) -> dict[str, FormSet]:
    """Every form set, by code."""
    return _all(directory)


def get(code: str | None) -> FormSet:
    """The set ``code`` (the default set for dossiers stored before sets were)."""
    sets = available()
    return sets.get(code or DEFAULT_SET) or sets[DEFAULT_SET]


def diagram_form(name: str, form_set: FormSet) -> SlipForm:
    """The form a diagram's ``issue_slip(form=…)`` names in the dossier's set: a meaning, or
    a bare number as diagrams wrote them before sets (read in the numbering of the set
    marked ``diagram_numbers``, Circular 01/2018), then in the dossier's own set."""
    key = str(name).strip()
    if key in form_set.forms:
        return form_set.forms[key]
    if key.isdigit():
        legacy = next((s for s in available().values() if s.diagram_numbers), None)
        if legacy is not None:
            meaning = next((f.meaning for f in legacy.forms.values()
                            if f.number == key.zfill(2)), None)
            if meaning in form_set.forms:
                return form_set.forms[meaning]
    return form_set.form(key)


def choose(meta: dict, received_at: datetime, current: dict[str, str]) -> str:
    """The code of the form set a dossier received at ``received_at`` takes (see the module
    docstring for the order); ``current``: the administrator's settings
    (:func:`engine.settings.values`)."""
    sets = available()
    chosen = meta.get("form_set") if meta else None
    if chosen and chosen in sets:
        return chosen
    if current.get("form_set") in sets:
        return current["form_set"]
    day = received_at.astimezone(clock.VIETNAM).date()

    def start(s: FormSet) -> date:
        moved = current.get(FORM_SET_FROM + s.code)
        return date.fromisoformat(moved) if moved else s.applies_from

    in_force = [s for s in sets.values() if start(s) <= day]
    if not in_force:
        return DEFAULT_SET
    return max(in_force, key=lambda s: (start(s), s.code)).code


__all__ = ["FormSet", "SlipForm", "available", "get", "choose", "diagram_form"]
