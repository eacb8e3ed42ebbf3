"""Tool-call ids of one turn that share most of their text, and the check that what reached the
server kept them distinct and paired: for the transport and both adapters' tests.

Mistral-family back ends take only 9-alphanumeric ids and refuse a turn whose calls share one;
clients (OpenAI, Anthropic, LangChain, LlamaIndex) write longer ids that often differ only at
the end (`call_abc123xyz1`, `call_abc123xyz2`), so a normalisation that kept any fixed part of
them would merge two calls."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies as st

ID_FORM = re.compile(r"[a-zA-Z0-9]{9}")

# Two calls of one turn whose ids share all but a little: (first id, second id).
NAMED_PAIRS: dict[str, tuple[str, str]] = {
    "shared prefix": ("call_abc123xyz1", "call_abc123xyz2"),
    "shared suffix": ("1_call_abc123xyz", "2_call_abc123xyz"),
    "all but one character": ("call_Q7x9Lm2Pz4Kd8Rw", "call_Q7x9Lm2Pz5Kd8Rw"),
    "anthropic style": ("toolu_01A09q90qw90lq917835lq9", "toolu_01A09q90qw90lq917835lq8"),
    "case only": ("call_ABCdef123", "call_ABCdeF123"),
    "one already valid": ("abc123xyz", "abc123xyz_"),
}

_ID_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs",))
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _shared_prefix() -> st.SearchStrategy[tuple[str, str]]:
    # At least 9 alphanumerics in common before the ids differ.
    stem = st.from_regex(r"(call_|toolu_|)[a-zA-Z0-9]{9,24}", fullmatch=True)
    tails = st.lists(st.text(_ALNUM + "_-", min_size=1, max_size=4), min_size=2, max_size=2,
                     unique=True)  # fmt: skip
    return st.tuples(stem, tails).map(lambda p: (p[0] + p[1][0], p[0] + p[1][1]))


def _shared_suffix() -> st.SearchStrategy[tuple[str, str]]:
    heads = st.lists(st.text(_ALNUM, min_size=1, max_size=4), min_size=2, max_size=2, unique=True)
    stem = st.from_regex(r"_?[a-zA-Z0-9_-]{9,24}", fullmatch=True)
    return st.tuples(heads, stem).map(lambda p: (p[0][0] + p[1], p[0][1] + p[1]))


@st.composite
def _one_character_apart(draw: st.DrawFn) -> tuple[str, str]:
    base = draw(st.text(_ID_CHARS, min_size=1, max_size=40))
    at = draw(st.integers(0, len(base) - 1))
    other = draw(_ID_CHARS.filter(lambda c: c != base[at]))
    return base, base[:at] + other + base[at + 1 :]


def id_pairs() -> st.SearchStrategy[tuple[str, str]]:
    """Two distinct ids that share a long prefix, a long suffix, or all but one character."""
    return st.one_of(
        _shared_prefix(),
        _shared_suffix(),
        _one_character_apart(),
        st.sampled_from(list(NAMED_PAIRS.values())),
    )


def sent_turn(messages: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The tool-call ids of the (last) assistant turn with calls, and the `tool_call_id`s of the
    tool results after it, as they reached the server."""
    at = max(i for i, m in enumerate(messages) if m.get("tool_calls"))
    calls = [call["id"] for call in messages[at]["tool_calls"]]
    results = [m["tool_call_id"] for m in messages[at + 1 :] if m.get("role") == "tool"]
    return calls, results


def assert_distinct_and_paired(messages: list[dict[str, Any]], count: int) -> None:
    """The sent turn's `count` call ids are distinct, 9 alphanumerics each, and each tool result
    names its own call's id, in order."""
    calls, results = sent_turn(messages)
    assert len(calls) == count and len(set(calls)) == count, f"ids merged: {calls}"
    assert all(ID_FORM.fullmatch(call_id) for call_id in calls), calls
    assert results == calls, f"results {results} no longer pair with calls {calls}"
