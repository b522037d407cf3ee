"""What a diagram script may spend, counted while it runs: the messages of the restricted
evaluator (:mod:`engine.sandbox`), the run's step counter and deadline, the size checks of
operators, ``str.replace``/``join`` and sized builtins, and the builtins a script may call
(:data:`SAFE_BUILTINS`, each measuring its arguments before it runs)."""

from __future__ import annotations

import builtins
import operator
import time
import types
from collections.abc import Callable
from contextvars import ContextVar
from decimal import Decimal
from typing import Any, NamedTuple

from engine.errors import ScriptError

MAX_SIZE = 1_000_000


MAX_ALLOCATED = 10_000_000


MAX_INT_BITS = 10_000


MESSAGES = {  # code: (English, Vietnamese)
    "underscore": ("Names starting with '_' are not allowed: {0}", "Cấm tên bắt đầu bằng '_': {0}"),
    "node": ("'{0}' is not allowed in diagram scripts", "Không được dùng '{0}' trong kịch bản"),
    "attr": ("Attribute '.{0}' is not allowed{1}", "Không được dùng thuộc tính '.{0}'"),
    "builtin": ("'{0}' is not available in diagram scripts", "Không dùng được '{0}'"),
    "spec": ("Format specs must be constant, numbers <= {0}", "Định dạng phải cố định, số <= {0}"),
    "syntax": ("Syntax error: {0}", "Lỗi cú pháp: {0}"),
    "unreadable": ("Cannot read the script: {0}", "Không đọc được kịch bản: {0}"),
    "steps": ("More than {0} loop steps: is a loop endless?", "Quá {0} bước lặp: vòng lặp vô hạn?"),
    "time": ("The script ran longer than {0} s", "Kịch bản chạy quá {0} giây"),
    "size": ("The result would be too large ({0:,} items or characters; the limit is {1:,})",
             "Kết quả quá lớn ({0:,} phần tử hoặc ký tự; giới hạn {1:,})"),
    "bits": ("Number too large ({0:,} bits; the limit is {1:,})", "Số quá lớn ({0:,} bit)"),
    "percent": ("'%' formatting of text is not allowed; use an f-string",
                "Không được định dạng chuỗi bằng '%'; hãy dùng f-string"),
    "sum": ("sum() adds numbers only", "sum() chỉ cộng các số"),
    "ended": ("A script's value was used after the script ended", "Kịch bản đã kết thúc"),
    "unsavable": ("'{0}' holds a {1}, which task data cannot keep; wrap it in list()",
                  "'{0}' chứa {1}, không lưu được vào dữ liệu; hãy dùng list()"),
    "recursion": ("The script recurses or nests too deeply", "Kịch bản đệ quy/lồng quá sâu"),
    "def": ("A function may not have decorators or annotations: {0}",
            "Hàm không được có decorator hay chú thích kiểu: {0}"),
    "unknown": ("Unknown name '{0}' (no such field or function)", "Không có tên '{0}'"),
    "runtime": ("{0}: {1}", "Lỗi khi chạy: {0}: {1}"),
    "kept": ("'{0}' is too large to keep in the task data ({1:,} items or characters counted "
             "so far; the limit is {2:,})", "'{0}' quá lớn để lưu vào dữ liệu hồ sơ (đã đếm "
             "{1:,} phần tử hoặc ký tự; giới hạn {2:,})"),
}


CHECKED_OPS = {"Add": (operator.add, operator.iadd), "Mult": (operator.mul, operator.imul),
                "Pow": (operator.pow, operator.ipow), "LShift": (operator.lshift, operator.ilshift),
                "Mod": (operator.mod, operator.imod)}


_SEQUENCES = (str, bytes, list, tuple)


def fail(code: str, *args: Any) -> ScriptError:
    en, vi = (text.format(*args) for text in MESSAGES[code])
    return ScriptError(en, vi=vi, details=[{"line": None, "message": en}])


# The counters of the current run: steps, max_steps, deadline, timeout, allocated,
# max_allocated, mask (the deadline is checked when ``steps & mask`` is 0).
RUN: ContextVar[types.SimpleNamespace | None] = ContextVar("motcua_sandbox", default=None)


