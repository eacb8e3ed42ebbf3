"""The notebook comparison ignores a third-party package's warning and nothing else: a changed
print, and a warning from the notebook's own code or from our packages, still fail it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import nbformat

from tests.notebooks.cell_output import is_third_party, meaning, printed

SITE = Path(sys.prefix, "lib", "python3.10", "site-packages")
# What llama-index-core 0.14.5 makes pydantic print into a cell (one line, then the source line).
PYDANTIC_WARNING = (
    f"{SITE}/pydantic/_internal/_generate_schema.py:2249: UnsupportedFieldAttributeWarning: "
    "The 'validate_default' attribute with value True was provided to the `Field()` function, "
    "which has no effect in the context it was used.\n"
    "  warnings.warn(\n"
)
NOTEBOOK_WARNING = "/tmp/ipykernel_4242/1234567.py:3: UserWarning: the corpus is empty\n"
OUR_WARNING = (
    f"{SITE}/modelslab_transport/_client.py:88: DeprecationWarning: use max_tokens\n"
    "  warnings.warn(\n"
)


def _cell(stdout: str, stderr: str = "") -> Any:
    outputs = [nbformat.v4.new_output("stream", name="stdout", text=stdout)]
    if stderr:
        outputs.append(nbformat.v4.new_output("stream", name="stderr", text=stderr))
    return nbformat.v4.new_code_cell(source="print(answer)", outputs=outputs)


def _same(ran: Any, committed: Any) -> bool:
    return meaning(printed(ran)) == meaning(printed(committed))


def test_a_third_party_warning_is_ignored() -> None:
    committed = _cell("Paris\n")
    assert _same(_cell("Paris\n", PYDANTIC_WARNING), committed)
    assert _same(_cell("Paris\n", PYDANTIC_WARNING * 2 + "done\n"), _cell("Paris\n", "done\n"))


def test_a_changed_print_is_still_caught_beside_a_warning() -> None:
    committed = _cell("Paris\n")
    assert not _same(_cell("Lyon\n", PYDANTIC_WARNING), committed)
    assert not _same(_cell("Paris\nParis\n", PYDANTIC_WARNING), committed)
    # The notebook's own stderr after a warning block is still compared.
    assert not _same(_cell("Paris\n", PYDANTIC_WARNING + "retrying\n"), committed)


def test_the_notebooks_own_warnings_and_ours_are_still_compared() -> None:
    committed = _cell("Paris\n")
    assert not _same(_cell("Paris\n", NOTEBOOK_WARNING), committed)
    assert not _same(_cell("Paris\n", OUR_WARNING), committed)
    # A warning-shaped line the notebook prints to stdout is its own output.
    assert not _same(_cell("Paris\n" + PYDANTIC_WARNING), committed)


def test_third_party_is_an_installed_package_or_the_standard_library() -> None:
    assert is_third_party(f"{SITE}/llama_index/core/base.py")
    assert is_third_party("/usr/lib/python3/dist-packages/yaml/__init__.py")
    assert is_third_party(str(Path(sys.modules["json"].__file__ or "").resolve()))
    assert not is_third_party(f"{SITE}/llama_index_modelslab/base.py")
    assert not is_third_party("/tmp/ipykernel_4242/1234567.py")
    assert not is_third_party("<ipython-input-3-abc>")
