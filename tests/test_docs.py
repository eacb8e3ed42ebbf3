"""Every fenced code block of README.md and docs/*.md runs as written against the emulator, and
each Python block prints what it claims to show (its claim is in ``tests/doc_claims.py``).

How each kind of block is handled (one test case per block, named ``FILE:LINE-LANGUAGE-HEADING``):

* ``python`` blocks run unchanged in a fresh interpreter (a subprocess of this one), from the
  repository root, with ``MODELSLAB_BASE_URL`` and ``MODELSLAB_API_KEY`` pointing at the
  session's emulator (the ``modelslab_emulator`` fixture, which ``tests/conftest.py``'s
  ``emulator`` wraps) and no other ``MODELSLAB_`` variable. A block that defines ``test_``
  functions is a pytest module: it is written to a temporary directory and run with
  ``python -m pytest``, where the installed plugin provides its ``modelslab_emulator`` fixture.
  A non-zero exit fails the test. To keep the whole under a minute, the other blocks are not
  each started from scratch: one helper interpreter (this module run as
  ``python -m tests.test_docs --run-blocks``) imports the frameworks once and then forks a fresh
  child process per block, so that no block sees another's state; where ``os.fork`` is missing,
  each block gets its own new interpreter.
* ``bash`` blocks are checked line by line, and a line of any other kind fails the test:

  - ``bash scripts/NAME.sh ARGS``: the script must exist (running it would build a new
    ``.venv``); ``test.sh``'s arguments go to pytest (paths must exist, markers be declared),
    except ``--matrix``, its CI mode, which the script must have;
    ``bench.sh``'s must be options of ``benchmarks/run.py`` (after ``plan-limit``: of
    ``benchmarks/plan_limit.py``), ``conformance.sh``'s must parse.
  - ``pip install "modelslab-integrations[EXTRA]"``: every extra must be defined in
    pyproject.toml (nothing is installed).
  - ``python -m modelslab_emulator ARGS`` (with or without a trailing ``&``): started for real
    with ARGS, except that the port becomes ``0`` (any free port) so that a port already in use
    cannot fail the test; it must print its base URL first, and is then stopped.
  - ``[MODELSLAB_API_KEY=...] python -m modelslab_emulator.conformance ARGS``: the arguments
    must parse; with a key (a real run) they must say ``--yes``. (``tests/emulator/
    test_conformance.py`` runs the offline ones for real.)
  - ``export NAME=VALUE ...``: only ``MODELSLAB_API_KEY`` and ``MODELSLAB_BASE_URL`` may be
    set, a base URL must be an emulator URL on loopback, and its port must be the one the
    previous ``python -m modelslab_emulator`` line of the block serves.

* ``json`` blocks are data (a recorded exchange, an output) and must parse; ``text`` blocks and
  blocks without a language are drawings or listings. None of them is executed.
* A block in any other language fails the test. So do a relative link to a file that does not
  exist, or to a heading that the file does not have.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelslab_emulator import Emulator
from modelslab_emulator.conformance._cli import _parser as conformance_parser
from tests.support.doc_claims import check_output, unused_markers

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
BLOCK_TIMEOUT = 60
DATA_LANGUAGES = {"json", "text", ""}


@dataclass(frozen=True)
class Block:
    path: str  # relative to the repository root
    language: str
    code: str
    line: int  # where the block's code starts in its file
    heading: str

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.heading.lower()).strip("-")
        return f"{self.path}:{self.line}-{self.language or 'plain'}-{slug}"

    @property
    def is_pytest_module(self) -> bool:
        return re.search(r"^def test_", self.code, flags=re.MULTILINE) is not None


def _blocks(path: Path) -> list[Block]:
    blocks: list[Block] = []
    heading = ""
    name = str(path.relative_to(ROOT))
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        fence = re.match(r"^```(\S*)\s*$", line)
        if fence:
            end = lines.index("```", i + 1)
            code = "\n".join(lines[i + 1 : end]) + "\n"
            blocks.append(Block(name, fence.group(1), code, i + 2, heading))
            i = end
        i += 1
    return blocks


BLOCKS = [block for path in DOCS for block in _blocks(path)]
PYTHON_BLOCKS = [b for b in BLOCKS if b.language == "python"]
BASH_BLOCKS = [b for b in BLOCKS if b.language == "bash"]
DATA_BLOCKS = [b for b in BLOCKS if b.language in DATA_LANGUAGES]
OTHER_BLOCKS = [b for b in BLOCKS if b.language not in {"python", "bash", *DATA_LANGUAGES}]


def _env(base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELSLAB_")}
    env.update(MODELSLAB_BASE_URL=base_url, MODELSLAB_API_KEY="docs-test-key")
    return env


def _run_pytest_block(block: Block, base_url: str, tmp: Path) -> dict[str, object]:
    stem = re.sub(r"[^a-z0-9]+", "_", f"{block.path}_{block.line}".lower())
    path = tmp / f"test_docs_block_{stem}.py"
    path.write_text(block.code, encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)]
    try:
        done = subprocess.run(
            command, cwd=tmp, env=_env(base_url), capture_output=True, text=True, timeout=120
        )
    except subprocess.TimeoutExpired as exc:
        return {"returncode": -1, "stdout": str(exc.stdout), "stderr": "timed out"}
    return {"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr}


def _run_blocks(blocks: list[Block], base_url: str) -> dict[str, dict[str, object]]:
    """Run plain Python blocks through this module's forking runner (see ``_serve_blocks``)."""
    request = json.dumps([{"id": b.id, "code": b.code} for b in blocks])
    done = subprocess.run(
        # As a module of the `tests` package (cwd is the root), so its imports resolve.
        [sys.executable, "-m", "tests.test_docs", "--run-blocks"],
        input=request,
        cwd=ROOT,
        env=_env(base_url),
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT * len(blocks),
    )
    assert done.returncode == 0, done.stderr
    results: dict[str, dict[str, object]] = json.loads(done.stdout)
    return results


