"""The restricted evaluator for every expression and script in a diagram (untrusted: analysts
write them in a browser; SpiffWorkflow's own engine is plain ``eval``/``exec``).

Static rules (:meth:`RestrictedEvaluator.validate` at deploy time, again before a run): only
expressions, assignments, ``if``/``for``/``while``, comprehensions, lambdas, ``def`` of plain
helper functions (no decorators or annotations), f-strings, ``del``; no name, attribute or keyword starting with ``_``; attributes only from
:data:`SAFE_ATTRIBUTES` (not ``str.format``: ``"{0.__class__}"`` walks attributes); builtins
only from :data:`SAFE_BUILTINS`. Bounded work: loop iterations, comprehension elements and
lambda and function calls tick a step counter (deadline checked every 64 steps); ``+ * ** <<
%``, ``str.replace``/``join``, f-strings and sized builtins refuse results over
:data:`MAX_SIZE` items or :data:`MAX_INT_BITS` bits before building them and charge each to a
per-run budget (:data:`MAX_ALLOCATED`). A builtin's arguments are measured *before* it runs
(elements counted through nested containers, shared ones as often as they occur, stopping at
the limit), and the builtins that walk their argument (``sorted``, ``min``, ``max``, ``sum``,
``any``, ``all``, ``str`` of a container) are metered: their elements count as steps.
Compiled code is cached per source; a condition without calls, operators or loops runs
unguarded. What the static checks cannot prove cheap (:func:`is_heavy`) runs, when a pool is
given, in a worker process under hard CPU and memory limits (:mod:`engine.script_pool`).
"""

from __future__ import annotations

import ast
import builtins
import operator
import re
import textwrap
import time
import traceback
import types
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from decimal import Decimal
from functools import lru_cache
from typing import Any

from engine.errors import ScriptError

FILENAME = "<diagram script>"
MAX_SOURCE = 20_000
MAX_SIZE = 1_000_000
MAX_ALLOCATED = 10_000_000
MAX_INT_BITS = 10_000
MAX_FORMAT_NUMBER = 1000

SAFE_ATTRIBUTES = frozenset("""
    lower upper strip lstrip rstrip split rsplit splitlines join startswith endswith replace
    find rfind count index isdigit isalpha isalnum isnumeric isdecimal isspace islower isupper
    title capitalize casefold partition rpartition removeprefix removesuffix append extend
    insert pop remove sort reverse copy clear get keys values items setdefault update add
    discard union intersection difference issubset issuperset isoformat strftime weekday
    isoweekday year month day hour minute second date days seconds total_seconds now today
    fromisoformat""".split())
_MESSAGES = {  # code: (English, Vietnamese)
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
}
_NODE_NAMES = {"AsyncFunctionDef": "async def", "ClassDef": "class", "TryStar":
               "try", "Starred": "*-unpacking", "NamedExpr": ":=", "AnnAssign": "x: type = …"}
_ALLOWED = tuple(getattr(ast, name) for name in """
    Expression Module Expr Assign AugAssign If For While Break Continue Pass Delete BoolOp
    FunctionDef Return BinOp UnaryOp Lambda IfExp Dict Set ListComp SetComp DictComp GeneratorExp Compare Call
    FormattedValue JoinedStr Constant Attribute Subscript Name List Tuple Slice keyword
    arguments arg comprehension expr_context boolop operator unaryop cmpop""".split())
_GUARDED = (ast.Call, ast.For, ast.While, ast.comprehension, ast.Lambda, ast.JoinedStr,
            ast.BinOp, ast.AugAssign, ast.FunctionDef)
#: what makes a script's cost unbounded by its length: it may repeat work
_REPEATING = (ast.For, ast.While, ast.comprehension, ast.Lambda, ast.FunctionDef)
#: more calls and operators than this, and a script is not provably cheap
MAX_CHEAP_OPERATIONS = 8
_CHECKED_OPS = {"Add": (operator.add, operator.iadd), "Mult": (operator.mul, operator.imul),
                "Pow": (operator.pow, operator.ipow), "LShift": (operator.lshift, operator.ilshift),
                "Mod": (operator.mod, operator.imod)}
