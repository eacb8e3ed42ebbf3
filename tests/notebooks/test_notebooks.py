"""Execute every notebook in notebooks/ top to bottom against the bundled emulator.

Each notebook runs in a fresh ``python3`` kernel started from this interpreter
(``sys.executable``), with ``MODELSLAB_API_KEY`` and ``MODELSLAB_BASE_URL`` removed from the
kernel's environment so that its first cell starts the emulator. A cell that raises fails the test,
and so does a cell whose output no longer means what the committed output shows a reader: each
code cell's printed lines must be the committed ones (as a multiset, since agents print from
concurrent tool calls in any order; a line holding a Python literal is compared as its value, so
dict order does not matter), and no output may contain a think tag. Warnings that installed
third-party packages print are left out of the comparison (cell_output.py).
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import ipykernel  # noqa: F401  (a test dependency: missing, the run must fail, not skip)
import nbclient
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import KernelManager

from tests.notebooks.cell_output import meaning, printed
from tests.support.doc_claims import THINK_TAG

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
EXPECTED = {"agents", "langchain_quickstart", "llama_index_quickstart", "rag"}
EMULATOR_BANNER = "MODELSLAB_API_KEY is not set: using the bundled ModelsLab emulator"


class _ThisInterpreterKernelSpecs(KernelSpecManager):
    """Serves one kernelspec, ``python3``, that runs ipykernel in this very interpreter.

    A fresh virtual environment has no installed kernelspec, and an installed one may point at
    another Python; this makes the kernel independent of both.
    """

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name="Python 3 (this interpreter)",
            language="python",
            resource_dir=str(NOTEBOOKS_DIR),
        )


def _kernel_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELSLAB_")}
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # silences a debugger warning on frozen modules
    return env


def test_all_notebooks_are_present() -> None:
    assert {p.stem for p in NOTEBOOKS} == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    committed = copy.deepcopy(notebook)
    manager = KernelManager(
        kernel_name="python3", kernel_spec_manager=_ThisInterpreterKernelSpecs()
    )
    client = nbclient.NotebookClient(
        notebook,
        km=manager,
        timeout=60,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
    )
    client.execute(env=_kernel_env())  # raises CellExecutionError on the first failing cell

    setup = next(cell for cell in notebook.cells if cell.cell_type == "code")
    first = "".join(out.get("text", "") for out in setup.outputs)
    assert EMULATOR_BANNER in first, "the first code cell must start the emulator without a key"
    errors = [
        out
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert not errors
    for index, (shown, ran) in enumerate(zip(committed.cells, notebook.cells, strict=True)):
        if ran.cell_type != "code":
            continue
        output, before = printed(ran), printed(shown)
        assert not THINK_TAG.search(output), f"cell {index}: a think tag reached the output"
        if sys.version_info < (3, 11) and 'end="|")' in "".join(ran.source):
            # LangGraph streams an async run's tokens from Python 3.11 on (asyncio tasks carry
            # the callback context only from then); before, each message comes whole, so the
            # committed token boundaries are not compared there, only the text.
            output, before = output.replace("|", ""), before.replace("|", "")
        assert meaning(output) == meaning(before), (
            f"cell {index} of {path.name} no longer shows its committed output:\n"
            f"--- committed\n{printed(shown)}\n--- now\n{output}"
        )
