"""The packages' layers: no import circles, the emulator independent of the client packages,
the transport independent of the adapters, and the adapters on the transport's public names."""

from __future__ import annotations

import ast

import pytest

from tests.architecture.import_graph import PACKAGES, ROOT, circles, describe, graph, module_files

ADAPTERS = ("langchain_modelslab", "llama_index_modelslab")


def _circles_within(package: str) -> list[str]:
    edges = graph(ROOT)
    return [
        describe(edges, comp)
        for comp in circles(edges)
        if all(m == package or m.startswith(package + ".") for m in comp)
    ]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_circles(package: str) -> None:
    assert _circles_within(package) == []


def test_no_import_circle_among_the_four_packages() -> None:
    # Every import counts: module level, TYPE_CHECKING and inside functions.
    assert circles(graph(ROOT)) == []


def test_circle_finder_finds_a_circle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(edges) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_every_package_is_in_the_graph() -> None:
    edges = graph(ROOT)
    for package in PACKAGES:
        assert package in edges
    # The finder sees imports: the LangChain model reaches the transport.
    assert any(
        d.startswith("modelslab_transport") for d in edges["langchain_modelslab.chat_models"]
    )


def _imports_of(package: str) -> set[tuple[str, str]]:
    """(module, what it imports) for every module of `package`."""
    return {
        (mod, dep) for mod, deps in graph(ROOT).items() if mod.startswith(package) for dep in deps
    }


def test_emulator_imports_no_client_package() -> None:
    crossing = {
        (m, d)
        for m, d in _imports_of("modelslab_emulator")
        if not d.startswith("modelslab_emulator")
    }
    assert crossing == set()


def test_transport_imports_no_adapter() -> None:
    assert {
        (m, d) for m, d in _imports_of("modelslab_transport") if d.startswith(ADAPTERS)
    } == set()


def _private_uses(module: str, tree: ast.Module) -> list[str]:
    """Where an adapter module reaches a private module or name of `modelslab_transport`."""
    aliases = {"modelslab_transport"}
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "modelslab_transport":
                    aliases.add(a.asname or a.name)
                    if any(part.startswith("_") for part in a.name.split(".")):
                        found.append(f"{module}:{node.lineno} import {a.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "modelslab_transport":
                continue
            private = [a.name for a in node.names if a.name.startswith("_")]
            if private or any(part.startswith("_") for part in node.module.split(".")):
                names = ", ".join(a.name for a in node.names)
                found.append(f"{module}:{node.lineno} from {node.module} import {names}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{module}:{node.lineno} {node.value.id}.{node.attr}")
    return found


def test_adapters_import_only_public_transport_names() -> None:
    found = [
        use
        for module, path in module_files(ROOT, ADAPTERS).items()
        for use in _private_uses(module, ast.parse(path.read_text()))
    ]
    assert found == []


def test_private_use_finder_finds_private_uses() -> None:
    tree = ast.parse(
        "import modelslab_transport as mt\n"
        "from modelslab_transport._errors import rebuild_as\n"
        "from modelslab_transport import _secret, ModelsLabError\n"
        "from modelslab_transport import ModelsLabClient\n"
        "mt._client\n"
        "mt.ModelsLabClient\n"
    )
    assert [use.split(" ", 1)[0] for use in _private_uses("m", tree)] == ["m:2", "m:3", "m:5"]