_SEQUENCES = (str, bytes, list, tuple)
_UNSAVABLE = (range, zip, enumerate, types.GeneratorType, type({}.keys()), type({}.values()),
              type({}.items()))


def _fail(code: str, *args: Any) -> ScriptError:
    en, vi = (text.format(*args) for text in _MESSAGES[code])
    return ScriptError(en, vi=vi, details=[{"line": None, "message": en}])


# The counters of the current run: steps, max_steps, deadline, timeout, allocated.
_RUN: ContextVar[types.SimpleNamespace | None] = ContextVar("motcua_sandbox", default=None)


def _tick() -> bool:
    run = _RUN.get()
    if run is None:
        raise _fail("ended")
    run.steps += 1
    if run.steps > run.max_steps:
        raise _fail("steps", run.max_steps)
    if not run.steps & 63 and time.monotonic() > run.deadline:
        raise _fail("time", f"{run.timeout:g}")
    return True


def _meter(steps: int) -> None:
    """Count ``steps`` units of a builtin's work as loop steps (and check the deadline)."""
    run = _RUN.get()
    if run is None:
        raise _fail("ended")
    run.steps += steps
    if run.steps > run.max_steps:
        raise _fail("steps", run.max_steps)
    if time.monotonic() > run.deadline:
        raise _fail("time", f"{run.timeout:g}")


def _measure(value: Any, limit: int = MAX_SIZE) -> int:
    """Elements and characters in ``value``, through nested lists, tuples, sets and dicts
    (a shared element counted each time it occurs); refuses past ``limit`` without walking
    further, so measuring costs at most ``limit`` steps."""
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
            raise _fail("size", total, limit)
    return total


_NESTED = (str, bytes, list, tuple, set, frozenset, dict)


def _charge(size: int, bits: bool = False) -> None:
    """Refuse a value of ``size`` items/characters (or bits) if too large; count it."""
    limit = MAX_INT_BITS if bits else MAX_SIZE
    if size > limit:
        raise _fail("bits" if bits else "size", size, limit)
    run = _RUN.get()
    if run is not None and not bits:
        run.allocated += size
        if run.allocated > MAX_ALLOCATED:
            raise _fail("size", run.allocated, MAX_ALLOCATED)


def _binop(op: str, a: Any, b: Any, inplace: bool = False) -> Any:
    """``a <op> b`` for the operators that can build huge values, size-checked first."""
    ints = type(a) is int and type(b) is int
    if op == "Add" and isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        _charge(len(a) + len(b))
    elif op == "Mult" and ints:
        _charge(a.bit_length() + b.bit_length(), True)
    elif op == "Mult" and isinstance(a, _SEQUENCES) and type(b) is int:
        _charge(len(a) * max(b, 0))
    elif op == "Mult" and isinstance(b, _SEQUENCES) and type(a) is int:
        _charge(len(b) * max(a, 0))
    elif op == "Pow" and ints and b > 0 and abs(a) > 1:
        _charge(a.bit_length() * b, True)
    elif op == "LShift" and ints and a:
        _charge(a.bit_length() + b, True)
    elif op == "Mod" and isinstance(a, (str, bytes)):
        raise _fail("percent")
    return _CHECKED_OPS[op][inplace](a, b)


def _attr(obj: Any, name: str) -> Any:
    """``obj.name``; for ``str.replace``/``join`` and ``list.extend``, a size-checked version."""
    method = getattr(obj, name)
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
        if _RUN.get() is not None:
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
        raise _fail("sum")
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
_UNAVAILABLE = frozenset(dir(builtins)) - set(SAFE_BUILTINS)
_HELPERS: dict[str, Any] = {  # container[key] op= value goes through _sb_augitem
    "_sb_tick": _tick, "_sb_binop": _binop, "_sb_attr": _attr, "_sb_text": SAFE_BUILTINS["str"],
    "_sb_augitem": lambda c, key, op, value: c.__setitem__(key, _binop(op, c[key], value, True))}