class Budget(NamedTuple):
    """What one run may spend: loop steps, seconds of wall time, items and characters built
    (each value also at most :data:`MAX_SIZE`), and how often the deadline is read (every
    ``check_every`` steps, a power of two: reading the clock costs more than a step)."""

    steps: int
    seconds: float
    allocated: int = MAX_ALLOCATED
    check_every: int = 64

    def start(self) -> types.SimpleNamespace:
        """The counters of a run starting now under this budget (set in :data:`RUN`)."""
        return types.SimpleNamespace(
            steps=0, max_steps=self.steps, timeout=self.seconds, allocated=0,
            max_allocated=self.allocated, mask=self.check_every - 1,
            deadline=time.monotonic() + self.seconds)


def _tick() -> bool:
    run = RUN.get()
    if run is None:
        raise fail("ended")
    run.steps += 1
    if run.steps > run.max_steps:
        raise fail("steps", run.max_steps)
    if not run.steps & run.mask and time.monotonic() > run.deadline:
        raise fail("time", f"{run.timeout:g}")
    return True


def _meter(steps: int) -> None:
    """Count ``steps`` units of a builtin's work as loop steps (and check the deadline)."""
    run = RUN.get()
    if run is None:
        raise fail("ended")
    run.steps += steps
    if run.steps > run.max_steps:
        raise fail("steps", run.max_steps)
    if time.monotonic() > run.deadline:
        raise fail("time", f"{run.timeout:g}")


def _measure(value: Any) -> int:
    """Elements and characters in ``value``, through nested lists, tuples, sets and dicts
    (a shared element counted each time it occurs); refuses past :data:`MAX_SIZE`, or the
    run's whole allocation budget if smaller, without walking further, so measuring costs
    at most that many steps."""
    run = RUN.get()
    limit = MAX_SIZE if run is None else min(MAX_SIZE, run.max_allocated)
    total = _size_upto(value, limit)
    if total > limit:
        raise fail("size", total, limit)
    return total


