"""What a diagram script may cost, judged from its text before it runs: whether the restricted
evaluator (:mod:`engine.sandbox`) can prove it cheap, and whether a script it cannot may
still be *tried* in the step's own process before it is sent to a worker
(:mod:`engine.script_pool`).

A script is cheap when nothing in it repeats (no loop, comprehension, lambda or ``def``)
and it makes at most :data:`MAX_CHEAP_OPERATIONS` calls and operators: its cost is then
bounded by its length. Anything else may run long, and the pool, whose workers the kernel
stops, is the place for it. Waking an idle worker costs far more than the typical such
script, a comprehension over a form's few rows, so a script that is heavy *only because it
repeats* and that provably changes nothing it was given is first tried in-process under
:data:`TRIAL`; the evaluator keeps its result when it finishes within it and otherwise
discards the attempt and sends the script to the pool as if it had not been tried.

Why only those scripts: in a trial the deadline is checked at every step (loop turn,
comprehension element, call), and between two steps a script runs each of its nodes at most
once, so with at most :data:`MAX_CHEAP_OPERATIONS` operations a trial holds the process (and
its GIL) at most the trial's deadline plus what a cheap script may do in all. Why nothing
changed in place: the attempt must leave the task data exactly as the worker would have
received it, and its namespace, which is all a script can write besides its arguments'
contents, is thrown away when it fails.
"""

from __future__ import annotations

import ast

from engine.sandbox_limits import Budget

#: more calls and operators than this, and a script is not provably cheap
MAX_CHEAP_OPERATIONS = 8
#: what makes a script's cost unbounded by its length: it may repeat work
REPEATING = (ast.For, ast.While, ast.comprehension, ast.Lambda, ast.FunctionDef)
#: the attributes a script may use (see ``engine.sandbox.SAFE_ATTRIBUTES``) that change
#: nothing: new values, reads, dates' parts. A whitelist, so that an attribute added to the
#: sandbox later keeps its scripts in the pool until it is judged here.
READ_ONLY_ATTRIBUTES = frozenset("""
    lower upper strip lstrip rstrip split rsplit splitlines join startswith endswith replace
    find rfind count index isdigit isalpha isalnum isnumeric isdecimal isspace islower isupper
    title capitalize casefold partition rpartition removeprefix removesuffix copy get keys
    values items union intersection difference issubset issuperset isoformat strftime weekday
    isoweekday year month day hour minute second date days seconds total_seconds now today
    fromisoformat""".split())
#: A trial's budget. 1,000 steps of a typical loop body take about what waking a worker
#: does (0.2-0.8 ms on a 2-core VM), so a trial that fails costs at most about what it tries
#: to save; 2 ms is under the interpreter's 5 ms thread switch interval, so other request
#: threads wait no longer for a trial than for any thread's turn (the deadline is checked at
#: every step); 20,000 items or characters built (and measured, when a builtin measures its
#: arguments) is a long letter, not a citizen's pasted list.
TRIAL = Budget(steps=1000, seconds=0.002, allocated=20_000, check_every=1)

_DISPLAYS = (ast.List, ast.Tuple, ast.Set, ast.Dict)


def _operations(node: ast.AST) -> int:
    """What ``node`` counts towards :data:`MAX_CHEAP_OPERATIONS`: a call or an operator is
    one; so is each element of a list, tuple, set or dict display that is not written in it
    (``[a, a, a]`` holds one large value three times, and comparing, hashing or saving the
    display walks it each time)."""
    if isinstance(node, (ast.Call, ast.BinOp, ast.AugAssign)):
        return 1
    if not isinstance(node, _DISPLAYS) or not isinstance(getattr(node, "ctx", ast.Load()),
                                                          ast.Load):
        return 0
    elements = [*node.keys, *node.values] if isinstance(node, ast.Dict) else node.elts
    return sum(not _literal(element) for element in elements)


def _literal(node: ast.AST | None) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return node is None  # ``{**d}``: the key of an unpacking
    return True


def _changes_in_place(node: ast.AST) -> bool:
    """Whether ``node`` may change a value in place: a method other than a read-only one
    (called or not: ``add = rows.append`` may be called later), a subscript or attribute
    written or deleted, or an augmented assignment (``rows += [x]`` extends the list that
    ``rows`` names, which may be task data). ``del name`` only unbinds a name."""
    if isinstance(node, ast.Attribute):
        return node.attr not in READ_ONLY_ATTRIBUTES or not isinstance(node.ctx, ast.Load)
    if isinstance(node, ast.Subscript):
        return not isinstance(node.ctx, ast.Load)
    return isinstance(node, ast.AugAssign)


def judge(nodes: list[ast.AST]) -> tuple[bool, bool]:
    """``(heavy, tried)`` for a validated script's nodes: ``heavy``, the static checks cannot
    prove it cheap; ``tried``, it is heavy only because it repeats and changes nothing in
    place, so it may be tried in-process under :data:`TRIAL` first."""
    repeats = any(isinstance(node, REPEATING) for node in nodes)
    many = sum(_operations(node) for node in nodes) > MAX_CHEAP_OPERATIONS
    tried = repeats and not many and not any(_changes_in_place(node) for node in nodes)
    return repeats or many, tried
