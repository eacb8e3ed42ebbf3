"""The `max_tokens` sent when the caller set none, and the one retry when a server refuses it.

ModelsLab defaults `max_tokens` to 1000: a reasoning model is cut inside its reasoning and the
caller gets an empty answer. So both adapters send a budget from the catalogue instead: the
model's output limit, but never more than the context the host serves minus the prompt. The
prompt is estimated offline, close to Mistral's tokenizer (calibrated by
`benchmarks/calibrate_tokens.py`), and a server that still refuses the size gets one retry with
the limit it states; what it stated is learned for that host and model (`_host_limits`).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .._errors import APIStatusError, ContextLengthExceededError, ModelsLabError
from ._catalog import UNKNOWN_MODEL_MAX_TOKENS, model_info
from ._host_limits import host_limits, learn_host_limits

__all__ = [
    "ESTIMATE_SLACK",
    "LETTERS_PER_TOKEN",
    "MAX_TOKENS_FLOOR",
    "PROMPT_MARGIN",
    "PUNCTUATION_PER_TOKEN",
    "REASONING_MAX_TOKENS_FLOOR",
    "SPACES_PER_TOKEN",
    "ChatPayload",
    "default_max_tokens",
    "estimate_prompt_tokens",
    "fill_max_tokens",
    "max_tokens_in",
    "max_tokens_sent",
    "needs_max_tokens",
    "resized_payload",
    "smaller_max_tokens",
]

logger = logging.getLogger("modelslab_transport")

#: Tokens kept free beside the estimated prompt: the estimate's error and what a chat template
#: adds (Magistral's template may prepend its ~200-token default system prompt).
PROMPT_MARGIN = 512
#: Part of the estimate kept free beside `PROMPT_MARGIN`: the estimate's error grows with the
#: prompt (a prompt 3 % denser than the calibration corpora must still fit).
ESTIMATE_SLACK = 0.03
#: The least `max_tokens` a default sends: below it the prompt nearly fills the context, and
#: the server's own answer (a refusal stating its limit, then one retry) decides.
MAX_TOKENS_FLOOR = 256
#: The floor for a model that reasons first: less would be spent inside the reasoning and
#: paid for as an empty answer, so near the edge a cheap refusal (then the exact room) is better.
REASONING_MAX_TOKENS_FLOOR = 2_048
#: ASCII letters per token. With the two ratios below, fitted to Mistral's tekken tokenizer
#: (`benchmarks/calibrate_tokens.py`): English prose, Markdown, Python and JSON all come out
#: within 0-13 % above the real count.
LETTERS_PER_TOKEN = 4.0
#: ASCII punctuation and symbols per token (they rarely merge).
PUNCTUATION_PER_TOKEN = 1.5
#: Spaces, tabs and newlines per token (most ride along with the next word).
SPACES_PER_TOKEN = 10.0
#: Tokens per message for the chat template's role and separator tokens.
_MESSAGE_OVERHEAD = 8
#: Tokens per image part: Pixtral-style encoders spend up to ~3,000 on a large image.
_IMAGE_TOKENS = 3_072
#: Tokens beside the prompt on a retry: the server counted the prompt exactly.
_RETRY_MARGIN = 16
_STATUSES = frozenset({None, 200, 400, 413, 422})
# One C-speed pass maps every ASCII byte to its class; `bytes.count` then counts each class.
_CLASSES = (
    bytes(
        ord("a")
        if chr(b).isalpha()
        else ord("0")
        if chr(b).isdigit()
        else ord(" ")
        if chr(b) in " \t\n\r"
        else ord(".")
        for b in range(128)
    )
    + b"." * 128
)


def estimate_prompt_tokens(
    messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]] | None = None
) -> int:
    """A prompt's tokens as Mistral's tokenizer counts them, estimated offline.

    A token per 4 ASCII letters, per 1.5 punctuation characters and per 10 spaces; one per
    digit and per other character (CJK is about that); four per emoji; `_IMAGE_TOKENS` per
    image. Every message counts its text (tool calls as their JSON) plus template overhead;
    each tool's JSON schema counts too.

    >>> estimate_prompt_tokens([{"role": "user", "content": "Hi"}]) >= 2
    True
    """
    total = 3  # beginning-of-sequence and the assistant's opening
    for message in messages:
        total += _MESSAGE_OVERHEAD + _message_tokens(message)
    for tool in tools or ():
        total += _MESSAGE_OVERHEAD + _text_tokens(_json(tool))
    return total


def default_max_tokens(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]] | None = None,
    *,
    base_url: str | None = None,
) -> int:
    """The `max_tokens` to send for `model` when the caller set none.

    For a catalogue model: its output limit, but at most the context the host serves (what it
    stated for `base_url`, else the catalogue's: Magistral 40,960) minus the estimated prompt
    (scaled by the host's learned count ratio) plus 3 % of it (`ESTIMATE_SLACK`) and
    `PROMPT_MARGIN` (512); when nothing was
    learned and the prompt does not fit the served context but fits the whole window, the
    window is budgeted against; never below `MAX_TOKENS_FLOOR` (`REASONING_MAX_TOKENS_FLOOR` for
    a model that reasons). For any other model: `UNKNOWN_MODEL_MAX_TOKENS`, within a learned
    served context.

    >>> default_max_tokens("mistralai-Magistral-Small-2506", [{"role": "user", "content": "Hi"}])
    40435
    >>> default_max_tokens("some-new-model", [{"role": "user", "content": "Hi"}])
    4096
    """
    info = model_info(model)
    learned = host_limits(base_url, model)
    if info is None and learned.served_context is None:
        return UNKNOWN_MODEL_MAX_TOKENS
    estimate = estimate_prompt_tokens(messages, tools)
    scaled = estimate * learned.prompt_ratio
    used = math.ceil(scaled * (1 + ESTIMATE_SLACK)) + PROMPT_MARGIN
    if info is None:
        assert learned.served_context is not None  # checked above
        room = learned.served_context - used
        return max(MAX_TOKENS_FLOOR, min(UNKNOWN_MODEL_MAX_TOKENS, room))
    floor = REASONING_MAX_TOKENS_FLOOR if info.reasons else MAX_TOKENS_FLOOR
    if learned.served_context is not None:
        room = learned.served_context - used
    else:
        room = info.context_limit - used
        if room < floor:
            room = info.context_window - used
    return max(min(floor, info.max_output_tokens), min(info.max_output_tokens, room))


class ChatPayload(dict[str, Any]):
    """A chat/completions body that knows whether its `max_tokens` is the default.

    `build_chat_payload` returns one. `max_tokens_defaulted` is True while `max_tokens` holds the
    value `fill_max_tokens` put in: the client may then resend the request once, smaller, when a
    server refuses that size and states its limit (`resized_payload`). A caller's own value (or
    one changed after the fill) is never resized; a plain `dict(payload)` copy forgets the fill.
    """

    #: The `max_tokens` `fill_max_tokens` put in, or None when the caller set the limit.
    filled_max_tokens: int | None = None

    @property
    def max_tokens_defaulted(self) -> bool:
        """Whether `max_tokens` is still the default filled in (one resize retry allowed)."""
        return self.filled_max_tokens is not None and self.get("max_tokens") == (
            self.filled_max_tokens
        )


def fill_max_tokens(payload: dict[str, Any], base_url: str | None = None) -> bool:
    """Give a chat payload the default `max_tokens` if it has none; True when it was added.

    `build_chat_payload` calls this (both adapters pass their base URL, so what that host
    stated is used), and a client calls it for a body that reaches it without a limit. A
    `ChatPayload` remembers the value, which allows one retry with a smaller value
    (`resized_payload`) if the server refuses the size. A caller's own value is never touched.
    """
    if not needs_max_tokens(payload):
        return False
    model = _model(payload)
    messages = payload.get("messages") or []
    filled = default_max_tokens(model, messages, _prompt_extras(payload), base_url=base_url)
    payload["max_tokens"] = filled
    if isinstance(payload, ChatPayload):
        payload.filled_max_tokens = filled
    return True


def needs_max_tokens(payload: Mapping[str, Any]) -> bool:
    """Whether a chat body sets no output limit (neither `max_tokens` nor
    `max_completion_tokens`): the server's 1000-token default would apply."""
    return payload.get("max_tokens") is None and payload.get("max_completion_tokens") is None


def max_tokens_sent(payload: Mapping[str, Any], base_url: str | None = None) -> int | None:
    """The `max_tokens` a client for `base_url` sends for `payload` (before any resize retry):
    the caller's, else the default (the one a body built for this `base_url` holds). What
    traces should record.

    >>> hi = [{"role": "user", "content": "Hi"}]
    >>> max_tokens_sent({"model_id": "some-new-model", "messages": hi})
    4096
    """
    if needs_max_tokens(payload):
        payload = ChatPayload(payload)
        fill_max_tokens(payload, base_url)
    return max_tokens_in(payload)


def max_tokens_in(body: Mapping[str, Any]) -> int | None:
    """The output limit a chat body sets: `max_tokens`, else `max_completion_tokens`."""
    value = body.get("max_tokens")
    if value is None:
        value = body.get("max_completion_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _model(payload: Mapping[str, Any]) -> str:
    return str(payload.get("model_id") or payload.get("model") or "")


def _prompt_extras(payload: Mapping[str, Any]) -> list[Any]:
    extras = list(payload.get("tools") or [])
    if isinstance(payload.get("response_format"), Mapping):
        extras.append(payload["response_format"])  # a JSON schema reaches the prompt too
    return extras


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
    text = _size_refusal(error)
    if text is None:
        return None
    stated = _stated_context(text, sent)
    if stated is not None:
        context, counted = stated
        smaller = context - counted - _RETRY_MARGIN
    else:
        limits = [_int(a or b) for a, b in _STATED_MAX.findall(text)]
        fitting = [value for value in limits if 0 < value < sent]
        smaller = min(fitting) if fitting else sent // 2
    return smaller if 0 < smaller < sent else None


def _size_refusal(error: ModelsLabError) -> str | None:
    """The lower-cased message of a refusal about the request's size, else None."""
    if not isinstance(error, APIStatusError) or error.status_code not in _STATUSES:
        return None
    text = error.message.lower()
    if not isinstance(error, ContextLengthExceededError) and not (
        "max_tokens" in text or "max_completion_tokens" in text or "max_new_tokens" in text
    ):
        return None
    return text


def _stated_context(text: str, sent: int) -> tuple[int, int] | None:
    """The served context and the prompt tokens a refusal states, if it states both."""
    total = _TOTAL_GIVEN.search(text)
    if total is not None:
        return _int(total[1]), _int(total[2])
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
    return _int(context[1]), counted


def resized_payload(
    error: ModelsLabError, payload: Mapping[str, Any], base_url: str | None = None
) -> ChatPayload:
    """`payload` with the smaller `max_tokens` `error` allows; raises `error` when none does.

    Called by the clients once, and only when the payload's `max_tokens` was our default
    (`ChatPayload.max_tokens_defaulted`: a caller's own value that is refused is the caller's
    to change). The served context and the
    prompt count the refusal states are learned for `base_url` and the model, so later
    defaults fit at once. Logged at WARNING: the model and both figures, never the key or a
    body.
    """
    sent = payload.get("max_tokens")
    if not isinstance(sent, int):
        raise error
    text = _size_refusal(error)
    stated = _stated_context(text, sent) if text is not None else None
    if stated is not None:
        model = _model(payload)
        estimate = estimate_prompt_tokens(payload.get("messages") or [], _prompt_extras(payload))
        context, counted = stated
        learn_host_limits(
            base_url, model, served_context=context, counted=counted, estimate=estimate
        )
    smaller = smaller_max_tokens(error, sent)
    if smaller is None:
        raise error
    logger.warning(
        "ModelsLab refused the default max_tokens=%d for %s (%s); retrying once with max_tokens=%d",
        sent,
        payload.get("model_id") or payload.get("model"),
        type(error).__name__,
        smaller,
    )
    return ChatPayload(payload, max_tokens=smaller)  # not resized again: not the default


# -- estimate helpers ---------------------------------------------------------------------------


def _text_tokens(text: str) -> int:
    # All C-speed counting, no Python loop over characters.
    if text.isascii():
        data, other, astral = text.encode("ascii"), 0, 0
    else:
        data = text.encode("ascii", "ignore")
        other = len(text) - len(data)
        astral = len(text.encode("utf-16-le")) // 2 - len(text)  # emoji: ~4 byte tokens each
    classes = data.translate(_CLASSES)
    letters = classes.count(b"a")
    digits = classes.count(b"0")
    spaces = classes.count(b" ")
    punctuation = len(data) - letters - digits - spaces
    words = (
        letters / LETTERS_PER_TOKEN
        + punctuation / PUNCTUATION_PER_TOKEN
        + spaces / SPACES_PER_TOKEN
    )
    return math.ceil(words) + digits + other + 3 * astral


def _message_tokens(message: Mapping[str, Any]) -> int:
    content = message.get("content")
    tokens = 0
    if isinstance(content, str):
        tokens = _text_tokens(content)
    elif isinstance(content, list):
        for part in content:
            if _is_image(part):
                tokens += _IMAGE_TOKENS  # not its base64 length: what the encoder spends
            elif isinstance(part, Mapping) and isinstance(part.get("text"), str):
                tokens += _text_tokens(part["text"])
            else:
                tokens += _text_tokens(_json(part))
    elif content is not None:
        tokens = _text_tokens(_json(content))
    calls = message.get("tool_calls")
    if calls:
        tokens += _text_tokens(_json(calls))
    return tokens


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _is_image(part: object) -> bool:
    return isinstance(part, Mapping) and part.get("type") in ("image_url", "image", "input_image")
