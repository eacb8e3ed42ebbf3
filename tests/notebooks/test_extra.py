"""A reader who opens a notebook can run it: its first cell names the `notebooks` extra, and that
extra (read from this tree's pyproject.toml, with the extras it includes) names a distribution
for every module the notebook imports, so `pip install "modelslab-integrations[notebooks]"` is
enough. (`rag.ipynb` once failed on `llama_index.retrievers` after installing `[all]`.)"""

from __future__ import annotations

import ast
import json
import re
import sys
from functools import cache
from importlib.metadata import distributions, packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NEEDS = 'Needs `pip install "modelslab-integrations[notebooks]"`'
OURS = {"modelslab_transport", "langchain_modelslab", "llama_index_modelslab", "modelslab_emulator"}
PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def _name(requirement: str) -> str:
    """A requirement's distribution name, normalised (PEP 503)."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _extras() -> dict[str, list[str]]:
    section = PYPROJECT.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    found = re.findall(r"^([a-z-]+) = \[(.*?)\]$", section, flags=re.MULTILINE | re.DOTALL)
    return {name: re.findall(r'"([^"]+)"', body) for name, body in found}


def _base() -> list[str]:
    body = PYPROJECT.split("\ndependencies = [", 1)[1].split("]", 1)[0]
    return re.findall(r'"([^"]+)"', body)


def requirements_of(extra: str) -> set[str]:
    """Every distribution `pip install "modelslab-integrations[extra]"` asks for by name."""
    extras, names, todo, seen = _extras(), {_name(r) for r in _base()}, [extra], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for requirement in extras[current]:
            own = re.match(r"modelslab-integrations\[([^\]]+)\]", requirement)
            if own:
                todo.extend(own.group(1).split(","))
            else:
                names.add(_name(requirement))
    return names


def _imports(path: Path) -> set[str]:
    """The dotted module names the notebook's code cells import."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    modules: set[str] = set()
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        source = "\n".join(line for line in source.splitlines() if not line.startswith(("%", "!")))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module)
    return modules


@cache
def _providers() -> dict[str, list[str]]:
    """Top-level module -> distributions. Python 3.10's `packages_distributions` reads only
    `top_level.txt`, which wheels built by newer tools leave out; 3.11+ also infers the modules
    from each distribution's files, as done here for every version."""
    found: dict[str, list[str]] = {k: list(v) for k, v in packages_distributions().items()}
    for dist in distributions():
        for file in dist.files or []:
            top = file.parts[0]
            if len(file.parts) > 1 and not top.endswith((".dist-info", ".egg-info", ".data")):
                names = found.setdefault(top, [])
                if dist.metadata["Name"] not in names:
                    names.append(dist.metadata["Name"])
    return found


def _distribution(module: str) -> str:
    """The distribution that provides `module`: for a namespace shared by several (llama_index),
    the one named after the longest matching prefix (llama_index.retrievers.bm25 ->
    llama-index-retrievers-bm25)."""
    parts = module.split(".")
    candidates = {_name(d) for d in _providers().get(parts[0], [])}
    assert candidates, f"{module} is not installed in this environment"
    for length in range(len(parts), 0, -1):
        name = _name("-".join(parts[:length]))
        if name in candidates:
            return name
    assert len(candidates) == 1, f"cannot tell which of {candidates} provides {module}"
    return candidates.pop()


def test_the_extra_includes_the_adapters_the_emulator_and_a_kernel() -> None:
    names = requirements_of("notebooks")
    assert {"langchain-core", "llama-index-core", "ipykernel"} <= names
    assert (
        "notebooks" in re.findall(r"modelslab-integrations\[([^\]]+)\]", str(_extras()["test"]))[0]
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_first_cell_names_the_extra(path: Path) -> None:
    first = json.loads(path.read_text(encoding="utf-8"))["cells"][0]
    assert first["cell_type"] == "markdown"
    assert NEEDS in "".join(first["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_import_comes_with_the_extra(path: Path) -> None:
    provided = requirements_of("notebooks")
    missing = set()
    for module in sorted(_imports(path)):
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or top in OURS:
            continue
        if _distribution(module) not in provided:
            missing.add(f"{module} ({_distribution(module)})")
    assert not missing, f"{path.name} imports what the notebooks extra does not install: {missing}"


def test_the_check_would_catch_a_missing_retriever() -> None:
    """`[all]` alone lacks the BM25 retriever that rag.ipynb imports: the check must say so."""
    assert _distribution("llama_index.retrievers.bm25") == "llama-index-retrievers-bm25"
    assert "llama-index-retrievers-bm25" not in requirements_of("all")
    assert "llama-index-retrievers-bm25" in requirements_of("notebooks")
