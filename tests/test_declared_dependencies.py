"""Every dependency pyproject.toml declares for users is imported by the package it is declared
for: the core's by the transport, an adapter extra's by that adapter. (pydantic was once a core
dependency although no transport module imports it; the adapters import it, so their extras
declare it.)"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
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


def _import_sites(
    folder: Path, *, leaving_out: str | None = None, run_time_only: bool = False
) -> Iterator[tuple[str, Path]]:
    """(absolute module name, file) for every import in the package in `folder` (less its
    subpackage `leaving_out`), lazy ones included; `run_time_only`: not those under
    `if TYPE_CHECKING:` or in a `try` that catches ImportError."""
    for path in sorted(folder.rglob("*.py")):
        if leaving_out and path.is_relative_to(folder / leaving_out):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        guarded = _guarded(tree) if run_time_only else set()
        for node in ast.walk(tree):
            if id(node) in guarded:
                continue
            if isinstance(node, ast.Import):
                yield from ((alias.name, path) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                yield node.module, path


def _guarded(tree: ast.Module) -> set[int]:
    """The nodes under `if TYPE_CHECKING:` or in a `try` that catches ImportError."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        type_checking = isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        import_error = isinstance(node, ast.Try) and any(
            h.type is not None and "ImportError" in ast.unparse(h.type) for h in node.handlers
        )
        if not (type_checking or import_error):
            continue
        inside: list[ast.stmt] = node.body  # type: ignore[attr-defined]
        guarded.update(id(n) for stmt in inside for n in ast.walk(stmt))
    return guarded


def _imported(package: str, *, leaving_out: str | None = None) -> set[str]:
    """Every absolute module name any file of `package` (less its subpackage `leaving_out`)
    imports, lazily or not."""
    return {name for name, _ in _import_sites(ROOT / package, leaving_out=leaving_out)}


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


# What each package may import at run time beyond the standard library and our own packages:
# its groups' distributions (as module names). pydantic-core is pydantic's own (pinned by it).
MAY_IMPORT = {
    "modelslab_transport": {"httpx", "redis", "pydantic", "pydantic_core"},
    "langchain_modelslab": {"httpx", "langchain_core", "pydantic", "pydantic_core"},
    "llama_index_modelslab": {"httpx", "llama_index", "pydantic", "pydantic_core"},
    "modelslab_emulator": {"httpx"},
}
# Loaded only by the tool it belongs to (pytest loads its plugin).
TOOL_MODULES = {ROOT / "modelslab_emulator" / "pytest_plugin.py"}


def _run_time_imports(folder: Path, *, leaving_out: str | None = None) -> dict[str, str]:
    """Each third-party top-level module the package in `folder` (less its subpackage
    `leaving_out`) imports unguarded -> a file importing it."""
    found: dict[str, str] = {}
    for name, path in _import_sites(folder, leaving_out=leaving_out, run_time_only=True):
        top = name.split(".")[0]
        if path in TOOL_MODULES or top in sys.stdlib_module_names or top in MAY_IMPORT:
            continue
        found.setdefault(top, path.name)
    return found


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_every_module_a_package_imports_is_declared_for_it(package: str) -> None:
    # typing_extensions was once imported at run time by the LangChain adapter without being
    # declared (it arrived with langchain-core, which does not promise it to us).
    undeclared = {
        module: path
        for module, path in _run_time_imports(ROOT / package).items()
        if module not in MAY_IMPORT[package]
    }
    assert not undeclared, f"{package} imports undeclared modules: {undeclared}"


def test_the_emulator_server_needs_the_standard_library_only() -> None:
    # What the README promises: only its conformance command (a client of a real host) uses
    # httpx, and Mistral's tokenizer is used when installed.
    assert _run_time_imports(ROOT / "modelslab_emulator", leaving_out="conformance") == {}
    assert "httpx" in _run_time_imports(ROOT / "modelslab_emulator")  # the check can see it


def test_the_undeclared_import_check_can_fail(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(
        "import json\nimport typing_extensions\nfrom langchain_modelslab import x\n"
        "if TYPE_CHECKING:\n    import numpy\n"
        "try:\n    import orjson\nexcept ImportError:\n    orjson = None\n"
        "def f():\n    from redis.retry import Retry\n",
        encoding="utf-8",
    )
    assert _run_time_imports(tmp_path) == {"typing_extensions": "mod.py", "redis": "mod.py"}
