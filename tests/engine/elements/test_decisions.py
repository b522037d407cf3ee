"""DMN decision tables: a business rule task decides from a table in the bundle (``*.dmn``),
checked at deploy; the dossier is walked with a save/restore after every step."""

import pytest

from engine.errors import InvalidBundle
from engine.procedures import deploy_bundle
from tests.engine.elements.kit import DIAGRAMS, bundle, complete, data, finished, open_tasks, submit


def fee_bundle(table: str | None = None) -> dict[str, str]:
    files = bundle("fee_table")
    files["fee_table.dmn"] = table or (DIAGRAMS / "fee_table.dmn").read_text(encoding="utf-8")
    return files


@pytest.mark.parametrize("vehicles, fee, band", [(3, 200000, "1–5 xe"), (6, 500000, "6–20 xe"),
                                                 (21, 1000000, "trên 20 xe")])
def test_a_decision_table_sets_the_fee(platform, vehicles, fee, band):
    code = deploy_bundle(platform, fee_bundle())["code"]
    dossier = submit(platform, code, {"vehicles": [f"51B-{i:05d}" for i in range(vehicles)]})
    assert open_tasks(platform, dossier) == ["confirm"]
    assert (data(platform, dossier)["fee"], data(platform, dossier)["fee_band"]) == (fee, band)
    complete(platform, dossier, "confirm")
    assert finished(platform, dossier)


def test_a_table_missing_or_with_a_bad_cell_is_refused_at_deploy(platform):
    files = fee_bundle()
    del files["fee_table.dmn"]
    with pytest.raises(InvalidBundle) as err:
        deploy_bundle(platform, files, check_only=True)
    assert "fee_schedule" in err.value.details[0]["message"]
    bad = (DIAGRAMS / "fee_table.dmn").read_text(encoding="utf-8").replace(
        "<text>200000</text>", "<text>__import__('os')</text>")
    with pytest.raises(InvalidBundle) as err:
        deploy_bundle(platform, fee_bundle(bad), check_only=True)
    [problem] = err.value.details
    assert problem["element"] == "decide_fee" and "fee_by_vehicles row 1" in problem["message"]