def _size_upto(value: Any, limit: int) -> int:
    """:func:`_measure`'s count, stopping as soon as it passes ``limit`` (then a lower bound)."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, dict):
            total += 2 * len(item)
            if total <= limit:
                stack.extend(v for v in (*item.keys(), *item.values()) if isinstance(v, _NESTED))
        elif isinstance(item, _NESTED):
            total += len(item)
            if total <= limit:
                stack.extend(v for v in item if isinstance(v, _NESTED))
        if total > limit:
            break
    return total


_NESTED = (str, bytes, list, tuple, set, frozenset, dict)


def _charge(size: int, bits: bool = False) -> None:
    """Refuse a value of ``size`` items/characters (or bits) if too large; count it."""
    limit = MAX_INT_BITS if bits else MAX_SIZE
    if size > limit:
        raise fail("bits" if bits else "size", size, limit)
    run = RUN.get()
    if run is not None and not bits:
        run.allocated += size
        if run.allocated > run.max_allocated:
            raise fail("size", run.allocated, run.max_allocated)


def check_kept(values: dict[str, Any], allowed: int = MAX_ALLOCATED) -> None:
    """Refuse what a run leaves behind (the task data a script adds or changes, an
    expression's value) if, counted as saving or comparing it walks it (a shared element each time it occurs),
    one value passes :data:`MAX_SIZE` or all of them ``allowed``: a list holding
    one long list a thousand times costs little to build and a thousand times more to save.
    Counting stops at the limit, so it costs at most that many steps."""
    total = 0
    for name, value in values.items():
        if isinstance(value, _NESTED):
            limit = min(MAX_SIZE, allowed - total)
            size = _size_upto(value, limit)
            if size > limit:
                raise fail("kept", name, total + size, allowed if limit < MAX_SIZE
                           else MAX_SIZE)
            total += size


def _repeated(sequence: Any, times: int) -> int:
    """The size of ``sequence * times``, its elements counted through nested containers:
    ``[row] * 1000`` holds a thousand references to one ``row``, but comparing, printing or
    saving it walks ``row`` a thousand times."""
    if times <= 0:
        return 0
    if isinstance(sequence, (str, bytes)):
        return len(sequence) * times
    return _size_upto(sequence, MAX_SIZE // times) * times


def _binop(op: str, a: Any, b: Any, inplace: bool = False) -> Any:
    """``a <op> b`` for the operators that can build huge values, size-checked first."""
    ints = type(a) is int and type(b) is int
    if op == "Add" and isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        _charge(len(a) + len(b))
    elif op == "Mult" and ints:
        _charge(a.bit_length() + b.bit_length(), True)
    elif op == "Mult" and isinstance(a, _SEQUENCES) and type(b) is int:
        _charge(_repeated(a, b))
    elif op == "Mult" and isinstance(b, _SEQUENCES) and type(a) is int:
        _charge(_repeated(b, a))
    elif op == "Pow" and ints and b > 0 and abs(a) > 1:
        _charge(a.bit_length() * b, True)
    elif op == "LShift" and ints and a:
        _charge(a.bit_length() + b, True)
    elif op == "Mod" and isinstance(a, (str, bytes)):
        raise fail("percent")
    return CHECKED_OPS[op][inplace](a, b)


#: List methods that compare elements in C (deeply, for nested lists): metered as steps.
COMPARING_METHODS = frozenset({"sort", "count", "index", "remove"})


def _compared(method: Callable, obj: list | tuple, sorts: bool) -> Callable:
    """``obj.method``, its elements (and its arguments') counted as steps before it runs."""
    def checked(*args: Any, **kwargs: Any) -> Any:
        size = _measure(obj) + sum(_measure(a) for a in args if isinstance(a, _NESTED))
        if size:
            _meter(size * max(1, size.bit_length()) if sorts else size)
        return method(*args, **kwargs)
    return checked


def _attr(obj: Any, name: str) -> Any:
    """``obj.name``; for ``str.replace``/``join`` and ``list.extend``, a size-checked version;
    for the list methods that compare elements, a metered one."""
    method = getattr(obj, name)
    if name in COMPARING_METHODS:
        return _compared(method, obj, name == "sort") if isinstance(obj, (list, tuple)) \
            else method
    if not isinstance(obj, list if name == "extend" else str):
        return method

    def checked(first: Any, *rest: Any) -> Any:
        if name == "replace":  # replace(old, new[, count])
            hits = obj.count(first) if first else len(obj) + 1
            hits = min(hits, rest[1]) if len(rest) > 1 and rest[1] >= 0 else hits
            _charge(len(obj) + hits * len(rest[0]) if rest else 0)
        else:  # join, extend: materialise the argument to measure it
            first = list(first)
            parts = sum(len(x) if isinstance(x, str) else 1 for x in first)
            _charge(len(obj) + len(first) if name == "extend" else parts + len(obj) * len(first))
        return method(first, *rest)
    return checked


def _wrap(fn: Callable, sized: bool, walks: bool = False) -> Callable:
    """A builtin as a plain function (no class attributes). Its arguments are measured before
    it runs; ``walks``: it visits every element, so they are metered as steps (``sorted``:
    n log n); ``sized``: its result is charged to the run's budget."""
    def call(*args: Any, **kwargs: Any) -> Any:
        if RUN.get() is not None:
            size = sum(_measure(a) for a in args if isinstance(a, _NESTED))
            if walks and size and not (fn is str and args and isinstance(args[0], str)):
                _meter(size * max(1, size.bit_length()) if fn is sorted else size)
        result = fn(*args, **kwargs)
        if sized:
            _charge(len(result))
        return result
    call.__name__ = fn.__name__
    return call


def _sum(iterable: Any, start: Any = 0) -> Any:
    if not isinstance(start, (int, float, Decimal)):
        raise fail("sum")
    return sum(iterable, start)


_sum.__name__ = "sum"
SAFE_BUILTINS: dict[str, Any] = {
    "len": len, "abs": abs, "round": round, "print": lambda *args, **kwargs: None,
    "__import__": lambda name, *args, **kwargs: {"time": time}[name],  # date.strftime needs it
    **{f.__name__: _wrap(f, False) for f in (int, float, bool, enumerate, zip)},
    **{f.__name__: _wrap(f, False, True) for f in (min, max, any, all, _sum)},
    **{f.__name__: _wrap(f, True) for f in (list, dict, set, tuple, range)},
    **{f.__name__: _wrap(f, True, True) for f in (str, sorted)},
}


UNAVAILABLE = frozenset(dir(builtins)) - set(SAFE_BUILTINS)


HELPERS: dict[str, Any] = {  # container[key] op= value goes through _sb_augitem
    "_sb_tick": _tick, "_sb_binop": _binop, "_sb_attr": _attr, "_sb_text": SAFE_BUILTINS["str"],
    "_sb_augitem": lambda c, key, op, value: c.__setitem__(key, _binop(op, c[key], value, True))}
