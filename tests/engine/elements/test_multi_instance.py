"""Multi-instance user and script tasks (parallel and sequential, over a collection in the
data), a manual task, and standard loops around a script and a user task: the human-task
rows are one per open instance, titled with the item it is for."""

from tests.engine.elements.kit import complete, data, deploy, finished, open_rows, submit

VEHICLES = ["36A-123.45", "36B-678.90", "36C-111.22"]


def titles(p, code):
    return sorted((row.spec_name, row.role_code, row.title) for row in open_rows(p, code))


def test_multi_instance_manual_and_loops(platform):
    procedure = deploy(platform, "multi_instance")
    code = submit(platform, procedure, {"vehicles": VEHICLES})
    assert titles(platform, code) == [
        ("inspect_vehicle", "handler", f"Inspect vehicle — {v}") for v in VEHICLES]
    rows = {row.properties["instance"]: row for row in open_rows(platform, code)}
    assert set(rows) == set(VEHICLES)
    order = (VEHICLES[2], VEHICLES[0], VEHICLES[1])  # officers finish in any order
    for plate in order:
        complete(platform, code, "inspect_vehicle", {"result": f"ok {plate}"},
                 title=f"Inspect vehicle — {plate}")
    # A list output collects the results in the order the instances finished.
    assert data(platform, code)["results"] == [f"ok {v}" for v in order]

    for plate in VEHICLES:  # sequential: one row at a time, in order
        assert titles(platform, code) == [("sign_vehicle", "head", f"Sign for vehicle — {plate}")]
        complete(platform, code, "sign_vehicle", {"note": f"signed {plate}"})

    assert titles(platform, code) == [("file_papers", "reception", "File the papers")]
    result = data(platform, code)
    assert result["signatures"] == [f"signed {v}" for v in VEHICLES]
    assert result["labels"] == [f"XE {v}" for v in VEHICLES]
    complete(platform, code, "file_papers")

    assert data(platform, code)["attempts"] == 3  # the standard loop ran its script thrice
    for _ in range(2):  # loopMaximum="2": the user task comes twice
        assert titles(platform, code) == [("recheck", "handler", "Check again")]
        complete(platform, code, "recheck")
    assert finished(platform, code)