def _static_errors(tree: ast.AST, function_names: frozenset[str]) -> list[tuple[int, tuple]]:
    """``(line, (message code, *arguments))`` for every rule ``tree`` breaks."""
    errors: list[tuple[int, tuple]] = []

    def visit(node: ast.AST, line: int) -> None:
        line = getattr(node, "lineno", line)
        name = getattr(node, "id", None) or getattr(node, "arg", None) or ""
        if isinstance(node, ast.FunctionDef):
            name = node.name
        kind, error = type(node).__name__, None
        if not isinstance(node, _ALLOWED):
            error = ("node", _NODE_NAMES.get(kind, kind.lower()))
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                error = ("underscore", node.attr)
            elif not isinstance(node.ctx, ast.Load):
                error = ("node", f"assigning to .{node.attr}")
            elif node.attr not in SAFE_ATTRIBUTES:
                hint = "; use an f-string" if node.attr.startswith("format") else ""
                error = ("attr", node.attr, hint)
        elif name.startswith("_"):  # Name, arg, keyword, def
            error = ("underscore", name)
        elif isinstance(node, ast.FunctionDef) and (
                node.decorator_list or node.returns or getattr(node, "type_params", None)):
            error = ("def", node.name)
        elif isinstance(node, ast.arg) and node.annotation is not None:
            error = ("def", node.arg)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            called = node.func.id
            if called in _UNAVAILABLE and called not in function_names and called[:1] != "_":
                error = ("builtin", called)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript) \
                and isinstance(node.target.slice, ast.Slice):
            error = ("node", "x[a:b] op= y")
        elif isinstance(node, ast.FormattedValue) and node.format_spec is not None:
            parts = node.format_spec.values
            spec = "".join(str(v.value) for v in parts if isinstance(v, ast.Constant))
            if any(not isinstance(v, ast.Constant) for v in parts) or any(
                    int(n) > MAX_FORMAT_NUMBER for n in re.findall(r"\d+", spec)):
                error = ("spec", MAX_FORMAT_NUMBER)
        if error and (line, error) not in errors:
            errors.append((line, error))
        if isinstance(node, _ALLOWED):
            for child in ast.iter_child_nodes(node):
                visit(child, line)

    visit(tree, 1)
    return sorted(errors, key=lambda e: e[0])


def _call(name: str, node: ast.AST, *args: ast.expr) -> ast.Call:
    return ast.copy_location(ast.Call(ast.Name(name, ast.Load()), list(args), []), node)


