"""Execute every notebook in notebooks/ top to bottom against the bundled emulator.

Each notebook runs in a fresh ``python3`` kernel started from this interpreter
(``sys.executable``), with ``MODELSLAB_API_KEY`` and ``MODELSLAB_BASE_URL`` removed from the
kernel's environment so that its first cell starts the emulator. A cell that raises fails the test.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import ipykernel  # noqa: F401  (a test dependency: missing, the run must fail, not skip)
import nbclient
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import KernelManager

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
