"""The tool-call assembler: every fragment style real servers send."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelslab_transport import InvalidInputError
from modelslab_transport._events import ChoiceAccumulator, PartialToolCall, ToolCall, ToolCallDelta
from modelslab_transport._tool_calls import (
    ToolCallAssembler,
    generated_tool_call_id,
    normalize_tool_call_id,
    tool_choice_for_wire,
    wire_tool_call,
)


def frag(
    index: int | None = None,
    id: str | None = None,
    name: str | None = None,
    arguments: Any = None,
) -> dict[str, Any]:
    fragment: dict[str, Any] = {"type": "function", "function": {}}
    if index is not None:
        fragment["index"] = index
    if id is not None:
        fragment["id"] = id
    if name is not None:
        fragment["function"]["name"] = name
    if arguments is not None:
        fragment["function"]["arguments"] = arguments
    return fragment


def feed_all(chunks: list[list[dict[str, Any]]]) -> tuple[list[ToolCallDelta], list[ToolCall]]:
    assembler = ToolCallAssembler()
    deltas: list[ToolCallDelta] = []
    for chunk in chunks:
        deltas.extend(assembler.feed(chunk))
    deltas.extend(assembler.flush())
    return deltas, assembler.calls()


def rebuild(deltas: list[ToolCallDelta]) -> list[ToolCall]:
    calls: dict[int, list[Any]] = {}
    for delta in deltas:
        if delta.index not in calls:
            assert delta.id is not None
            assert delta.name is not None
            calls[delta.index] = [delta.id, delta.name, []]
        else:
            assert delta.id is None
            assert delta.name is None
        calls[delta.index][2].append(delta.arguments)
    return [ToolCall(c[0], c[1], "".join(c[2]) or "{}") for _, c in sorted(calls.items())]


def test_openai_style_fragments() -> None:
    deltas, calls = feed_all(
        [
            [frag(0, "call_1", "get_weather", "")],
            [frag(0, arguments='{"city"')],
            [frag(0, arguments=': "Paris"}')],
        ]
    )
    assert calls == [ToolCall("call_1", "get_weather", '{"city": "Paris"}')]
    assert deltas[0] == ToolCallDelta(0, "call_1", "get_weather", "")
    assert [d.arguments for d in deltas[1:]] == ['{"city"', ': "Paris"}']
    assert rebuild(deltas) == calls


def test_several_complete_calls_in_one_chunk() -> None:
    deltas, calls = feed_all(
        [[frag(0, "a", "f", '{"x":1}'), frag(1, "b", "g", '{"y":2}'), frag(2, "c", "h", "")]]
    )
    assert calls == [
        ToolCall("a", "f", '{"x":1}'),
        ToolCall("b", "g", '{"y":2}'),
        ToolCall("c", "h", "{}"),
    ]
    assert [d.index for d in deltas] == [0, 1, 2]
    assert rebuild(deltas) == calls


def test_id_and_name_repeated_on_every_fragment() -> None:
    deltas, calls = feed_all(
        [
            [frag(0, "call_9", "f", '{"a":')],
            [frag(0, "call_9", "f", "1}")],
            [frag(1, "call_10", "g", "{}")],
            [frag(1, "call_10", "g", "")],
        ]
    )
    assert calls == [ToolCall("call_9", "f", '{"a":1}'), ToolCall("call_10", "g", "{}")]
    assert rebuild(deltas) == calls
    assert sum(1 for d in deltas if d.name) == 2


def test_missing_index_matches_by_id() -> None:
    _, calls = feed_all(
        [
            [frag(id="a", name="f", arguments='{"x":')],
            [frag(id="b", name="g", arguments='{"y":')],
            [frag(id="a", arguments="1}")],
            [frag(id="b", arguments="2}")],
        ]
    )
    assert calls == [ToolCall("a", "f", '{"x":1}'), ToolCall("b", "g", '{"y":2}')]


def test_no_index_no_id_continues_the_last_call() -> None:
    _, calls = feed_all(
        [[frag(id="a", name="f", arguments='{"x"')], [frag(arguments=":1")], [frag(arguments="}")]]
    )
    assert calls == [ToolCall("a", "f", '{"x":1}')]


def test_sparse_server_indexes_become_dense() -> None:
    deltas, calls = feed_all([[frag(3, "a", "f", "{}")], [frag(7, "b", "g", "{}")]])
    assert [d.index for d in deltas] == [0, 1]
    assert [c.id for c in calls] == ["a", "b"]


def test_every_call_numbered_zero_but_distinct_ids() -> None:
    _, calls = feed_all(
        [
            [frag(0, "a", "f", '{"x":')],
            [frag(0, arguments="1}")],
            [frag(0, "b", "g", '{"y":2}')],
        ]
    )
    assert calls == [ToolCall("a", "f", '{"x":1}'), ToolCall("b", "g", '{"y":2}')]


def test_dict_arguments_are_dumped_compactly_and_replace() -> None:
    deltas, calls = feed_all(
        [
            [frag(0, "a", "f", {"city": "Zürich", "n": 2})],
            [frag(0, "a", "f", {"city": "Zürich", "n": 2})],
        ]
    )
    assert calls == [ToolCall("a", "f", '{"city":"Zürich","n":2}')]
    assert rebuild(deltas) == calls


def test_generated_id_is_deterministic_and_nine_alphanumerics() -> None:
    deltas, calls = feed_all([[frag(0, name="f", arguments="{}"), frag(1, name="g")]])
    ids = [c.id for c in calls]
    assert all(len(i) == 9 and i.isalnum() and i.isascii() for i in ids)
    assert ids[0] != ids[1]
    assert ids == [generated_tool_call_id(0, "f"), generated_tool_call_id(1, "g")]
    assert deltas[0].id == ids[0]
    assert feed_all([[frag(0, name="f", arguments="{}"), frag(1, name="g")]])[1] == calls


def test_name_arriving_after_first_fragment_is_held_until_known() -> None:
    assembler = ToolCallAssembler(choice=2)
    assert assembler.feed([frag(0, "a", arguments='{"x"')]) == []
    assert assembler.feed([frag(0, name="f", arguments=":1}")]) == [
        ToolCallDelta(0, "a", "f", '{"x":1}', choice=2)
    ]
    assert assembler.flush() == []


def test_flush_emits_a_call_that_never_got_a_name() -> None:
    assembler = ToolCallAssembler()
    assert assembler.feed([frag(0, "a", arguments="{}")]) == []
    assert assembler.flush() == [ToolCallDelta(0, "a", "", "{}")]
    assert assembler.calls() == [ToolCall("a", "", "{}")]


def test_non_dict_fragments_and_odd_values_are_ignored() -> None:
    _, calls = feed_all([[None, "x", frag("0", "a", "f", "{}")]])  # type: ignore[list-item, arg-type]
    assert calls == [ToolCall("a", "f", "{}")]


def test_empty_feed() -> None:
    assert feed_all([[]]) == ([], [])


# -- property: however the fragments are cut and styled, the calls come out the same --------

_call = st.tuples(
    st.sampled_from(["get_weather", "search", "f"]),
    st.dictionaries(st.sampled_from(["a", "city", "n"]), st.integers() | st.text(max_size=5)),
)


@settings(deadline=None, max_examples=200)
@given(
    calls=st.lists(_call, min_size=1, max_size=4),
    style=st.sampled_from(["openai", "repeat_id", "no_index", "sparse"]),
    cuts=st.lists(st.integers(min_value=0, max_value=50), max_size=6),
    group=st.integers(min_value=1, max_value=4),
)
def test_any_fragmentation_assembles_the_same_calls(
    calls: list[tuple[str, dict[str, Any]]], style: str, cuts: list[int], group: int
) -> None:
    fragments: list[dict[str, Any]] = []
    for position, (name, arguments) in enumerate(calls):
        text = json.dumps(arguments)
        points = sorted({c % (len(text) + 1) for c in cuts})
        pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
        call_id = f"call_{position}"
        index = position * 3 if style == "sparse" else position
        for n, piece in enumerate(pieces):
            first = n == 0
            fragments.append(
                frag(
                    None if style == "no_index" else index,
                    call_id if first or style in ("repeat_id", "no_index") else None,
                    name if first or style == "repeat_id" else None,
                    piece,
                )
            )
    chunks = [fragments[i : i + group] for i in range(0, len(fragments), group)]
    deltas, assembled = feed_all(chunks)
    expected = [
        ToolCall(f"call_{p}", name, json.dumps(arguments))
        for p, (name, arguments) in enumerate(calls)
    ]
    assert assembled == expected
    assert rebuild(deltas) == expected
    # One chunk holding every fragment gives the same result.
    assert feed_all([fragments])[1] == expected


def test_empty_fragments_make_no_call() -> None:
    assert feed_all([[{"type": "function"}, {"function": {}}], [{"index": 0}]]) == ([], [])
    _, calls = feed_all([[{"type": "function"}], [frag(0, "a", "f", "{}")]])
    assert calls == [ToolCall("a", "f", "{}")]


# -- tool_choice and history: the one rule both adapters use ---------------------------------

FORCED = {"type": "function", "function": {"name": "f"}}


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("any", "required"),
        (True, FORCED),  # one tool: that one
        ("f", FORCED),
        (FORCED, FORCED),
        ({"type": "tool", "name": "f"}, FORCED),  # Anthropic
        ({"name": "f"}, FORCED),
        ({"type": "any"}, "required"),
        (None, None),
        (False, None),
    ],
)
def test_tool_choice_spellings(choice: Any, wire: Any) -> None:
    assert tool_choice_for_wire(choice, ["f"]) == wire


def test_true_with_several_tools_is_required() -> None:
    assert tool_choice_for_wire(True, ["f", "g"]) == "required"


@pytest.mark.parametrize("choice", ["auto", "none", None, False])
def test_unforced_choice_without_tools_is_dropped(choice: Any) -> None:
    assert tool_choice_for_wire(choice, []) is None


@pytest.mark.parametrize("choice", ["required", "any", True, "f", FORCED, {"name": "f"}])
def test_forced_choice_without_tools_is_refused(choice: Any) -> None:
    with pytest.raises(InvalidInputError, match="was given without any tools"):
        tool_choice_for_wire(choice, [])


@pytest.mark.parametrize("choice", ["g", {"name": "g"}, {"type": "tool", "name": "g"}])
def test_choice_naming_an_unknown_tool_is_refused(choice: Any) -> None:
    with pytest.raises(InvalidInputError, match=r"names none of the tools given \(f\)"):
        tool_choice_for_wire(choice, ["f"])


@pytest.mark.parametrize("choice", [{"type": "function"}, 3, ["f"]])
def test_malformed_choice_is_refused(choice: Any) -> None:
    with pytest.raises(InvalidInputError, match="tool_choice"):
        tool_choice_for_wire(choice, ["f"])


def test_wire_tool_call_normalises_ids_and_dumps_arguments() -> None:
    call = wire_tool_call("call_abc", "f", {"city": "Zürich"}, position=1)
    assert call == {
        "id": normalize_tool_call_id("call_abc"),
        "type": "function",
        "function": {"name": "f", "arguments": '{"city": "Zürich"}'},
    }
    assert wire_tool_call("abc123XYZ", "f", "{}", position=0)["id"] == "abc123XYZ"
    assert wire_tool_call(None, "f", None, position=0)["function"]["arguments"] == "{}"


def test_id_less_calls_of_one_tool_get_distinct_stable_ids() -> None:
    first = wire_tool_call(None, "f", "{}", position=1, index=0)
    second = wire_tool_call(None, "f", "{}", position=1, index=1)
    later = wire_tool_call(None, "f", "{}", position=3, index=0)
    assert len({first["id"], second["id"], later["id"]}) == 3
    assert first == wire_tool_call(None, "f", "{}", position=1, index=0)


def test_choice_accumulator_assembles_tool_call_fragments() -> None:
    acc = ChoiceAccumulator()
    deltas, _ = feed_all(
        [
            [frag(0, "call_1", "f", '{"a"'), frag(1, "call_2", "g", "")],
            [frag(0, arguments=": 1}")],
        ]
    )
    assert all(acc.feed(delta) for delta in deltas)
    assert acc.tool_calls == [
        PartialToolCall("call_1", "f", '{"a": 1}'),
        PartialToolCall("call_2", "g", ""),
    ]
    assert [call.arguments for call in acc.result().tool_calls] == ['{"a": 1}', "{}"]
    assert not acc.feed(ToolCallDelta(0, None, None, "x", choice=1))  # another choice