@pytest.fixture(scope="module")
def python_results(
    modelslab_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, object]]:
    """Every Python block's exit code and output, keyed by its id."""
    modelslab_emulator.clear()
    base_url = modelslab_emulator.base_url
    tmp = tmp_path_factory.mktemp("docs")
    modules = [b for b in PYTHON_BLOCKS if b.is_pytest_module]
    scripts = [b for b in PYTHON_BLOCKS if not b.is_pytest_module]
    with ThreadPoolExecutor(max_workers=max(1, len(modules))) as pool:
        pending = {b.id: pool.submit(_run_pytest_block, b, base_url, tmp) for b in modules}
        results = _run_blocks(scripts, base_url)
        results.update({key: future.result() for key, future in pending.items()})
    return results


def test_every_block_is_of_a_known_language() -> None:
    assert not OTHER_BLOCKS, [b.id for b in OTHER_BLOCKS]
    assert len({b.id for b in BLOCKS}) == len(BLOCKS)  # ids name one block each


def test_the_pages_have_their_examples() -> None:
    """A guard against a fence the collector stops recognising: the pages keep their examples."""
    count = {path: 0 for path in ("README.md", "docs/langchain.md", "docs/llama_index.md")}
    for block in PYTHON_BLOCKS:
        if block.path in count:
            count[block.path] += 1
    assert count["README.md"] >= 3  # the three quickstarts
    assert count["docs/langchain.md"] >= 8 and count["docs/llama_index.md"] >= 8
    assert len(PYTHON_BLOCKS) >= 30 and BASH_BLOCKS


def test_readme_starts_with_the_two_setup_commands() -> None:
    readme = [b for b in BLOCKS if b.path == "README.md"]
    assert readme[0].code == "bash scripts/demo.sh\n"
    assert readme[1].code == "bash scripts/test.sh\n"


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[b.id for b in PYTHON_BLOCKS])
def test_python_block_runs(block: Block, python_results: dict[str, dict[str, object]]) -> None:
    result = python_results[block.id]
    assert result["returncode"] == 0, (
        f"{block.path} line {block.line} failed (exit {result['returncode']}):\n{block.code}\n"
        f"--- stdout\n{str(result['stdout'])[-3000:]}\n--- stderr\n{str(result['stderr'])[-3000:]}"
    )
    check_output(block.code, str(result["stdout"]))  # and it printed what it claims to show


def test_every_claim_belongs_to_a_documented_block() -> None:
    assert not unused_markers(b.code for b in PYTHON_BLOCKS)


@pytest.mark.parametrize("block", DATA_BLOCKS, ids=[b.id for b in DATA_BLOCKS])
def test_data_block_is_well_formed(block: Block) -> None:
    if block.language == "json":
        json.loads(block.code)
    else:
        assert block.code.strip(), "an empty block"


# --- links ---------------------------------------------------------------------------------

LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {_anchor(h) for h in re.findall(r"^#+ (.*)$", text, flags=re.M)}


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_relative_links_resolve(path: Path) -> None:
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue  # https://, mailto: ...
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        missing_anchor = bool(anchor) and resolved.suffix == ".md"
        if not resolved.exists() or (missing_anchor and anchor not in _anchors(resolved)):
            broken.append(target)
    assert not broken, f"{path.name}: links to nothing: {broken}"


# --- bash blocks ---------------------------------------------------------------------------

PYPROJECT = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
# The extras this tree's pyproject.toml defines (the installed metadata may be an older tree's).
EXTRAS = set(
    re.findall(
        r"^([a-z-]+) = \[",
        PYPROJECT.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0],
        flags=re.MULTILINE,
    )
)
EMULATOR_URL = re.compile(r"^http://127\.0\.0\.1:(\d+)/api/v7/llm$")
# The markers declared in pyproject.toml's pytest section (`  "name: what it means",`).
MARKERS = set(re.findall(r'^\s+"([a-z_]+): ', PYPROJECT, flags=re.MULTILINE))
BENCH_OPTIONS = set(re.findall(r'"(--[a-z-]+)"', (ROOT / "benchmarks" / "run.py").read_text()))
PLAN_LIMIT_OPTIONS = set(
    re.findall(r'add_argument\("(--[a-z-]+)"', (ROOT / "benchmarks" / "plan_limit.py").read_text())
)


def _commands(code: str) -> Iterator[str]:
    """The block's commands: comments and blank lines dropped."""
    for raw in code.splitlines():
        line = re.sub(r"\s+#.*$", "", raw).strip()
        if line and not line.startswith("#"):
            yield line


