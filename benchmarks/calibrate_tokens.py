"""How close the transport's offline prompt estimate comes to Mistral's own tokenizer.

    python -m benchmarks.calibrate_tokens

Counts each corpus with the tekken tokenizer shipped in mistral-common's wheel
(`mistral_common/data/tekken_240911.json`, no download) and with
`modelslab_transport.models._budget._text_tokens`, and prints bytes per token and
estimate/real per corpus. The ratios in `_budget` (`LETTERS_PER_TOKEN`, `PUNCTUATION_PER_TOKEN`,
`SPACES_PER_TOKEN`) were chosen from this table: every text corpus within 0-15 % above.
mistral-common is in the `benchmark` and `test` extras only, never a runtime dependency.
"""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Callable
from pathlib import Path

from modelslab_transport.models._budget import _text_tokens

__all__ = ["corpora", "main", "tekken_counter"]

ROOT = Path(__file__).resolve().parent.parent
_CJK = (
    "\u6e2f\u53e3\u5c0f\u9547\u56f4\u7ed5\u7740\u4e00\u4e2a\u6d45\u6e7e\u53d1\u5c55\u8d77\u6765"
    "\uff0c\u51ac\u5929\u6e14\u8239\u5728\u8fd9\u91cc\u8eb2\u907f\u98ce\u66b4\u3002"
)


def tekken_counter() -> Callable[[str], int]:
    """Token count of a text by Mistral's tekken tokenizer (v3, 2024-09-11; Magistral's family)."""
    import mistral_common
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer

    path = Path(os.path.dirname(mistral_common.__file__)) / "data" / "tekken_240911.json"
    tokenizer = Tekkenizer.from_file(str(path))
    return lambda text: len(tokenizer.encode(text, bos=False, eos=False))


def _read(paths: list[Path]) -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(paths))


def corpora() -> dict[str, str]:
    """The texts measured: every one is on disk in a checkout (or in Python's own install)."""
    python_license = Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt"
    return {
        "English prose (RAG passages)": _read([ROOT / "tests" / "fixtures" / "rag_prose.txt"]),
        "English prose (Python's LICENSE)": python_license.read_text(encoding="utf-8"),
        "README markdown": _read([ROOT / "README.md"]),
        "docs markdown": _read(list((ROOT / "docs").glob("*.md"))),
        "Python code": _read(list((ROOT / "modelslab_transport").glob("*.py"))),
        "JSON (wire fixtures)": _read(list((ROOT / "tests" / "fixtures").rglob("*.json"))),
        "digits": "3141592653589793238462643383279502884197" * 25,
        "CJK": _CJK * 40,
    }


def main() -> None:
    count = tekken_counter()
    print("| corpus | bytes | tekken tokens | bytes/token | estimate | estimate/real |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, text in corpora().items():
        real = count(text)
        estimate = _text_tokens(text)
        size = len(text.encode())
        print(
            f"| {name} | {size:,} | {real:,} | {size / real:.2f} | {estimate:,} "
            f"| {estimate / real:.2f} |"
        )


if __name__ == "__main__":
    main()
