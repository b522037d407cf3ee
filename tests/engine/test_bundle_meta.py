"""A bundle's procedure.yaml (engine/bundle_meta.py): required keys, deadlines, the level and its
online label, form sets and cooperating processes."""

import pytest
import yaml

from engine import bundle_meta
from engine.procedures import deploy_bundle
from tests.engine.test_bundles import files, problems, replace


def test_unknown_agency_and_missing_keys(platform):
    bad = replace("procedure.yaml", 'agency: "000.00.14.H56"', 'agency: "999.99.99.H56"')
    assert problems(platform, bad)[0]["element"] == "agency"
    text = files()["procedure.yaml"]
    no_deadline = "\n".join(line for line in text.splitlines() if not line.startswith("deadline"))
    found = problems(platform, files(**{"procedure.yaml": no_deadline}))
    assert {"file": "procedure.yaml", "element": "deadline",
            "message": "required key is missing",
            "message_vi": "thiếu khóa bắt buộc này"} in found


@pytest.mark.parametrize("level, label, fragment", [
    (4, "một phần", "level 4 pairs with the online label 'toàn trình'"),
    (3, "toàn trình", "level 3 pairs with the online label 'một phần'"),
    (1, "bất kỳ", "a level-1 procedure is not offered online"),
])
def test_a_level_and_online_label_that_disagree_are_refused(platform, level, label, fragment):
    bad = files(**{"procedure.yaml": files()["procedure.yaml"]
                   .replace("\nlevel: 4\n", f"\nlevel: {level}\n", 1)
                   .replace("online_label: toàn trình", f"online_label: {label}", 1)})
    [problem] = problems(platform, bad)
    assert (problem["file"], problem["element"]) == ("procedure.yaml", "online_label")
    assert fragment in problem["message"] and "Nghị định 42/2022/NĐ-CP" in problem["message_vi"]


def test_a_bundle_picks_a_known_form_set(platform):
    chosen = replace("procedure.yaml", "\nlevel: 4\n", "\nlevel: 4\nform_set: circular-01-2018\n")
    assert deploy_bundle(platform, chosen, check_only=True)["valid"]
    bad = replace("procedure.yaml", "\nlevel: 4\n", "\nlevel: 4\nform_set: circular-99\n")
    [problem] = problems(platform, bad)
    assert problem["element"] == "form_set" and "circular-03-2025" in problem["message"]


def meta_problems(meta: dict) -> list[tuple[str, str]]:
    found: list = []
    bundle_meta.load_meta({"procedure.yaml": yaml.safe_dump(meta, allow_unicode=True)}, found)
    return [(p.element, p.message) for p in found]


GOOD = {"code": "x", "name": {"vi": "Thủ tục"}, "agency": "000.00.14.H56", "process_id": "p",
        "application_form": "forms/apply.json", "deadline": {"value": 5, "unit": "working_days"}}


def test_a_complete_procedure_yaml_has_no_problem_and_its_cooperating_ids_are_listed():
    meta = {**GOOD, "cooperating": [{"process_id": "tax", "agency": "000.00.13.H56"},
                                    {"process_id": "police"}]}
    assert meta_problems(meta) == []
    assert bundle_meta.cooperating_ids(meta) == ("tax", "police")


def test_bad_deadlines_and_cooperating_entries_are_named():
    listed = meta_problems({**GOOD, "deadline": {"value": -1, "unit": "weeks"},
                            "cooperating": [{"process_id": "p"}, {"process_id": ""},
                                            {"process_id": "q", "deadline": {"value": 1}},
                                            {"process_id": "q"}]})
    found = dict(listed)
    assert "needs a whole value >= 0" in found["deadline"]
    assert "needs process_id" in found["cooperating[1]"]
    assert "needs a whole value >= 0" in found["cooperating[2].deadline"]
    together = [m for element, m in listed if element == "cooperating"]
    assert any("is the process a submission starts" in m for m in together)
    assert "a process is listed twice" in together


def test_procedure_yaml_that_is_not_a_mapping_or_not_yaml_is_refused():
    found: list = []
    assert bundle_meta.load_meta({"procedure.yaml": "- a\n- b\n"}, found) is None
    assert found[0].message == "must be a mapping of keys to values"
    found = []
    assert bundle_meta.load_meta({"procedure.yaml": "code: [x"}, found) is None
    assert found[0].message.startswith("not valid YAML")
    assert bundle_meta.load_meta({}, []) is None  # a lone diagram has none