def _run_emulator_command(args: list[str]) -> int:
    """Start ``python -m modelslab_emulator ARGS`` on a free port, check it serves, stop it.

    Returns the port the block's command asked for (what its ``export`` lines must use).
    """
    port = 8765  # the command's default
    args = list(args)
    if "--port" in args:
        at = args.index("--port") + 1
        port, args[at] = int(args[at]), "0"
    else:
        args += ["--port", "0"]
    process = subprocess.Popen(
        [sys.executable, "-m", "modelslab_emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline().strip()  # printed as soon as it serves
        assert EMULATOR_URL.match(first_line), f"unexpected first line: {first_line!r}"
    finally:
        process.send_signal(signal.SIGINT)
        # Wait for the exit itself: the limit only guards against a hang, however busy the
        # machine is (a short limit made this test fail under load, not the emulator).
        try:
            _, stderr = process.communicate(timeout=BLOCK_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
    assert process.returncode == 0, stderr
    assert "Ctrl-C to stop" in stderr  # it ran its serving loop, then stopped on SIGINT
    return port


@pytest.mark.parametrize("block", BASH_BLOCKS, ids=[b.id for b in BASH_BLOCKS])
def test_bash_block_is_valid(block: Block) -> None:
    emulator_port: int | None = None
    for command in _commands(block.code):
        words = shlex.split(command)
        if words[-1] == "&":
            words = words[:-1]
        env = words[: next(i for i, w in enumerate(words) if not re.match(r"^[A-Z_]+=", w))]
        words = words[len(env) :]
        assert not env or words[:3] == ["python", "-m", "modelslab_emulator.conformance"], command
        if words[:1] == ["bash"] and len(words) >= 2:
            assert (ROOT / words[1]).is_file(), f"{words[1]} does not exist"
            if words[1:] == ["scripts/test.sh", "--matrix"]:  # CI's mode: the script has it
                assert '"--matrix" ]' in (ROOT / words[1]).read_text(encoding="utf-8")
            elif words[1] == "scripts/test.sh":
                _check_pytest_arguments(words[2:])
            elif words[1] == "scripts/bench.sh":
                known = BENCH_OPTIONS
                if words[2:3] == ["plan-limit"]:
                    known, words = PLAN_LIMIT_OPTIONS, words[:2] + words[3:]
                options = {w.split("=")[0] for w in words[2:] if w.startswith("--")}
                assert options <= known, f"unknown option(s) {options - known}"
            elif words[1] == "scripts/conformance.sh":
                conformance_parser().parse_args(words[2:])
            else:
                assert len(words) == 2, f"no rule for arguments to {words[1]}"
        elif words[:2] == ["pip", "install"]:
            requested = re.findall(r"modelslab-integrations\[([^\]]+)\]", command)
            assert requested, f"not an install of this package: {command}"
            for extras in requested:
                unknown = set(extras.split(",")) - EXTRAS
                assert not unknown, f"unknown extra(s) {unknown} in {command}"
        elif words[:3] == ["python", "-m", "modelslab_emulator.conformance"]:
            parsed = conformance_parser().parse_args(words[3:])
            if env:  # a real run: it names the key and says --yes
                assert [e.split("=")[0] for e in env] == ["MODELSLAB_API_KEY"], command
                assert parsed.yes, command
        elif words[:3] == ["python", "-m", "modelslab_emulator"]:
            emulator_port = _run_emulator_command(words[3:])
        elif words[:1] == ["export"]:
            for assignment in words[1:]:
                name, _, value = assignment.partition("=")
                assert name in {"MODELSLAB_API_KEY", "MODELSLAB_BASE_URL"}, assignment
                if name == "MODELSLAB_BASE_URL":
                    match = EMULATOR_URL.match(value)
                    assert match, f"not an emulator URL: {value}"
                    assert int(match.group(1)) == emulator_port, "the URL names another port"
        else:
            pytest.fail(f"{block.path} line {block.line}: no rule to check {command!r}")


def _check_pytest_arguments(arguments: list[str]) -> None:
    """Arguments passed on to pytest: test paths must exist, markers must be declared."""
    previous = ""
    for argument in arguments:
        if previous == "-m":
            named = set(re.findall(r"[A-Za-z_]+", argument)) - {"not", "and", "or"}
            assert named <= MARKERS, f"undeclared marker(s) in {argument!r}"
        elif previous != "-k" and not argument.startswith("-"):
            assert (ROOT / argument.split("::")[0]).exists(), f"{argument} does not exist"
        previous = argument


# --- the forking runner (this file run as a script) ----------------------------------------

_PRELOAD = (
    "httpx",
    "pydantic",
    "modelslab_transport",
    "langchain_core.tools",
    "langchain_modelslab",
    "langchain.agents",
    "llama_index.core.agent.workflow",
    "llama_index.core.query_engine",
    "llama_index.retrievers.bm25",
    "llama_index_modelslab",
)


def _child(code: str, name: str, out: str, err: str) -> None:
    """In the forked child: run one block with its output in two files, then exit."""
    for fd, path in ((1, out), (2, err)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    status = 0
    try:
        exec(compile(code, name, "exec"), {"__name__": "__main__"})
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        status = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(status)


def _serve_blocks() -> None:
    """Read blocks as JSON on stdin; run each in a forked child; print results as JSON."""
    blocks = json.load(sys.stdin)
    if not hasattr(os, "fork"):  # pragma: no cover - Windows: one interpreter per block
        results = {}
        for b in blocks:
            done = subprocess.run(
                [sys.executable, "-c", b["code"]], capture_output=True, text=True, timeout=60
            )
            results[b["id"]] = {
                "returncode": done.returncode,
                "stdout": done.stdout,
                "stderr": done.stderr,
            }
        print(json.dumps(results))
        return
    for module in _PRELOAD:  # the slow part of every block, done once before forking
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    workdir = Path(tempfile.mkdtemp(prefix="docs-blocks-"))
    running: dict[int, tuple[dict[str, object], float]] = {}
    results: dict[str, dict[str, object]] = {}
    queue = list(blocks)
    workers = max(2, os.cpu_count() or 2)
    while queue or running:
        while queue and len(running) < workers:
            b = queue.pop(0)
            stem = re.sub(r"[^A-Za-z0-9]+", "_", b["id"])
            out, err = str(workdir / f"{stem}.out"), str(workdir / f"{stem}.err")
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _child(b["code"], b["id"], out, err)
            running[pid] = ({"id": b["id"], "out": out, "err": err}, time.monotonic())
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            for child, (_, started) in running.items():
                if time.monotonic() - started > BLOCK_TIMEOUT:
                    os.kill(child, signal.SIGKILL)
            time.sleep(0.02)
            continue
        info, _ = running.pop(pid)
        results[str(info["id"])] = {
            "returncode": os.waitstatus_to_exitcode(status),
            "stdout": Path(str(info["out"])).read_text(errors="replace"),
            "stderr": Path(str(info["err"])).read_text(errors="replace"),
        }
    print(json.dumps(results))


if __name__ == "__main__" and sys.argv[1:] == ["--run-blocks"]:
    _serve_blocks()
