"""Reading a bundle's ``procedure.yaml``: the keys it needs, the deadline, level and online
label, and the cooperating processes it lists."""

from __future__ import annotations

import unicodedata

import yaml

from .bundle_problems import Problem

DEADLINE_UNITS = {"hours", "days", "working_days", "months"}


#: Decree 42/2022/NĐ-CP's online label for each service level of Decree 43/2011 (DOMAIN.md
#: §2): level 4 is fully online (toàn trình), level 3 partly online (một phần); levels 1
#: and 2 only publish information and forms, so they carry no online label.
LEVEL_LABELS = {4: "toàn trình", 3: "một phần", 2: None, 1: None}


def load_meta(files: dict[str, str], problems: list[Problem]) -> dict | None:
    text = files.get("procedure.yaml") or files.get("procedure.yml")
    if text is None:
        return None
    try:
        meta = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problems.append(Problem("procedure.yaml", where, f"not valid YAML: {problem}"))
        return None
    if not isinstance(meta, dict):
        problems.append(Problem("procedure.yaml", "", "must be a mapping of keys to values"))
        return None
    for key in ("code", "name", "agency", "deadline", "process_id", "application_form"):
        if key not in meta:
            problems.append(Problem("procedure.yaml", key, "required key is missing"))
    name = meta.get("name")
    if not isinstance(name, dict) or not name.get("vi"):
        problems.append(Problem("procedure.yaml", "name", "needs a Vietnamese name: name: {vi: …}"))
    deadline = meta.get("deadline") or {}
    if deadline and (deadline.get("unit") not in DEADLINE_UNITS
                     or not isinstance(deadline.get("value"), int) or deadline["value"] < 0):
        problems.append(Problem("procedure.yaml", "deadline",
                                f"needs a whole value >= 0 and a unit among {sorted(DEADLINE_UNITS)}"))
    online = deadline.get("online") if isinstance(deadline, dict) else None
    if online is not None and (not isinstance(online, int) or isinstance(online, bool)
                               or online < 0):
        problems.append(Problem("procedure.yaml", "deadline.online",
                                "the deadline of a dossier filed online needs a whole value >= 0"))
    agencies = meta.get("agencies")
    if agencies is not None and not (
            (isinstance(agencies, list) and all(isinstance(c, str) for c in agencies))
            or (isinstance(agencies, dict) and isinstance(agencies.get("kind"), str))):
        problems.append(Problem("procedure.yaml", "agencies",
                                "a list of agency codes, or a selector such as "
                                "{kind: district_finance}"))
    if meta.get("level", 4) not in (1, 2, 3, 4):
        problems.append(Problem("procedure.yaml", "level", "level must be 3 or 4"))
    else:
        _check_online_label(meta, problems)
    form_set = meta.get("form_set")
    if form_set is not None:
        from .formsets import available

        if form_set not in available():
            known = ", ".join(available())
            problems.append(Problem("procedure.yaml", "form_set",
                                    f"no form set {form_set!r} (known: {known})"))
    for doc, path in (meta.get("documents") or {}).items():
        if path not in files:
            problems.append(Problem("procedure.yaml", f"documents.{doc}", f"{path} is not in the bundle"))
    _check_cooperating_meta(meta, problems)
    return meta


def _check_online_label(meta: dict, problems: list[Problem]) -> None:
    """The level and its online label must agree with Decree 42/2022's pairing
    (:data:`LEVEL_LABELS`); a procedure without a label takes its level's."""
    if "online_label" not in meta:
        return
    level = meta.get("level", 4)
    label = meta.get("online_label")
    given = unicodedata.normalize("NFC", " ".join(str(label).split())).lower() \
        if label not in (None, "") else None
    expected = LEVEL_LABELS[level]
    if given == expected:
        return
    if expected is None:
        problems.append(Problem(
            "procedure.yaml", "online_label",
            f"a level-{level} procedure is not offered online (Decree 42/2022/NĐ-CP), so it has "
            f"no online label: remove {label!r} or raise the level"))
        return
    other = next((lvl for lvl, text in LEVEL_LABELS.items() if text == given), None)
    hint = f"; {label!r} is level {other}'s label" if other else ""
    problems.append(Problem(
        "procedure.yaml", "online_label",
        f"level {level} pairs with the online label {expected!r} (Decree 42/2022/NĐ-CP), not "
        f"{label!r}{hint}"))


def _check_cooperating_meta(meta: dict, problems: list[Problem]) -> None:
    """``cooperating:`` is a list of ``{process_id, agency?, deadline?}``."""
    entries = meta.get("cooperating")
    if entries is None:
        return
    if not isinstance(entries, list):
        problems.append(Problem("procedure.yaml", "cooperating",
                                "must be a list of {process_id, agency, deadline}"))
        meta["cooperating"] = []
        return
    for i, entry in enumerate(entries):
        where = f"cooperating[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("process_id"), str) \
                or not entry["process_id"].strip():
            problems.append(Problem("procedure.yaml", where,
                                    "needs process_id: the id of a process of the bundle"))
            continue
        if not isinstance(entry.get("agency", ""), str):
            problems.append(Problem("procedure.yaml", f"{where}.agency",
                                    "must be an agency code, e.g. \"000.00.13.H56\""))
        deadline = entry.get("deadline")
        if deadline is not None and (not isinstance(deadline, dict)
                                     or deadline.get("unit") not in DEADLINE_UNITS
                                     or not isinstance(deadline.get("value"), int)
                                     or isinstance(deadline.get("value"), bool)
                                     or deadline["value"] < 0):
            problems.append(Problem("procedure.yaml", f"{where}.deadline",
                                    f"needs a whole value >= 0 and a unit among "
                                    f"{sorted(DEADLINE_UNITS)}"))
    ids = [e["process_id"] for e in entries if isinstance(e, dict) and isinstance(
        e.get("process_id"), str)]
    if meta.get("process_id") in ids:
        problems.append(Problem("procedure.yaml", "cooperating",
                                f"{meta['process_id']!r} is the process a submission starts; "
                                "a cooperating process is another one"))
    if len(set(ids)) != len(ids):
        problems.append(Problem("procedure.yaml", "cooperating", "a process is listed twice"))


def cooperating_ids(meta: dict) -> tuple[str, ...]:
    return tuple(e["process_id"] for e in meta.get("cooperating") or []
                 if isinstance(e, dict) and isinstance(e.get("process_id"), str))
