"""A model in a service whose client leaves mid-stream, as both adapters' disconnect tests build
it: its key has one slot, and its answer trickles long enough to be left unfinished."""

from __future__ import annotations

from typing import Any

from tests.support.models import PLAIN_MODEL

#: A question whose answer, at the trickle's pace, streams for about 9 s.
LONG = " ".join(f"word{i}" for i in range(40))
#: The scenario (not yet unique) of an answer streamed a word every 0.2 s, on every request.
TRICKLE = "trickle;delay=0.2;times=-1"


def one_slot(key: str) -> dict[str, Any]:
    """The fields of a model on `key` that holds its only slot while it streams."""
    return {
        "model": PLAIN_MODEL,
        "api_key": key,
        "max_concurrent_requests": 1,
        "acquire_timeout": 10,
    }
