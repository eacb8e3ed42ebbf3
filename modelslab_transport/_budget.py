"""The `max_tokens` sent when the caller set none, and the one retry when a server refuses it.

ModelsLab defaults `max_tokens` to 1000: a reasoning model is cut inside its reasoning and the
caller gets an empty answer. So both adapters send a budget from the catalogue instead: the
model's output limit, but never more than the context the host serves minus the prompt. The
prompt is estimated offline, rounded up (a budget too small costs a little answer; one too big
costs the whole request), and a server that still refuses the size gets one retry with the
limit it states.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._catalog import UNKNOWN_MODEL_MAX_TOKENS, model_info
from ._errors import APIStatusError, ContextLengthExceededError, ModelsLabError

__all__ = [
    "MAX_TOKENS_FLOOR",
    "PROMPT_MARGIN",
    "default_max_tokens",
    "estimate_prompt_tokens",
    "fill_max_tokens",
    "resized_payload",
    "smaller_max_tokens",
]

logger = logging.getLogger("modelslab_transport")

#: Tokens kept free beside the estimated prompt: tokenizer differences and what a chat template
#: adds (Magistral's template may prepend its ~200-token default system prompt).
PROMPT_MARGIN = 512
#: The least `max_tokens` a default sends: below it the prompt nearly fills the context, and
#: the server's own answer (a refusal stating its limit, then one retry) decides.
MAX_TOKENS_FLOOR = 256
#: Tokens per message for the chat template's role and separator tokens.
_MESSAGE_OVERHEAD = 8
#: Tokens per image part: Pixtral-style encoders spend up to ~3,000 on a large image.
_IMAGE_TOKENS = 3_072
#: Tokens beside the prompt on a retry: the server counted the prompt exactly.
_RETRY_MARGIN = 16
_STATUSES = frozenset({None, 200, 400, 413, 422})
_DIGITS = "0123456789"


def estimate_prompt_tokens(
    messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None = None
) -> int:
    """An over-estimate of a prompt's tokens, offline: a token per 3 ASCII bytes, per digit,
    per other character (three per emoji), per image `_IMAGE_TOKENS`.

    Tokenizers give English about 4 bytes a token and CJK about a character; digits are one
    token each on Mistral's. Every message counts as the JSON of its fields (tool calls
    included) plus template overhead; each tool's JSON schema counts too.

    >>> estimate_prompt_tokens([{"role": "user", "content": "Hi"}]) >= 2
    True
    """
    total = 3  # beginning-of-sequence and the assistant's opening
    for message in messages:
        total += _MESSAGE_OVERHEAD + _text_tokens(_json(_without_images(message)))
        total += _IMAGE_TOKENS * _count_images(message.get("content"))
    for tool in tools or ():
        total += _MESSAGE_OVERHEAD + _text_tokens(_json(tool))
    return total


def default_max_tokens(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]] | None = None,
) -> int:
    """The `max_tokens` to send for `model` when the caller set none.

    For a catalogue model: its output limit, but at most the context a host serves (Magistral:
    40,960) minus the estimated prompt and `PROMPT_MARGIN` (512); when the prompt does not fit the
    served context but fits the whole window, the window is budgeted against; never below
    `MAX_TOKENS_FLOOR`. For any other model: `UNKNOWN_MODEL_MAX_TOKENS`.

    >>> default_max_tokens("mistralai-Magistral-Small-2506", [{"role": "user", "content": "Hi"}])
    40427
    >>> default_max_tokens("some-new-model", [{"role": "user", "content": "Hi"}])
    4096
    """
    info = model_info(model)
    if info is None:
        return UNKNOWN_MODEL_MAX_TOKENS
    used = estimate_prompt_tokens(messages, tools) + PROMPT_MARGIN
    room = info.context_limit - used
    if room < MAX_TOKENS_FLOOR:
        room = info.context_window - used
    return max(MAX_TOKENS_FLOOR, min(info.max_output_tokens, room))


def fill_max_tokens(payload: dict[str, Any]) -> bool:
    """Give a chat payload the default `max_tokens` if it has none; True when it was added.

    The clients call this on every chat payload, so both adapters share it; True allows one
    retry with a smaller value (`resized_payload`) if the server refuses the size. A caller's
    own value is never touched.
    """
    if payload.get("max_tokens") is not None or payload.get("max_completion_tokens") is not None:
        return False
    model = str(payload.get("model_id") or payload.get("model") or "")
    extras = list(payload.get("tools") or [])
    if isinstance(payload.get("response_format"), Mapping):
        extras.append(payload["response_format"])  # a JSON schema reaches the prompt too
    payload["max_tokens"] = default_max_tokens(model, payload.get("messages") or [], extras)
    return True


# -- the one retry ------------------------------------------------------------------------------

_NUMBER = r"(\d[\d,_]*)"
_CONTEXT = re.compile(r"(?:maximum context length|context length|context size) is " + _NUMBER)
_PROMPT = re.compile(
    _NUMBER + r" (?:tokens )?in the messages|request has " + _NUMBER + r" input tokens"
)
_REQUESTED = re.compile(r"you requested " + _NUMBER + r" tokens")
# TGI: "`inputs` tokens + `max_new_tokens` must be <= 32768. Given: 20 `inputs` tokens and …"
_TOTAL_GIVEN = re.compile(
    r"must be <= " + _NUMBER + r"\. given: " + _NUMBER + r" `?inputs`? tokens"
)
_STATED_MAX = re.compile(
    r"(?:at most|less than or equal to|<=|≤|no more than|not exceed|cannot exceed|maximum of|"
    r"maximum is|max(?:imum)? allowed is|up to|limit is)\s*:?\s*"
    + _NUMBER
    + r"|> ?"
    + _NUMBER
    + r", which is the maximum"
)


def _int(text: str) -> int:
    return int(text.replace(",", "").replace("_", ""))


def smaller_max_tokens(error: ModelsLabError, sent: int) -> int | None:
    """The `max_tokens` to retry with after `error` refused `sent`, or None when none fits.

    The limit the server states wins: its context minus the prompt it counted (vLLM, OpenAI,
    TGI phrasing), else its stated most output tokens; a refusal that names no figure gets half.
    Only a refusal about the size counts: a 400 (or an error body at 200) that names the
    context or `max_tokens`.

    >>> from modelslab_transport import ContextLengthExceededError as E
    >>> smaller_max_tokens(E("This model's maximum context length is 40960 tokens. However, you "
    ...     "requested 41000 tokens (40 in the messages, 40960 in the completion)."), 40960)
    40904
    """
    if not isinstance(error, APIStatusError) or error.status_code not in _STATUSES:
        return None
    text = error.message.lower()
    if not isinstance(error, ContextLengthExceededError) and not (
        "max_tokens" in text or "max_completion_tokens" in text or "max_new_tokens" in text
    ):
        return None
    smaller = _from_context(text, sent)
    if smaller is None:
        stated = [_int(a or b) for a, b in _STATED_MAX.findall(text)]
        fitting = [value for value in stated if 0 < value < sent]
        smaller = min(fitting) if fitting else sent // 2
    return smaller if 0 < smaller < sent else None


def _from_context(text: str, sent: int) -> int | None:
    total = _TOTAL_GIVEN.search(text)
    if total is not None:
        return _int(total[1]) - _int(total[2]) - _RETRY_MARGIN
    context = _CONTEXT.search(text)
    if context is None:
        return None
    prompt = _PROMPT.search(text)
    if prompt is not None:
        counted = _int(prompt[1] or prompt[2])
    else:
        requested = _REQUESTED.search(text)
        if requested is None:
            return None
        counted = _int(requested[1]) - sent
    return _int(context[1]) - counted - _RETRY_MARGIN


def resized_payload(error: ModelsLabError, payload: Mapping[str, Any]) -> dict[str, Any]:
    """`payload` with the smaller `max_tokens` `error` allows; raises `error` when none does.

    Called by the clients once, and only when the payload's `max_tokens` was our default (a
    caller's own value that is refused is the caller's to change). Logged at WARNING: the model
    and both figures, never the key or a body.
    """
    sent = payload.get("max_tokens")
    smaller = smaller_max_tokens(error, sent) if isinstance(sent, int) else None
    if smaller is None:
        raise error
    logger.warning(
        "ModelsLab refused the default max_tokens=%d for %s (%s); retrying once with max_tokens=%d",
        sent,
        payload.get("model_id") or payload.get("model"),
        type(error).__name__,
        smaller,
    )
    return {**payload, "max_tokens": smaller}


# -- estimate helpers ---------------------------------------------------------------------------


def _text_tokens(text: str) -> int:
    # ASCII: a token per 3 bytes rounds English (~4 a token) up; digits are a token apiece.
    # Other characters: a token each (CJK is about that), and emoji and other characters beyond
    # the BMP three (rarer, so split into byte tokens). All C-speed counting, no Python loop.
    ascii_bytes = len(text.encode("ascii", "ignore"))
    digits = sum(map(text.count, _DIGITS))
    other = len(text) - ascii_bytes
    astral = (len(text.encode("utf-16-le")) // 2 - len(text)) if other else 0
    return math.ceil((ascii_bytes - digits) / 3) + digits + other + 2 * astral


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _is_image(part: object) -> bool:
    return isinstance(part, Mapping) and part.get("type") in ("image_url", "image", "input_image")


def _count_images(content: object) -> int:
    return sum(1 for part in content if _is_image(part)) if isinstance(content, list) else 0


def _without_images(message: Mapping[str, Any]) -> Mapping[str, Any]:
    # An image's base64 data is not what the model reads: it is counted per image instead.
    content = message.get("content")
    if not isinstance(content, list) or not any(_is_image(part) for part in content):
        return message
    return {**message, "content": [part for part in content if not _is_image(part)]}
