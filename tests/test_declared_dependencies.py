"""Every dependency pyproject.toml declares for users is imported by the package it is declared
for: the core's by the transport, an adapter extra's by that adapter. (pydantic was once a core
dependency although no transport module imports it; the adapters import it, so their extras
declare it.)"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - pip vendors the same parser
    from pip._vendor import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# Which of our packages each group serves, and the module each distribution provides.
SERVES = {
    "core": ["modelslab_transport"],
    "langchain": ["langchain_modelslab"],
    "llama-index": ["llama_index_modelslab"],
    "redis": ["modelslab_transport"],
}
MODULE = {
    "httpx": "httpx",
    "pydantic": "pydantic",
    "langchain-core": "langchain_core",
    "llama-index-core": "llama_index.core",
    "redis": "redis",
}


def _distributions(requirements: list[str]) -> list[str]:
    names = [re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower() for r in requirements]
    return [n for n in names if n != "modelslab-integrations"]


def _imported(package: str, *, leaving_out: str | None = None) -> set[str]:
    """Every absolute module name any file of `package` (less its subpackage `leaving_out`)
    imports, lazily or not."""
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        if leaving_out and path.is_relative_to(ROOT / package / leaving_out):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
    return found


def _imports(package: str, module: str, *, leaving_out: str | None = None) -> bool:
    return any(
        name == module or name.startswith(module + ".")
        for name in _imported(package, leaving_out=leaving_out)
    )


GROUPS = {"core": PROJECT["dependencies"]} | {
    extra: PROJECT["optional-dependencies"][extra] for extra in SERVES if extra != "core"
}
CASES = [
    (group, dist) for group, requirements in GROUPS.items() for dist in _distributions(requirements)
]


@pytest.mark.parametrize(("group", "distribution"), CASES, ids=[f"{g}-{d}" for g, d in CASES])
def test_a_declared_dependency_is_imported_where_it_is_declared(
    group: str, distribution: str
) -> None:
    assert distribution in MODULE, f"say which module {distribution} provides"
    assert any(_imports(package, MODULE[distribution]) for package in SERVES[group]), (
        f"{distribution} is declared in {group} but no module of {SERVES[group]} imports it"
    )


def test_the_transport_does_not_declare_pydantic() -> None:
    # `modelslab_transport.adapters` (the adapters' shared fields, pydantic models) serves only
    # the two adapters, whose extras declare pydantic; importing the transport never loads it.
    assert not _imports("modelslab_transport", "pydantic", leaving_out="adapters")
    assert _imports("modelslab_transport", "pydantic")  # the boundary does: the check can fail
    assert "pydantic" not in _distributions(PROJECT["dependencies"])
    assert _imports("langchain_modelslab", "pydantic") and _imports(
        "llama_index_modelslab", "pydantic"
    )


def test_importing_the_transport_loads_no_pydantic() -> None:
    import subprocess

    code = "import sys, modelslab_transport; print('pydantic' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "False"
