"""ModelsLab's LLM API emulated on loopback: a real HTTP server for tests, demos and notebooks.

    from modelslab_emulator import Emulator
    with Emulator() as emu:                   # free loopback port; any non-empty key accepted
        emu.base_url                          # "http://127.0.0.1:PORT/api/v7/llm"

Endpoints (under ``/api/v7/llm``): ``POST /chat/completions`` (OpenAI-style, SSE when ``stream``
or ``streaming``), ``POST /v1/messages`` (Anthropic-style), ``POST /v1/messages/count_tokens``,
``GET /v1/models``. Auth: ``Authorization: Bearer K``, ``x-api-key: K`` or body ``"key"``.

The scripted model (deterministic)
----------------------------------
* Tokens are words: ``\\S+\\s*`` pieces. ``prompt_tokens`` = tokens of every message's text (plus
  the Anthropic ``system``); ``completion_tokens`` = reasoning + answer tokens (or the tokens of
  the tool-call argument JSON), times ``n``; ``completion_tokens_details.reasoning_tokens`` when
  the model reasoned. Magistral is served with a 40,960-token context (its card's advice): when
  prompt plus ``max_tokens`` exceed it, vLLM's 400 ``{"object":"error","message":"This model's
  maximum context length is 40960 tokens. However, you requested N tokens (P in the messages,
  M in the completion). ...","type":"BadRequestError","param":null,"code":400}``. Other models
  refuse a prompt over their 131,072 window (400 mentioning "maximum context length").
  ``Emulator(served_context=N)`` / ``--served-context N`` serve N tokens for every model.
* Answer: ``You said: <last user text>`` (text parts joined by a space; images ignored).
* Magistral ids (containing "magistral") think first, at length:
  ``<think>\\nThe user wrote N words. I will answer plainly. Let me check that once more. ...
  \\n</think>\\nYou said: ...`` with N the token count of the last user text and the last
  sentence 200 times (1,209 reasoning tokens in all; streamed 300 tokens a chunk).
  DeepSeek-R1-Distill thinks briefly, but its chat template opened ``<think>``, so its output
  carries only ``…\\n</think>\\n\\nYou said: ...``. Scenario ``reasoning-field`` puts the
  reasoning in ``reasoning_content``, ``reasoning-openrouter`` in ``reasoning``. Other models do
  not think (except under the reasoning-shape scenarios below).
  ``/v1/messages`` returns the reasoning as a ``thinking`` block.
* ``max_tokens`` caps reasoning + answer tokens (finish ``length``; a cut think block stays
  unclosed); without it the cap is 1000, the v7 API's default, which cuts Magistral's thought;
  ``stop`` cuts the answer before the earliest stop string; ``n`` repeats the choice.
* Tools (unless ``tool_choice`` is ``none``): a forced function is always called; ``required``
  calls the tools named in the last user message that have no result yet (else all named, else
  the first tool); ``auto`` calls the named tools without a ``role: tool`` result since the last
  user message (only the first if ``parallel_tool_calls`` is false). "Named" = the tool name
  appears as a whole identifier. Under ``required``, once tool results are in and no named tool
  is left to call, the one offered tool that was neither named nor answered is called (a
  structured agent's schema tool, e.g. LangChain's ``ToolStrategy``); with two or more such
  tools it calls the named ones again. Once answered: ``Based on the tool results: get_weather
  returned "sunny, 21C"; get_time returned "09:00".`` (Magistral thinks ``I have 2 tool results.
  I will use them.`` first). Tool-call ids are 9 alphanumerics from a hash of the conversation.
* Arguments (and ``json_schema`` answers) are synthesised from the schema: strings take the
  last user message's quoted strings in order ('..', "..", curly quotes), else capitalised words
  after in/for/of/named/called, else ``"example"`` (known ``format``s get fixed values);
  integers/numbers take the prompt's numbers in order (else the default, else 1, clamped);
  booleans ``true``; enums/const the first value; arrays ``max(1, minItems)`` items; objects their
  ``required`` properties (all properties when there is no ``required``; optional ones with a
  ``default`` get it); ``$ref``/``$defs``, ``anyOf``/``oneOf`` (first non-null), ``allOf``.
* ``json_object``: keys are the quoted strings of the last user message, each valued
  ``"<key> for: <user text>"``; else ``{"answer": "<user text>"}``. When a system message
  carries a JSON object schema (the first ``{...}`` in it with ``properties``), the answer is
  synthesised from that schema instead. No think block in JSON mode.
* Streams: ``: OPENROUTER PROCESSING`` comment, one chunk per token (role on the first), tool
  calls as a header fragment then ~8-character argument fragments, a finish chunk with an empty
  delta, a usage-only chunk (``choices: []``) when ``stream_options.include_usage``, ``[DONE]``.

Host profiles
-------------
``openrouter`` (the default, all of the above) or ``vllm``: ``Emulator(profile="vllm")``,
``--profile vllm``, or per request the scenario ``profile;name=vllm|openrouter`` (params:
``context_error=old|new``, default old). The vLLM profile is Magistral served by vLLM with
``--tokenizer_mode mistral`` (ModelsLab's ``together_ai`` group); for Mistral-tokenizer models
(catalogue field ``tokenizer``) it first keeps the last 9 characters of any longer tool-call
id, then refuses, before generating, with vLLM's 400 ``{"object":"error","message":M,
"type":"BadRequestError","param":null,"code":400}`` (``new``: ``{"error":{"message":M,...}}``)
and mistral-common's wording: a one-message conversation not user/system; a last assistant
message without ``prefix: true`` ("Expected last role User or Tool (or Assistant with prefix
True) for serving but got assistant"); a role after a role it may not follow (system → user,
assistant, system; user → assistant, system, user; assistant → assistant, user, tool; tool →
assistant, tool: "Unexpected role 'user' after role 'tool'"); results that do not pair with
the calls by id ("Duplicate tool call id X in assistant message", "... in tool results",
"Unexpected tool call id X in tool results", "Not the same number of function calls and
responses"); an assistant message whose content is null/""/[] and tool calls null/[]
("Assistant message must have either content or tool_calls, but not none."); an id not
``^[a-zA-Z0-9]{9}$`` ("Tool call id was X but must be a-z, A-Z, 0-9, with a length of 9.");
``prefix`` not on the last message. Prompt tokens are mistral-common's tekken
(``tekken_240911.json``, loaded once, lazily; without mistral_common: a token per digit and per
4 other bytes) plus 1 for ``<s>``, 3 per message and per tool call, and the tools' JSON;
``usage.prompt_tokens`` reports that count. Over the served context: old wording (above) or,
``new``, "'max_tokens' or 'max_completion_tokens' is too large: M. This model's maximum
context length is C tokens and your request has P input tokens (M > C - P).
(parameter=max_tokens, value=M)" (``param: "max_tokens"``), and for P >= C "This model's
maximum context length is C tokens. However, your request has P input tokens. Please reduce
the length of the input messages.". Magistral skips ``<think>`` when a system message is
present and none contains Mistral's reasoning prompt ("... first draft your thinking
process"). Ids ``chatcmpl-<32 hex>``; streams have no comment line. Other models keep the
OpenRouter rules and word counts.

Scenarios
---------
Header ``X-Emulator-Scenario: name;k=v;k2=v2, name2`` (unknown names get a 400). Any scenario
takes ``times=N`` (fire on the first N requests carrying this exact header value, then behave
normally; -1 = always; default 1 for rate-limit/server-error/html-502, -1 otherwise) and an
ignored ``id=...`` to make the header value unique. ``Emulator.clear()`` resets the counters.
Whole-reply faults (the first firing one wins, later ones are not counted):
``rate-limit;retry_after=S;header=0|1;date=1;retry_after_ms=MS;reset=1`` (429, body
``retry_after``, ``Retry-After`` header unless ``header=0``), ``server-error;status=5xx;
should_retry=true|false``, ``html-502;status=502|503|504`` (nginx HTML page),
``insufficient-credits`` (402), ``forbidden`` (403), ``processing`` (200 queue reply),
``redirect`` (302 to the same path with ``?redirected=1``, which is then served normally),
``error-200`` (``{"status":"error","message":"Provider returned error"}`` with HTTP 200; for
streams as the first data event), ``http-error;status=4xx|5xx;message=...`` (any JSON error,
e.g. 408/409/422/504), ``echo-key;status=N`` (an error whose message contains the caller's key,
to test that clients scrub it), ``error-string;status=N;message=...`` (``{"error": "<message>"}``,
a plain string, default 400). The ``/v1/messages*`` routes accept a query string (Claude Code
calls ``?beta=true``).
Reasoning shapes (any model then reasons first): ``thinking-blocks`` (Mistral's own API:
``content`` is a list ``[{"type":"thinking","thinking":[{"type":"text","text":…}]},
{"type":"text","text":…}]``; streamed, thinking deltas carry a one-block list and answer
deltas a string; usage on the finish chunk), ``unterminated-think``
(``<think>\\n<reasoning>\\n\\n<answer>``, never closed, finish ``stop``), ``close-only-think``
(``<reasoning>\\n</think>\\n\\n<answer>``). With a small ``max_tokens`` every shape is cut inside
the reasoning (finish ``length``, no answer).
Shaping: ``content-blocks``, ``reasoning-field``,
``reasoning-openrouter``, ``think-split``, ``multi-tool-chunk``, ``repeat-tool-id``,
``no-tool-index``, ``no-usage``, ``usage-on-last-chunk``, ``openai-error``, ``legacy-messege``,
``extra-fields``, ``chat-id`` (``chat-`` ids), ``content-filter`` (finish
``content_filter``), ``unicode`` (answer gains `` héllo 你好 🙂 \\u2028 \\u0085 ok``; bytes are
written cut inside every multi-byte character), ``crlf``, ``cr``, ``no-space``,
``multiline-data``, ``slow-first-byte;delay=S`` (default 1), ``hold-headers;delay=S``
(default 1: no response headers for S seconds, like a queue answering when a request's turn
comes; ends early, unanswered, when the client closes its side), ``trickle;delay=S`` (default
0.05, between events; stops writing when the client closes its side),
``queue-limit;max=N;retry_after=S`` (429 ``Rate limit exceeded. Maximum N queued requests
allowed.`` for a request arriving while N of its key are in flight;
a refused request is not counted in flight; it overrides ``Emulator(queue_limit=N,
queue_retry_after=S)`` / ``--queue-limit N --queue-retry-after S``, which apply to every
request), ``served-context;tokens=N`` (this request is served N tokens of
context: prompt + ``max_tokens`` over it gets vLLM's 400). Stream endings:
``error-mid-stream;after=K`` (K=3 content chunks,
then the error event, then ``[DONE]``), ``drop-mid-stream;after=K`` (K chunks then the socket is
shut without the terminating HTTP chunk; non-streaming: half of a Content-Length body),
``truncated;after=K`` (K chunks then a clean end, no finish, no ``[DONE]``), ``no-done``,
``finish-error;after=K`` (then a chunk with ``finish_reason: "error"`` and no error object, then
``[DONE]``; non-streaming: the choice finishes ``error``), ``object-error-mid-stream;after=K;
done=1|0;code=N`` (vLLM's ``{"object":"error",...}`` event, ``[DONE]`` after it unless
``done=0``), ``openrouter-error-mid-stream;after=K`` (one chunk with a top-level ``error`` and
``finish_reason: "error"``, then the end), ``cut-mid-line;after=K;abort=0|1`` (half of the next
``data:`` line, no line end, then a clean end or, ``abort=1``, a shut socket).
Upstream shapes: ``non-json-200;body=TEXT`` (HTTP 200 ``application/json`` whose body is
whitespace and ``.``; once by default), ``blank-lines-200`` (blank lines before a JSON body),
``openrouter-429;reset=S;retry_after=S;code_str=1`` (429 whose hints sit in
``error.metadata.headers``, ``X-RateLimit-Reset`` in epoch ms; once by default),
``status-success`` (``{"status":"success","message":<answer>}``, streamed requests too),
``count-tokens-missing`` (count_tokens answers ``{"token_count": N}``),
``comment-keepalive;count=N;delay=S`` (N ``: OPENROUTER PROCESSING`` lines S apart before the
first event; ``count=0``: S of silence after the headers), ``require-x-api-key`` (the ``/v1/``
endpoints refuse a request without ``x-api-key``). Always: differing ``x-api-key`` and Bearer
keys get a 401; roles other than system/user/assistant/tool, ``top_k`` < 1 and
``repetition_penalty`` outside 0.1-2 get ModelsLab-style 400s.
Refused formats: ``refuse-json-schema;status=200|4xx|5xx;message=...`` answers a request whose
``response_format.type`` is ``json_schema`` with ``{"status":"error","message":"Provider
returned error"}`` (default HTTP 200; a stream gets it as its only data event, then
``[DONE]``); ``refuse-json-mode`` (same parameters) refuses ``json_object`` too. Other
requests (no ``response_format``, or tools) are answered normally.

Inspection
----------
``emu.requests``: ``RecordedRequest``s in arrival order (header names lower-cased,
``Authorization``/``x-api-key`` values and the body's ``"key"`` replaced by ``[REDACTED]``).
``emu.max_in_flight``: ``{Emulator.fingerprint(key): highest simultaneous requests}``;
``emu.max_in_flight_total``: the same over all keys; ``emu.in_flight``: current counts;
``emu.rate_limited``: 429s sent per fingerprint; ``emu.open_streams``: streams whose
connection is still open (counted in when their headers go out, out when their last byte is
written or the server sees the client's side closed, which a ``trickle`` stream notices within
its delay). Another process reads them over HTTP (no key
needed, keys named by fingerprint only, never logged): ``GET /_emulator/stats``
(``emu.stats_url``) answers ``{"max_in_flight": {...}, "max_in_flight_total": N,
"rate_limited": {...}, "in_flight": {...}, "open_streams": {...}}``; ``?reset=1`` resets after
reading; ``POST /_emulator/reset`` resets.
"""

from __future__ import annotations

from ._emulator import Emulator
from ._log import RecordedRequest
from ._scenarios import HEADER as SCENARIO_HEADER

__all__ = ["SCENARIO_HEADER", "Emulator", "RecordedRequest"]
