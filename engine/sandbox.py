"""The restricted evaluator for every expression and script in a diagram (untrusted: analysts
write them in a browser; SpiffWorkflow's own engine is plain ``eval``/``exec``).

Static rules (:meth:`RestrictedEvaluator.validate` at deploy time, again before a run): only
expressions, assignments, ``if``/``for``/``while``, comprehensions, lambdas, ``def`` of plain
helper functions (no decorators or annotations), f-strings, ``del``; no name, attribute or keyword starting with ``_``; attributes only from
:data:`SAFE_ATTRIBUTES` (not ``str.format``: ``"{0.__class__}"`` walks attributes); builtins
only from :data:`SAFE_BUILTINS`. Bounded work: loop iterations, comprehension elements and
lambda and function calls tick a step counter (deadline checked every 64 steps); ``+ * ** <<
%``, ``str.replace``/``join``, f-strings and sized builtins refuse results over
:data:`~engine.sandbox_limits.MAX_SIZE` items or :data:`~engine.sandbox_limits.MAX_INT_BITS`
bits before building them and charge each to a per-run budget
(:data:`~engine.sandbox_limits.MAX_ALLOCATED`). A builtin's arguments are measured *before* it runs
(elements counted through nested containers, shared ones as often as they occur, stopping at
the limit), and the builtins that walk their argument (``sorted``, ``min``, ``max``, ``sum``,
``any``, ``all``, ``str`` of a container) are metered: their elements count as steps, as do
those of a list whose ``sort``, ``count``, ``index`` or ``remove`` compares them. ``seq * n``
counts ``seq``'s elements through nested containers, and what a run leaves (the task data
a script adds or changes, an expression's value) is counted as saving it would walk it, a value held
many times counted each time (:func:`~engine.sandbox_limits.check_kept`).
Compiled code is cached per source; a condition without calls, operators or loops runs
unguarded. What the static checks cannot prove cheap (:meth:`RestrictedEvaluator.is_heavy`:
loops, functions, or more calls, operators and names in displays than
:data:`~engine.sandbox_cost.MAX_CHEAP_OPERATIONS`) runs, when a pool is given, in a worker
process under hard CPU and memory limits (:mod:`engine.script_pool`); if it is heavy only
because it repeats and changes nothing in place, it is first tried here under a small budget
(:data:`~engine.sandbox_cost.TRIAL`: steps, a deadline read at every step, allocations), and
the worker runs it only when that attempt fails in any way (:mod:`engine.sandbox_cost`).
"""

from __future__ import annotations

import ast
import re
import textwrap
import traceback
import types
from collections.abc import Callable, Mapping
from functools import lru_cache
from multiprocessing.reduction import ForkingPickler
from typing import Any

from engine.errors import ScriptError
from engine.sandbox_cost import TRIAL, judge
from engine.sandbox_limits import (
    CHECKED_OPS,
    COMPARING_METHODS,
    HELPERS,
    MAX_ALLOCATED,
    RUN,
    SAFE_BUILTINS,
    UNAVAILABLE,
    Budget,
    check_kept,
    fail,
)

FILENAME = "<diagram script>"
MAX_SOURCE = 20_000
MAX_FORMAT_NUMBER = 1000

SAFE_ATTRIBUTES = frozenset("""
    lower upper strip lstrip rstrip split rsplit splitlines join startswith endswith replace
    find rfind count index isdigit isalpha isalnum isnumeric isdecimal isspace islower isupper
    title capitalize casefold partition rpartition removeprefix removesuffix append extend
    insert pop remove sort reverse copy clear get keys values items setdefault update add
    discard union intersection difference issubset issuperset isoformat strftime weekday
    isoweekday year month day hour minute second date days seconds total_seconds now today
    fromisoformat""".split())
_NODE_NAMES = {"AsyncFunctionDef": "async def", "ClassDef": "class", "TryStar":
               "try", "Starred": "*-unpacking", "NamedExpr": ":=", "AnnAssign": "x: type = …"}
