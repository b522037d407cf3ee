"""What a diagram script may spend (engine/sandbox_limits.py): sizes and numbers checked
before they are built, builtins that measure their arguments, messages in both languages."""

import pytest

from engine.errors import ScriptError
from engine.sandbox import RestrictedEvaluator
from engine.sandbox_limits import MAX_INT_BITS, MAX_SIZE, MESSAGES, SAFE_BUILTINS, fail


def test_every_message_has_an_english_and_a_vietnamese_text():
    error = fail("size", 2_000_000, MAX_SIZE)
    assert error.message == "The result would be too large (2,000,000 items or characters; " \
                            "the limit is 1,000,000)"
    assert error.vi.startswith("Kết quả quá lớn (2,000,000")
    assert all(en and vi and en != vi for en, vi in MESSAGES.values())


@pytest.mark.parametrize("source", [
    "'x' * 2_000_000", "[0] * 2_000_000", "2 ** 20_000", "1 << 20_000",
    "'ab'.replace('a', 'x' * 1000) * 1000", "''.join(['x' * 1000] * 1001)",
])
def test_huge_values_are_refused_before_they_are_built(source):
    with pytest.raises(ScriptError) as refused:
        RestrictedEvaluator().evaluate(source, {})
    assert "too large" in refused.value.message


def test_text_formatting_with_percent_and_sum_of_text_are_refused():
    evaluator = RestrictedEvaluator()
    with pytest.raises(ScriptError, match="'%' formatting"):
        evaluator.evaluate("'%s' % 1", {})
    with pytest.raises(ScriptError, match="adds numbers only"):
        evaluator.evaluate("sum(['a'], '')", {})
    assert evaluator.evaluate("sum([1, 2, 3])", {}) == 6


def test_safe_builtins_refuse_sized_results_even_outside_a_run():
    assert SAFE_BUILTINS["list"](range(3)) == [0, 1, 2]
    with pytest.raises(ScriptError):
        SAFE_BUILTINS["list"](range(MAX_SIZE + 1))
    assert "open" not in SAFE_BUILTINS and "__import__" in SAFE_BUILTINS
    # a power is charged as the base's bits times the exponent: 2 ** 4000 is 8,000 bits
    assert RestrictedEvaluator().evaluate("2 ** 4000", {}) == 2 ** 4000
    assert 2 * 4000 <= MAX_INT_BITS < 2 * 6000
    with pytest.raises(ScriptError, match="Number too large"):
        RestrictedEvaluator().evaluate("2 ** 6000", {})


def test_a_value_repeated_by_reference_is_counted_each_time_it_occurs():
    evaluator = RestrictedEvaluator()
    context = {}
    # [a] * 999 holds one list 999 times: cheap to build, a billion comparisons to compare
    script = "a = list(range(999000))\nb = list(range(999000))\nsame = [a] * 2 == [b] * 2"
    with pytest.raises(ScriptError, match="too large") as refused:
        evaluator.execute(script, context)
    assert "(line 3)" in refused.value.message and context == {}
    assert evaluator.evaluate("[a] * 3 == [a] * 3", {"a": list(range(1000))}) is True
    assert evaluator.evaluate("'ab' * 3", {}) == "ababab"


def test_list_methods_that_compare_elements_are_metered_as_steps():
    evaluator = RestrictedEvaluator(max_loop_iterations=1000)
    assert evaluator.evaluate("x.count(2) + x.index(3)", {"x": [3, 2, 2]}) == 2
    context = {"x": [3, 1, 2]}
    evaluator.execute("x.sort()\nx.remove(1)", context)
    assert context == {"x": [2, 3]}
    assert evaluator.evaluate("'a-b-c'.count('-')", {}) == 2  # text methods are not lists'
    for call in ("x.count(0)", "x.index(4999)", "x.sort()", "x.remove(4999)"):
        with pytest.raises(ScriptError, match="More than 1000 loop steps"):
            evaluator.execute(call, {"x": list(range(5000))})


def test_what_a_script_leaves_is_counted_as_saving_it_would_walk_it():
    evaluator = RestrictedEvaluator()
    context = {"fee": 5}
    # 999 references to one list of 999,000 numbers: saving it writes a billion numbers
    script = "a = list(range(999000))\nrows = [a for i in range(999)]\ndel a"
    with pytest.raises(ScriptError) as refused:
        evaluator.execute(script, context)
    assert refused.value.message.startswith("'rows' is too large to keep in the task data")
    assert "quá lớn để lưu" in refused.value.vi
    assert context == {"fee": 5}  # nothing changed
    with pytest.raises(ScriptError, match="too large to keep"):
        evaluator.evaluate("[a for i in range(3)]", {"a": list(range(999000))})
    # many names for one large value count each time too
    script = "a = list(range(900000))\n" + "".join(f"b{i} = a\n" for i in range(12))
    with pytest.raises(ScriptError, match="the limit is 10,000,000"):
        evaluator.execute(script, {})
    evaluator.execute("a = list(range(900000))", context)
    assert len(context["a"]) == 900000
    # only what the script adds or changes is counted: large data it was given stays usable
    context = {"application": {"note": "x" * 2_000_000}}
    evaluator.execute("fee = 1", context)
    assert context["fee"] == 1
