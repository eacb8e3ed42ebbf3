"""The async client's methods, unasynced by `SUBS`, must equal the sync client's, line by line
(httpcore's `unasync --check` idea, without a build step): a fix made in one client and not the
other fails here. Pool ownership (`__init__`, `close`/`aclose`, the async per-loop `_http`) is
outside the check by design."""

from __future__ import annotations

import ast
import difflib
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SUBS = [  # (async spelling, sync spelling), whole words, applied in this order
    ("AsyncModelsLabClient", "ModelsLabClient"),
    ("AsyncGenerator", "Generator"),
    ("AsyncHeldSlot", "HeldSlot"),
    ("async def", "def"),
    ("async with", "with"),
    ("async for", "for"),
    ("await ", ""),
    ("__aenter__", "__enter__"),
    ("__aexit__", "__exit__"),
    ("aclose", "close"),
    ("aread", "read"),
    ("aiter_bytes", "iter_bytes"),
    ("_hold_async", "_hold"),
    ("release_soon", "release"),
    ("asyncio.sleep", "time.sleep"),
    ("async-generator", "generator"),
    (r"Generator\[(\w+), None\]", r"Generator[\1, None, None]"),
]
OWN_POOL = {"__init__", "close", "aclose", "_http"}


def _word(regex: str) -> re.Pattern[str]:
    head = r"(?<!\w)" if re.match(r"\w", regex) else ""
    tail = r"(?!\w)" if re.search(r"\w$", regex) else ""
    return re.compile(head + regex + tail)


COMPILED = [(_word(spelling), sync) for spelling, sync in SUBS]


def unasync(line: str) -> str:
    for pattern, replacement in COMPILED:
        line = pattern.sub(replacement, line)
    return line


def methods(path: Path, cls: str) -> dict[str, list[str]]:
    """Each method's source lines (decorators included), keyed by its unasynced name."""
    text = path.read_text()
    lines = text.splitlines()
    node = next(n for n in ast.parse(text).body if isinstance(n, ast.ClassDef) and n.name == cls)
    found: dict[str, list[str]] = {}
    for f in node.body:
        if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.name not in OWN_POOL:
            first = min([f.lineno] + [d.lineno for d in f.decorator_list])
            found[unasync(f.name)] = lines[first - 1 : f.end_lineno]
    return found


def drift(root: Path) -> list[str]:
    """The unified diff of every method pair (empty: the twins agree)."""
    pkg = root / "modelslab_transport"
    sync = methods(pkg / "_client.py", "ModelsLabClient")
    asyn = methods(pkg / "_async_client.py", "AsyncModelsLabClient")
    out = [f"only in one client: {name}" for name in sorted(sync.keys() ^ asyn.keys())]
    for name in sorted(sync.keys() & asyn.keys()):
        out += difflib.unified_diff(
            sync[name],
            [unasync(line) for line in asyn[name]],
            f"sync {name}",
            f"unasync {name}",
            n=0,
            lineterm="",
        )
    return out


def test_the_clients_are_twins() -> None:
    assert "\n".join(drift(ROOT)) == ""


def test_the_twins_share_their_public_calls() -> None:
    names = methods(ROOT / "modelslab_transport" / "_client.py", "ModelsLabClient")
    assert {"chat", "stream_chat", "count_tokens", "list_models", "_send", "_open_stream"} <= set(
        names
    )


def _imported(path: Path) -> set[str]:
    """Every module `path` imports from its package (module level, TYPE_CHECKING, functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.add(node.module or "")
            if node.module is None:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in getattr(node, "names", [])]
            found.update(n.rpartition(".")[2] for n in names if n.startswith("modelslab_transport"))
    return found


def test_neither_client_imports_the_other() -> None:
    pkg = ROOT / "modelslab_transport"
    assert "_async_client" not in _imported(pkg / "_client.py")
    assert "_client" not in _imported(pkg / "_async_client.py")
    assert {"_base_client"} <= _imported(pkg / "_client.py") & _imported(pkg / "_async_client.py")


def _copy(tmp_path: Path) -> Path:
    pkg = tmp_path / "modelslab_transport"
    pkg.mkdir()
    for name in ("_client.py", "_async_client.py"):
        shutil.copy(ROOT / "modelslab_transport" / name, pkg / name)
    return pkg


def test_a_line_added_to_one_client_is_caught(tmp_path: Path) -> None:
    pkg = _copy(tmp_path)
    path = pkg / "_client.py"
    text = path.read_text()
    anchor = '        """Exact prompt token count from ModelsLab\'s count_tokens endpoint."""\n'
    assert text.count(anchor) == 1
    path.write_text(text.replace(anchor, anchor + "        x = 1\n"))
    assert "+        x = 1" not in drift(tmp_path)
    assert "-        x = 1" in drift(tmp_path)


def test_a_method_in_one_client_only_is_caught(tmp_path: Path) -> None:
    pkg = _copy(tmp_path)
    path = pkg / "_async_client.py"
    text = path.read_text()
    anchor = "    async def list_models(self)"
    path.write_text(
        text.replace(anchor, "    async def extra(self) -> None:\n        pass\n\n" + anchor)
    )
    assert drift(tmp_path) == ["only in one client: extra"]


def test_an_async_spelling_left_in_the_sync_client_is_caught(tmp_path: Path) -> None:
    pkg = _copy(tmp_path)
    path = pkg / "_client.py"
    text = path.read_text()
    assert text.count("time.sleep(delay)") >= 1
    path.write_text(text.replace("time.sleep(delay)", "asyncio.sleep(delay)", 1))
    assert any(line.startswith("-") and "asyncio.sleep" in line for line in drift(tmp_path))