_ALLOWED = tuple(getattr(ast, name) for name in """
    Expression Module Expr Assign AugAssign If For While Break Continue Pass Delete BoolOp
    FunctionDef Return BinOp UnaryOp Lambda IfExp Dict Set ListComp SetComp DictComp GeneratorExp Compare Call
    FormattedValue JoinedStr Constant Attribute Subscript Name List Tuple Slice keyword
    arguments arg comprehension expr_context boolop operator unaryop cmpop""".split())
_GUARDED = (ast.Call, ast.For, ast.While, ast.comprehension, ast.Lambda, ast.JoinedStr,
            ast.BinOp, ast.AugAssign, ast.FunctionDef)
_CHECKED_METHODS = frozenset({"replace", "join", "extend", *COMPARING_METHODS})
#: Where :func:`_compile` says a script runs when there is a pool (None: in-process).
POOL, TRY = "pool", "try"
_UNSAVABLE = (range, zip, enumerate, types.GeneratorType, type({}.keys()), type({}.values()),
              type({}.items()))


def _attribute_error(node: ast.Attribute) -> tuple | None:
    """``.name`` may be read, never written, and only from :data:`SAFE_ATTRIBUTES`."""
    if node.attr.startswith("_"):
        return ("underscore", node.attr)
    if not isinstance(node.ctx, ast.Load):
        return ("node", f"assigning to .{node.attr}")
    if node.attr not in SAFE_ATTRIBUTES:
        hint = "; use an f-string" if node.attr.startswith("format") else ""
        return ("attr", node.attr, hint)
    return None


def _format_spec_error(node: ast.FormattedValue) -> tuple | None:
    """An f-string's format spec must be constant, its numbers at most
    :data:`MAX_FORMAT_NUMBER`."""
    parts = node.format_spec.values
    spec = "".join(str(v.value) for v in parts if isinstance(v, ast.Constant))
    if any(not isinstance(v, ast.Constant) for v in parts) or any(
            int(n) > MAX_FORMAT_NUMBER for n in re.findall(r"\d+", spec)):
        return ("spec", MAX_FORMAT_NUMBER)
    return None


def _construct_error(node: ast.AST, function_names: frozenset[str]) -> tuple | None:
    """The rules on allowed constructs: plain ``def``, available builtins, no slice
    augmented assignment, constant format specs."""
    if isinstance(node, ast.FunctionDef) and (
            node.decorator_list or node.returns or getattr(node, "type_params", None)):
        return ("def", node.name)
    if isinstance(node, ast.arg) and node.annotation is not None:
        return ("def", node.arg)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        called = node.func.id
        if called in UNAVAILABLE and called not in function_names and called[:1] != "_":
            return ("builtin", called)
        return None
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript) \
            and isinstance(node.target.slice, ast.Slice):
        return ("node", "x[a:b] op= y")
    if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
        return _format_spec_error(node)
    return None


def _node_error(node: ast.AST, function_names: frozenset[str]) -> tuple | None:
    """``(message code, *arguments)`` for the first rule ``node`` itself breaks, or None."""
    if not isinstance(node, _ALLOWED):
        kind = type(node).__name__
        return ("node", _NODE_NAMES.get(kind, kind.lower()))
    if isinstance(node, ast.Attribute):
        return _attribute_error(node)
    name = getattr(node, "id", None) or getattr(node, "arg", None) or ""
    if isinstance(node, ast.FunctionDef):
        name = node.name
    if name.startswith("_"):  # Name, arg, keyword, def
        return ("underscore", name)
    return _construct_error(node, function_names)


def _static_errors(tree: ast.AST, function_names: frozenset[str]) -> list[tuple[int, tuple]]:
    """``(line, (message code, *arguments))`` for every rule ``tree`` breaks."""
    errors: list[tuple[int, tuple]] = []

    def visit(node: ast.AST, line: int) -> None:
        line = getattr(node, "lineno", line)
        error = _node_error(node, function_names)
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
        if op in CHECKED_OPS:
            return _call("_sb_binop", node, ast.Constant(op), node.left, node.right)
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        op, target = type(node.op).__name__, node.target
        if op not in CHECKED_OPS:
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
        if node.attr in _CHECKED_METHODS and isinstance(node.ctx, ast.Load):
            return _call("_sb_attr", node, node.value, ast.Constant(node.attr))
        return node


