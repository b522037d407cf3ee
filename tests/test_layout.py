"""The tests mirror the engine: every module engine/<name>.py has tests/engine/test_<name>.py
(or a folder tests/engine/<name>/ when its tests fill one, as engine/elements.py's do), and
every module engine/<package>/<name>.py has tests/engine/<package>/test_<name>.py. A module
added without its test file fails here."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "engine"
TESTS = ROOT / "tests" / "engine"
#: Not modules of their own to test: migration scripts are checked as a whole
#: (tests/engine/test_migrate.py).
SKIPPED = ("migrations",)
#: Modules still tested only through others (their package's or the web's tests). Remove a
#: name when its test file is written; the second test keeps this list from going stale.
NOT_YET: set[str] = set()


def engine_modules() -> list[str]:
    """``name`` or ``package/name`` for every module of engine/, packages' __init__ aside."""
    found = []
    for path in sorted(ENGINE.rglob("*.py")):
        relative = path.relative_to(ENGINE)
        if path.name == "__init__.py" or relative.parts[0] in SKIPPED:
            continue
        found.append(relative.with_suffix("").as_posix())
    return found


def has_tests(module: str) -> bool:
    *package, name = module.split("/")
    folder = TESTS.joinpath(*package)
    return (folder / f"test_{name}.py").is_file() or (
        not package and any((folder / name).glob("test_*.py")))


def test_every_engine_module_has_its_own_test_file():
    missing = [m for m in engine_modules() if not has_tests(m) and m not in NOT_YET]
    assert missing == [], f"write tests/engine/…/test_<name>.py for: {', '.join(missing)}"


def test_the_modules_waiting_for_tests_still_exist_and_still_wait():
    modules = set(engine_modules())
    assert sorted(NOT_YET - modules) == [], "remove these from NOT_YET: they are gone"
    assert sorted(m for m in NOT_YET if has_tests(m)) == [], "remove these from NOT_YET"
