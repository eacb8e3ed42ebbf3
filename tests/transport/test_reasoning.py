"""The inline-reasoning splitter: tags split anywhere, whitespace rules, fast path."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelslab_transport._reasoning import ThinkSplitter


def run(*pieces: str, opened: bool = False) -> tuple[str, str]:
    splitter = ThinkSplitter(opened=opened)
    answer: list[str] = []
    reasoning: list[str] = []
    for piece in pieces:
        a, r = splitter.feed(piece)
        answer.append(a)
        reasoning.append(r)
    a, r = splitter.close()
    return "".join([*answer, a]), "".join([*reasoning, r])


def reference(text: str, opened: bool = False) -> tuple[str, str]:
    """The one-shot meaning, written the obvious non-incremental way."""
    head = text.lstrip()
    for opening, closing in (("<think>", "</think>"), ("[THINK]", "[/THINK]")):
        if head.startswith(opening):
            rest = head[len(opening) :]
            end = rest.find(closing)
            if end < 0:
                return "", rest.strip()
            return rest[end + len(closing) :].lstrip(), rest[:end].strip()
    if opened and head:  # the template opened the block: reasoning up to `</think>`
        end = text.find("</think>")
        if end < 0:
            return "", text.strip()
        return text[end + len("</think>") :].lstrip(), text[:end].strip()
    return text, ""


def unterminated(*pieces: str, opened: bool = False) -> str | None:
    splitter = ThinkSplitter(opened=opened)
    for piece in pieces:
        splitter.feed(piece)
    splitter.close()
    return splitter.unterminated


CLOSED = [  # (text, (answer, reasoning))
    ("<think>\nWhy?\n</think>\n\nParis.", ("Paris.", "Why?")),
    ("  \n<think>a b</think>c", ("c", "a b")),
    ("[THINK]r[/THINK] ans", ("ans", "r")),
    ("Paris. <think>not reasoning</think>", ("Paris. <think>not reasoning</think>", "")),
    ("<think>unfinished reasoning ", ("", "unfinished reasoning")),
    ("<think></think>answer", ("answer", "")),
    ("<thinking>x", ("<thinking>x", "")),
    ("<thi", ("<thi", "")),
    ("", ("", "")),
    ("   ", ("   ", "")),
    ("<think>a </thin b</think>x", ("x", "a </thin b")),
    ("<think>a</think>", ("", "a")),
    ("[THINK]a</think>b", ("", "a</think>b")),
    ("<think>x[/THINK]y</think>z", ("z", "x[/THINK]y")),
]
# The chat template opened the block itself: reasoning runs up to `</think>`.
OPENED = [
    ("Why?\n</think>\n\nParis.", ("Paris.", "Why?")),
    ("  a b </think>c", ("c", "a b")),
    ("</think>answer", ("answer", "")),
    ("<think>x</think>y", ("y", "x")),  # a tag the model wrote itself is read as usual
    ("[THINK]x[/THINK]y", ("y", "x")),
    ("no closing tag", ("", "no closing tag")),
    ("<thi", ("", "<thi")),
    ("   ", ("   ", "")),
    ("", ("", "")),
    ("a</think>b</think>c", ("b</think>c", "a")),
]


@pytest.mark.parametrize(
    ("opened", "text", "expected"),
    [*((False, *case) for case in CLOSED), *((True, *case) for case in OPENED)],
)
def test_one_shot(opened: bool, text: str, expected: tuple[str, str]) -> None:
    assert run(text, opened=opened) == expected
    assert reference(text, opened=opened) == expected


def test_tags_split_character_by_character() -> None:
    text = "<think>\nLet me think.\n</think>\nThe answer."
    assert run(*text) == ("The answer.", "Let me think.")


def test_holds_back_only_a_possible_partial_tag() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("<think>abc") == ("", "abc")
    assert splitter.feed(" def </thi") == ("", " def")
    assert splitter.in_reasoning
    assert splitter.feed("nk>  Answer") == ("Answer", "")
    assert not splitter.in_reasoning
    assert splitter.feed(" more") == (" more", "")


def test_trailing_reasoning_whitespace_is_held_until_known() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("<think>a  \n") == ("", "a")
    assert splitter.feed("b") == ("", "  \nb")


def test_fast_path_without_tag_passes_text_through() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("Hello") == ("Hello", "")
    assert splitter.feed(" <think>") == (" <think>", "")
    assert splitter.close() == ("", "")


def test_leading_whitespace_and_partial_tag_held_at_start() -> None:
    splitter = ThinkSplitter()
    assert splitter.feed("\n ") == ("", "")
    assert splitter.feed("[TH") == ("", "")
    assert splitter.feed("INK]x") == ("", "x")


def test_close_is_idempotent() -> None:
    splitter = ThinkSplitter()
    splitter.feed("<think>abc")
    assert splitter.close() == ("", "")
    assert splitter.close() == ("", "")


_piece = st.sampled_from(
    [
        *("<think>", "</think>", "[THINK]", "[/THINK]", "<", "</", "</th", "[", "[/TH", ">", "]"),
        *(" ", "\n", "\t", "a", "b", "think", "THINK", "é", "\u2028"),
    ]
)


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


@settings(deadline=None, max_examples=500)
@given(parts=st.lists(_piece, max_size=20), cuts=st.lists(st.integers(min_value=0), max_size=10))
def test_any_split_gives_the_one_shot_result(parts: list[str], cuts: list[int]) -> None:
    text = "".join(parts)
    expected = run(text)
    assert expected == reference(text)
    assert run(*_split(text, cuts)) == expected


@settings(deadline=None, max_examples=200)
@given(text=st.text(max_size=40), cuts=st.lists(st.integers(min_value=0), max_size=6))
def test_arbitrary_text(text: str, cuts: list[int]) -> None:
    assert run(*_split(text, cuts)) == run(text) == reference(text)


def test_template_opened_split_character_by_character() -> None:
    text = "Let me think.\n</think>\n\nThe answer."
    assert run(*text, opened=True) == ("The answer.", "Let me think.")


def test_unterminated_holds_the_whole_open_block() -> None:
    assert unterminated("<think>\nStill ", "thinking ", " about it  ") == "Still thinking  about it"
    assert unterminated("Still ", "thinking", opened=True) == "Still thinking"
    assert unterminated("<think>a</think>b") is None
    assert unterminated("a</think>b", opened=True) is None
    assert unterminated("plain answer") is None
    assert unterminated("   ", opened=True) is None  # nothing was said: no open block


def test_expect_tags_before_content_turns_opened_off() -> None:
    splitter = ThinkSplitter(opened=True)
    splitter.expect_tags()
    assert splitter.feed("The answer") == ("The answer", "")
    late = ThinkSplitter(opened=True)
    late.feed("reasoning")
    late.expect_tags()  # too late: content already read as reasoning
    assert late.feed(" more") == ("", " more")


@settings(deadline=None, max_examples=500)
@given(
    parts=st.lists(_piece, max_size=20),
    cuts=st.lists(st.integers(min_value=0), max_size=10),
    opened=st.booleans(),
)
def test_any_split_gives_the_one_shot_result_in_both_modes(
    parts: list[str], cuts: list[int], opened: bool
) -> None:
    text = "".join(parts)
    expected = run(text, opened=opened)
    assert expected == reference(text, opened=opened)
    pieces = _split(text, cuts)
    assert run(*pieces, opened=opened) == expected
    # The open block's text is the whole reasoning, however the content was split.
    left_open = unterminated(*pieces, opened=opened)
    assert left_open == unterminated(text, opened=opened)
    if left_open is not None:
        assert left_open == expected[1]