class _Guard(ast.NodeTransformer):
    """Rewrites a validated tree: loop/comprehension/lambda ticks, checked operations."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        op = type(node.op).__name__
        if op in _CHECKED_OPS:
            return _call("_sb_binop", node, ast.Constant(op), node.left, node.right)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        op, target = type(node.op).__name__, node.target
        if op not in _CHECKED_OPS:
            return node
        if isinstance(target, ast.Name):
            value = _call("_sb_binop", node, ast.Constant(op), ast.Name(target.id, ast.Load()),
                          node.value, ast.Constant(True))
            return ast.copy_location(ast.Assign([target], value), node)
        call = _call("_sb_augitem", node, target.value, target.slice, ast.Constant(op),
                     node.value)  # a Subscript: attribute targets are refused earlier
        return ast.copy_location(ast.Expr(call), node)

    def _loop(self, node: ast.For | ast.While) -> ast.AST:
        self.generic_visit(node)
        node.body.insert(0, ast.copy_location(ast.Expr(_call("_sb_tick", node)), node))
        return node

    visit_For = visit_While = _loop

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.generic_visit(node)
        node.body.insert(0, ast.copy_location(ast.Expr(_call("_sb_tick", node)), node))
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        node.ifs.insert(0, _call("_sb_tick", node.iter))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        self.generic_visit(node)
        node.body = ast.copy_location(
            ast.BoolOp(ast.And(), [_call("_sb_tick", node), node.body]), node.body)
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        for value in node.values:  # not into the format specs: they must stay JoinedStr
            if isinstance(value, ast.FormattedValue):
                value.value = self.visit(value.value)
        return _call("_sb_text", node, node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if node.attr in ("replace", "join", "extend") and isinstance(node.ctx, ast.Load):
            return _call("_sb_attr", node, node.value, ast.Constant(node.attr))
        return node


@lru_cache(maxsize=4096)
def _compile(source: str, mode: str, function_names: frozenset[str]
             ) -> tuple[types.CodeType | None, list[tuple[int, tuple]], bool, bool]:
    """``(code, errors, guarded, heavy)``, cached per source, mode and available function
    names; ``heavy``: the static checks cannot prove the run cheap (see :func:`is_heavy`)."""
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    if len(source) > MAX_SOURCE:
        return None, [(1, ("unreadable", f"longer than {MAX_SOURCE} characters"))], False, False
    try:
        tree = ast.parse(source, FILENAME, mode)
        errors = _static_errors(tree, function_names)
        if errors:
            return None, errors, False, False
        nodes = list(ast.walk(tree))
        guarded = any(isinstance(node, _GUARDED) for node in nodes)
        heavy = any(isinstance(node, _REPEATING) for node in nodes) or sum(
            isinstance(node, (ast.Call, ast.BinOp, ast.AugAssign)) for node in nodes
        ) > MAX_CHEAP_OPERATIONS
        if guarded:
            tree = ast.fix_missing_locations(_Guard().visit(tree))
        return compile(tree, FILENAME, mode, dont_inherit=True), [], guarded, heavy
    except SyntaxError as exc:
        return None, [(exc.lineno or 1, ("syntax", exc.msg))], False, False
    except (ValueError, RecursionError, MemoryError) as exc:
        return None, [(1, ("unreadable", str(exc) or type(exc).__name__))], False, False


def _located(items: list[tuple[int | None, str, str]]) -> ScriptError:
    """One ScriptError for ``(line, English, Vietnamese)`` items, lines in the text."""
    en = "; ".join(e + (f" (line {n})" if n else "") for n, e, _ in items)
    vi = "; ".join(v + (f" (dòng {n})" if n else "") for n, _, v in items)
    return ScriptError(en, vi=vi, details=[{"line": n, "message": e} for n, e, _ in items])


def _runtime_error(exc: Exception) -> ScriptError:
    frames = traceback.extract_tb(exc.__traceback__)
    line = next((f.lineno for f in reversed(frames) if f.filename == FILENAME), None)
    if isinstance(exc, RecursionError):
        exc = _fail("recursion")
    elif isinstance(exc, NameError):
        name = getattr(exc, "name", None) or str(exc)
        exc = _fail("builtin" if name in _UNAVAILABLE else "unknown", name)
    elif not isinstance(exc, ScriptError):
        exc = _fail("runtime", type(exc).__name__, exc)
    return _located([(line, exc.message, exc.vi)])


class RestrictedEvaluator:
    """Evaluates diagram expressions and runs diagram scripts under the rules above.

    ``functions`` (e.g. ``working_days``) win over task data of the same name and are never
    written back; ``external_context`` adds per-call functions as in SpiffWorkflow. With a
    ``pool`` (:class:`engine.script_pool.ScriptPool`), code that is not provably cheap runs in
    one of its worker processes, whose functions ``recipe()`` describes: ``("module:function",
    args)``, called there to build them.
    """

    def __init__(self, functions: Mapping[str, Callable] | None = None, *,
                 timeout: float = 1.0, max_loop_iterations: int = 100_000,
                 pool: Any = None, recipe: Callable[[], tuple] | None = None) -> None:
        self.functions: dict[str, Callable] = dict(functions or {})
        self.timeout = timeout
        self.max_loop_iterations = max_loop_iterations
        self._names = frozenset(self.functions)
        self.pool = pool if recipe is not None else None
        self.recipe = recipe

    def is_heavy(self, source: str, mode: str = "eval") -> bool:
        """Whether ``source`` may repeat work (loops, comprehensions, functions) or makes
        more than :data:`MAX_CHEAP_OPERATIONS` calls and operations: then its cost is not
        bounded by its length, and it runs in the pool when there is one."""
        source = source.strip() if mode == "eval" else textwrap.dedent(source)
        return _compile(source, mode, self._names)[3]

    def _pooled(self, source: str, mode: str, context: Mapping[str, Any],
                external: Mapping[str, Callable] | None) -> bool:
        return self.pool is not None and not external and self.is_heavy(source, mode)

    def validate(self, source: str, mode: str = "eval") -> list[str]:
        """Static errors of ``source`` as ``"… (line n)"`` strings, without running it."""
        source = source.strip() if mode == "eval" else textwrap.dedent(source)
        errors = _compile(source, mode, self._names)[1]
        return [f"{_fail(*message).message} (line {line})" for line, message in errors]

    def evaluate(self, expression: str, context: Mapping[str, Any],
                 external_context: Mapping[str, Callable] | None = None) -> Any:
        """The value of ``expression`` over ``context`` (task data, left unchanged)."""
        if self._pooled(expression, "eval", context, external_context):
            return self.pool.run(self.recipe(), expression.strip(), "eval", dict(context),
                                 self.timeout, self.max_loop_iterations)
        return self._run(expression.strip(), "eval", context, external_context)[0]

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Callable] | None = None) -> None:
        """Run ``script``; its new, changed and deleted top-level names update ``context``,
        except callables (lambdas, functions); a generator, range or dict view is an error."""
        if self._pooled(script, "exec", context, external_context):
            changed = self.pool.run(self.recipe(), textwrap.dedent(script), "exec",
                                    dict(context), self.timeout, self.max_loop_iterations)
            context.clear()
            context.update(changed)
            return
        _, namespace, skip = self._run(textwrap.dedent(script), "exec", context,
                                       external_context)
        updates = {}
        for key, value in namespace.items():
            if key in skip or callable(value):
                continue
            if isinstance(value, _UNSAVABLE):
                raise _fail("unsavable", key, type(value).__name__)
            if key not in context or context[key] is not value:
                updates[key] = value
        for key in [k for k in context if k not in namespace and k not in skip]:
            del context[key]
        context.update(updates)

    def _run(self, source: str, mode: str, context: Mapping[str, Any],
             external: Mapping[str, Callable] | None) -> tuple[Any, dict, set[str]]:
        """Compile (cached), build the namespace, run; ``(value, namespace, our names)``."""
        functions = {**self.functions, **external} if external else self.functions
        code, errors, guarded, _ = _compile(source, mode, frozenset(functions) if external
                                         else self._names)
        if errors:
            raise _located([(line, _fail(*m).message, _fail(*m).vi) for line, m in errors])
        namespace = {**context, **functions, **(_HELPERS if guarded else {}),
                     "__builtins__": SAFE_BUILTINS}
        token = _RUN.set(types.SimpleNamespace(
            steps=0, max_steps=self.max_loop_iterations, timeout=self.timeout, allocated=0,
            deadline=time.monotonic() + self.timeout)) if guarded else None
        try:
            value = (eval if mode == "eval" else exec)(code, namespace)
        except Exception as exc:
            raise _runtime_error(exc) from None
        finally:
            if token is not None:
                _RUN.reset(token)
        return value, namespace, {*functions, *_HELPERS, "__builtins__"}


def run_job(recipe: tuple, source: str, mode: str, context: dict, timeout: float,
            max_steps: int) -> Any:
    """A pooled run, in the worker process: the functions built from ``recipe``, then the
    value (``eval``) or the changed context (``exec``)."""
    import importlib

    target, args = recipe
    module, name = target.split(":")
    functions = getattr(importlib.import_module(module), name)(*args)
    evaluator = RestrictedEvaluator(functions, timeout=timeout, max_loop_iterations=max_steps)
    if mode == "eval":
        return evaluator.evaluate(source, context)
    evaluator.execute(source, context)
    return context
