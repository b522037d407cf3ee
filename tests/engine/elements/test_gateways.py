"""Exclusive, parallel and inclusive gateways, walked end to end with save and restore."""

from tests.engine.elements.kit import complete, data, deploy, finished, open_tasks, submit


def test_exclusive_default_parallel_and_inclusive_with_both_branches(platform):
    procedure = deploy(platform, "gateways")
    code = submit(platform, procedure, {"n": 3})  # n <= 5: the default flow, a script
    assert open_tasks(platform, code) == ["check_a", "check_b"]  # both parallel branches
    complete(platform, code, "check_a", {"a_ok": True})
    assert open_tasks(platform, code) == ["check_b"]  # the join waits for the other branch
    complete(platform, code, "check_b", {"b_ok": True})
    assert finished(platform, code)
    result = data(platform, code)
    assert result["size_path"] == "small"
    assert result["done_a"] and result["done_b"] and "done_none" not in result


def test_exclusive_condition_and_inclusive_default(platform):
    procedure = deploy(platform, "gateways")
    code = submit(platform, procedure, {"n": 9})  # n > 5: the conditional flow, a user task
    assert open_tasks(platform, code) == ["review_big"]
    complete(platform, code, "review_big")
    complete(platform, code, "check_b", {"b_ok": False})
    complete(platform, code, "check_a", {"a_ok": False})
    assert finished(platform, code)
    result = data(platform, code)
    assert "size_path" not in result and result["done_none"]
    assert "done_a" not in result and "done_b" not in result
