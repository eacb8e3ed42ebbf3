"""The adapters' helpers never import their model class's module back (module level,
`TYPE_CHECKING` or inside a function), and the transport never imports its `adapters` package:
state is passed in, typed against the framework's base class."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HELPERS = {
    "langchain_modelslab/_structured.py": "langchain_modelslab.chat_models",
    "langchain_modelslab/_format_fallback.py": "langchain_modelslab.chat_models",
    "llama_index_modelslab/_structured.py": "llama_index_modelslab.base",
    "llama_index_modelslab/_format_fallback.py": "llama_index_modelslab.base",
}


def imported_modules(source: str, package: str) -> set[str]:
    """Every module an `import` statement anywhere in `source` (a module of `package`) names,
    relative imports resolved."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1]) if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _imports_of(path: Path) -> set[str]:
    return imported_modules(path.read_text(), ".".join(path.relative_to(ROOT).parent.parts))


@pytest.mark.parametrize(("helper", "model_module"), sorted(HELPERS.items()))
def test_helpers_do_not_import_the_model_class(helper: str, model_module: str) -> None:
    assert model_module not in _imports_of(ROOT / helper)


def test_the_transport_core_does_not_import_its_adapters_package() -> None:
    core = [p for p in (ROOT / "modelslab_transport").rglob("*.py") if "adapters" not in p.parts]
    assert core
    for path in core:
        names = _imports_of(path)
        assert not any(n.startswith("modelslab_transport.adapters") for n in names), path


def test_the_check_sees_a_type_checking_import_and_one_inside_a_function() -> None:
    hidden = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .chat_models import ChatModelsLab\n"
        "def f():\n    from ..llama_index_modelslab import base\n"
    )
    names = imported_modules(hidden, "langchain_modelslab")
    assert "langchain_modelslab.chat_models" in names
    assert "llama_index_modelslab.base" in names
