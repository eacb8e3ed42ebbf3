"""`normalize_tool_call_id` and `wire_tool_call`: every id becomes 9 alphanumerics, stably, and
distinct ids of one turn stay distinct whatever they share (see tests/tool_call_ids.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelslab_transport import normalize_tool_call_id, wire_tool_call
from tests.support.tool_call_ids import ID_FORM, NAMED_PAIRS, assert_distinct_and_paired, id_pairs


@given(st.text(max_size=60))
def test_every_id_becomes_nine_alphanumerics_and_stays_so(raw: str) -> None:
    normalised = normalize_tool_call_id(raw)
    assert ID_FORM.fullmatch(normalised)
    assert normalize_tool_call_id(raw) == normalised  # stable: the next turn sends it again
    assert normalize_tool_call_id(normalised) == normalised  # a normalised id is kept


@pytest.mark.parametrize("pair", NAMED_PAIRS.values(), ids=list(NAMED_PAIRS))
def test_ids_that_share_all_but_a_little_stay_distinct(pair: tuple[str, str]) -> None:
    first, second = (normalize_tool_call_id(raw) for raw in pair)
    assert first != second
    assert ID_FORM.fullmatch(first) and ID_FORM.fullmatch(second)


@given(id_pairs())
def test_any_two_distinct_ids_stay_distinct(pair: tuple[str, str]) -> None:
    assert normalize_tool_call_id(pair[0]) != normalize_tool_call_id(pair[1])


@given(st.lists(id_pairs(), min_size=1, max_size=4))
def test_a_turn_of_many_calls_keeps_each_result_paired(pairs: list[tuple[str, str]]) -> None:
    raw = list(dict.fromkeys(raw_id for pair in pairs for raw_id in pair))
    turn = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            wire_tool_call(raw_id, "f", {"i": i}, position=1, index=i)
            for i, raw_id in enumerate(raw)
        ],
    }
    results = [
        {"role": "tool", "content": str(i), "tool_call_id": normalize_tool_call_id(raw_id)}
        for i, raw_id in enumerate(raw)
    ]
    assert_distinct_and_paired([{"role": "user", "content": "go"}, turn, *results], len(raw))
