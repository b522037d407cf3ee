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
