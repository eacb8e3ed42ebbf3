"""Tests share helpers through `tests/support/` (and fixtures through conftest files): no test
file imports a conftest or another test module, whose import would run its fixtures' setup twice
and tie tests to each other's names."""

from __future__ import annotations

import ast

from tests.architecture.import_graph import ROOT

TESTS = ROOT / "tests"


def _is_test_or_conftest(dotted: str) -> bool:
    last = dotted.rpartition(".")[2]
    return last == "conftest" or last.startswith("test_")


def forbidden_imports(source: str, package: str) -> list[tuple[int, str]]:
    """(line, module) for each conftest or `test_*` module that `source`, in `package`, imports."""
    here = package.split(".")
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            parts = here[: len(here) - node.level + 1] if node.level else []
            base = ".".join([*parts, node.module or ""]).strip(".")
            names = [base, *(f"{base}.{a.name}" for a in node.names)]
        else:
            continue
        found += [(node.lineno, n) for n in names if _is_test_or_conftest(n)]
    return found


def test_no_test_imports_a_conftest_or_test_module() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line} {name}"
        for path in sorted(TESTS.rglob("*.py"))
        for line, name in forbidden_imports(
            path.read_text(), ".".join(path.relative_to(ROOT).parent.parts)
        )
    ]
    assert found == []


def test_finder_sees_every_spelling() -> None:
    source = (
        "from tests.scale.conftest import RedisServer\n"
        "from . import test_other\n"
        "from .conftest import x\n"
        "import tests.transport.test_client_faults\n"
        "from tests.support.scenarios import scenario\n"
    )
    assert forbidden_imports(source, "tests.scale") == [
        (1, "tests.scale.conftest"),
        (2, "tests.scale.test_other"),
        (3, "tests.scale.conftest"),
        (4, "tests.transport.test_client_faults"),
    ]
