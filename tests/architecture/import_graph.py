"""The import graph of the four packages, from every import statement (module level,
TYPE_CHECKING, inside functions), and its circles (PLAN22 §2's script, importable)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGES = (
    "modelslab_transport",
    "langchain_modelslab",
    "llama_index_modelslab",
    "modelslab_emulator",
)
ROOT = Path(__file__).resolve().parents[2]


def module_files(root: Path, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Dotted module name -> file, for every `.py` under the packages."""
    return {
        ".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): p
        for pkg in packages
        for p in sorted((root / pkg).rglob("*.py"))
    }


def imported_names(mod: str, path: Path) -> list[str]:
    """Absolute dotted names of everything the module imports (`from x import y` -> `x.y`)."""
    here = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    out: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            parts = here[: len(here) - node.level + 1] if node.level else []
            base = ".".join([*parts, node.module or ""]).strip(".")
            out += [f"{base}.{a.name}" for a in node.names]
    return out


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the modules of the packages it imports."""
    files = module_files(root)
    edges: dict[str, set[str]] = {m: set() for m in files}
    for mod, path in files.items():
        for name in imported_names(mod, path):
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name and name != mod:
                edges[mod].add(name)
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = stack[stack.index(node) :]
                    del stack[stack.index(node) :]
                    if len(comp) > 1:
                        out.append(sorted(comp))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                work.append((child, iter(sorted(edges[child]))))
            elif child in stack:
                low[node] = min(low[node], index[child])
    return out


def describe(edges: dict[str, set[str]], comp: list[str]) -> str:
    return "; ".join(f"{m} -> {', '.join(sorted(edges[m] & set(comp)))}" for m in comp)


if __name__ == "__main__":
    found_edges = graph(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)
    found = circles(found_edges)
    for comp in found:
        print("circle:", describe(found_edges, comp))
    print(f"{len(found)} circle(s) among {len(found_edges)} modules")
    sys.exit(1 if found else 0)