@lru_cache(maxsize=4096)
def _compile(source: str, mode: str, function_names: frozenset[str]
             ) -> tuple[types.CodeType | None, list[tuple[int, tuple]], bool, str | None]:
    """``(code, errors, guarded, where)``, cached per source, mode and available function
    names; ``where`` a pool would run it (see :meth:`RestrictedEvaluator.is_heavy`): None
    in-process, :data:`POOL` in a worker, :data:`TRY` in-process first under
    :data:`~engine.sandbox_cost.TRIAL`, then in a worker if that does not do."""
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    if len(source) > MAX_SOURCE:
        return None, [(1, ("unreadable", f"longer than {MAX_SOURCE} characters"))], False, None
    try:
        tree = ast.parse(source, FILENAME, mode)
        errors = _static_errors(tree, function_names)
        if errors:
            return None, errors, False, None
        nodes = list(ast.walk(tree))
        guarded = any(isinstance(node, _GUARDED) for node in nodes)
        heavy, tried = judge(nodes)
        if guarded:
            tree = ast.fix_missing_locations(_Guard().visit(tree))
        return (compile(tree, FILENAME, mode, dont_inherit=True), [], guarded,
                (TRY if tried else POOL) if heavy else None)
    except SyntaxError as exc:
        return None, [(exc.lineno or 1, ("syntax", exc.msg))], False, None
    except (ValueError, RecursionError, MemoryError) as exc:
        return None, [(1, ("unreadable", str(exc) or type(exc).__name__))], False, None


def _located(items: list[tuple[int | None, str, str]]) -> ScriptError:
    """One ScriptError for ``(line, English, Vietnamese)`` items, lines in the text."""
    en = "; ".join(e + (f" (line {n})" if n else "") for n, e, _ in items)
    vi = "; ".join(v + (f" (dòng {n})" if n else "") for n, _, v in items)
    return ScriptError(en, vi=vi, details=[{"line": n, "message": e} for n, e, _ in items])


