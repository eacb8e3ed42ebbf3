"""What a notebook cell shows a reader, for comparing a run with the committed notebook.

`printed` is a cell's output, less the warnings that installed third-party packages emit: a
dependency's warning (llama-index-core 0.14.5 makes pydantic print an
`UnsupportedFieldAttributeWarning`) says nothing about what the notebook shows a reader, and it
comes and goes with the installed versions, so the comparison with the committed output leaves
it out. Only the warning blocks Python's `warnings` module writes to stderr are dropped, and only
when the warning's file lies in an installed package (site-packages, dist-packages or the
standard library) that is not ours: the notebook's own warnings, ours, and everything printed to
stdout are still compared.
"""

from __future__ import annotations

import ast
import os
import re
import sysconfig
from collections import Counter
from pathlib import PurePath
from typing import Any

# `warnings.formatwarning`: "FILE:LINE: Category: message", then the source line indented.
WARNING_HEADER = re.compile(r"^(?P<file>\S.*?):(?P<line>\d+): (?P<category>[A-Za-z_]\w*): ")
OUR_PACKAGES = frozenset(
    {"modelslab_transport", "langchain_modelslab", "llama_index_modelslab", "modelslab_emulator"}
)
INSTALLED_DIRS = frozenset({"site-packages", "dist-packages"})
STDLIB = os.path.normcase(sysconfig.get_paths()["stdlib"])


def is_third_party(file: str) -> bool:
    """Whether a warning raised in `file` comes from an installed package other than ours."""
    if not os.path.isabs(file):
        return False
    parts = PurePath(file).parts
    if OUR_PACKAGES.intersection(parts):
        return False
    installed = INSTALLED_DIRS.intersection(parts)
    return bool(installed) or os.path.normcase(file).startswith(STDLIB + os.sep)


def without_third_party_warnings(text: str) -> str:
    """`text` (a stderr stream) without the third-party warning blocks in it."""
    kept: list[str] = []
    dropping = False
    for line in text.splitlines(keepends=True):
        header = WARNING_HEADER.match(line)
        if header:
            dropping = is_third_party(header.group("file"))
        elif not (dropping and line[:1].isspace()):
            # The source line under a header is indented; anything else ends the block.
            dropping = False
        if not dropping:
            kept.append(line)
    return "".join(kept)


def printed(cell: Any) -> str:
    """A code cell's printed text and displayed results, as one string, third-party warnings
    left out."""
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            text = out.get("text", "")
            parts.append(
                without_third_party_warnings(text) if out.get("name") == "stderr" else text
            )
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(str(out.get("data", {}).get("text/plain", "")) + "\n")
    return "".join(parts)


def meaning(text: str) -> Counter[str]:
    """The lines of `text`, in any order; literals as their value, ports and ids masked."""
    lines: Counter[str] = Counter()
    for line in text.splitlines():
        line = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", line.rstrip())
        line = re.sub(r"\b(gen|chat|call|run|msg)[-_][\w-]+", r"\1-ID", line)
        try:
            value = ast.literal_eval(line)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            lines[line] += 1
        else:
            lines[repr(_sorted(value))] += 1
    return lines


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return sorted((repr(k), _sorted(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_sorted(v) for v in value]
    return value