def _runtime_error(exc: Exception) -> ScriptError:
    frames = traceback.extract_tb(exc.__traceback__)
    line = next((f.lineno for f in reversed(frames) if f.filename == FILENAME), None)
    if isinstance(exc, RecursionError):
        exc = fail("recursion")
    elif isinstance(exc, NameError):
        name = getattr(exc, "name", None) or str(exc)
        exc = fail("builtin" if name in UNAVAILABLE else "unknown", name)
    elif not isinstance(exc, ScriptError):
        exc = fail("runtime", type(exc).__name__, exc)
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
        more than :data:`~engine.sandbox_cost.MAX_CHEAP_OPERATIONS` calls and operations:
        then its cost is not bounded by its length, and it runs in the pool when there is
        one (after a trial in-process if it only repeats and changes nothing in place:
        :mod:`engine.sandbox_cost`)."""
        source = source.strip() if mode == "eval" else textwrap.dedent(source)
        return _compile(source, mode, self._names)[3] is not None

    def _where(self, source: str, mode: str, external: Mapping[str, Callable] | None
               ) -> str | None:
        """Where ``source`` (stripped or dedented) runs: None in-process, :data:`POOL` or
        :data:`TRY`; only code with no per-call functions goes to the pool (the worker
        rebuilds only the evaluator's own)."""
        if self.pool is None or external:
            return None
        return _compile(source, mode, self._names)[3]

    def validate(self, source: str, mode: str = "eval") -> list[str]:
        """Static errors of ``source`` as ``"… (line n)"`` strings, without running it."""
        source = source.strip() if mode == "eval" else textwrap.dedent(source)
        errors = _compile(source, mode, self._names)[1]
        return [f"{fail(*message).message} (line {line})" for line, message in errors]

    def evaluate(self, expression: str, context: Mapping[str, Any],
                 external_context: Mapping[str, Callable] | None = None) -> Any:
        """The value of ``expression`` over ``context`` (task data, left unchanged)."""
        expression = expression.strip()
        where = self._where(expression, "eval", external_context)
        if where is None:
            value = self._run(expression, "eval", context, external_context)[0]
        else:
            value = self._pooled(where, expression, "eval", context)
        check_kept({"value": value})
        return value

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Callable] | None = None) -> None:
        """Run ``script``; its new, changed and deleted top-level names update ``context``,
        except callables (lambdas, functions); a generator, range or dict view is an error."""
        script = textwrap.dedent(script)
        where = self._where(script, "exec", external_context)
        if where is None:
            self._execute(script, context, external_context)
            return
        changed = self._pooled(where, script, "exec", context)
        check_kept({key: value for key, value in changed.items()
                    if key not in context or context[key] != value})
        context.clear()
        context.update(changed)

    def _pooled(self, where: str, source: str, mode: str, context: Mapping[str, Any]) -> Any:
        """The value (``eval``) or whole new context (``exec``) a worker gives. For a
        :data:`TRY`, first an attempt in-process under :data:`~engine.sandbox_cost.TRIAL`
        (no more than the evaluator's own limits), kept if it finishes within it, as a
        worker would send it back: pickled and unpickled, so it shares nothing with
        ``context`` (and fails here if a worker could not send it). Any failure of the
        attempt is dropped and the worker's run, from the same ``context`` (the attempt
        cannot change it in place), is the one that counts."""
        if where == TRY:
            budget = TRIAL._replace(steps=min(TRIAL.steps, self.max_loop_iterations),
                                    seconds=min(TRIAL.seconds, self.timeout))
            try:
                if mode == "eval":
                    result = self._run(source, mode, context, None, budget)[0]
                else:
                    result = dict(context)
                    self._execute(source, result, None, budget)
                return ForkingPickler.loads(ForkingPickler.dumps(result))
            except Exception:  # any failure: the worker's run decides
                pass
        return self.pool.run(self.recipe(), source, mode, dict(context), self.timeout,
                             self.max_loop_iterations)

    def _execute(self, script: str, context: dict[str, Any],
                 external: Mapping[str, Callable] | None, budget: Budget | None = None) -> None:
        """:meth:`execute` in this process (under ``budget``, else the evaluator's own)."""
        _, namespace, skip = self._run(script, "exec", context, external, budget)
        updates = {}
        for key, value in namespace.items():
            if key in skip or callable(value):
                continue
            if isinstance(value, _UNSAVABLE):
                raise fail("unsavable", key, type(value).__name__)
            if key not in context or context[key] is not value:
                updates[key] = value
        check_kept(updates, MAX_ALLOCATED if budget is None else budget.allocated)
        for key in [k for k in context if k not in namespace and k not in skip]:
            del context[key]
        context.update(updates)

    def _run(self, source: str, mode: str, context: Mapping[str, Any],
             external: Mapping[str, Callable] | None, budget: Budget | None = None
             ) -> tuple[Any, dict, set[str]]:
        """Compile (cached), build the namespace, run under ``budget`` (else the
        evaluator's own limits); ``(value, namespace, our names)``."""
        functions = {**self.functions, **external} if external else self.functions
        code, errors, guarded, _ = _compile(source, mode, frozenset(functions) if external
                                         else self._names)
        if errors:
            raise _located([(line, fail(*m).message, fail(*m).vi) for line, m in errors])
        namespace = {**context, **functions, **(HELPERS if guarded else {}),
                     "__builtins__": SAFE_BUILTINS}
        if guarded:
            budget = budget or Budget(self.max_loop_iterations, self.timeout)
            token = RUN.set(budget.start())
        else:
            token = None
        try:
            value = (eval if mode == "eval" else exec)(code, namespace)
        except Exception as exc:
            raise _runtime_error(exc) from None
        finally:
            if token is not None:
                RUN.reset(token)
        return value, namespace, {*functions, *HELPERS, "__builtins__"}

