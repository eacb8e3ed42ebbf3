"""ModelsLabLLM: ModelsLab's chat models as a LlamaIndex function-calling LLM."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from contextlib import aclosing, closing
from functools import lru_cache
from operator import itemgetter
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import BaseModel, Field, PrivateAttr
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.prompts import BasePromptTemplate, PromptTemplate
from llama_index.core.types import Model, PydanticProgramMode, TokenAsyncGen, TokenGen
from pydantic import SecretStr

from modelslab_transport import DEFAULT_MODEL, ClientSettings, StreamEvent, build_chat_payload
from modelslab_transport.adapters import (
    SETTINGS_FIELDS,
    ClientCache,
    TransportFields,
    cached_settings,
    private_state,
    settings_from_fields,
)
from modelslab_transport.models import (
    UNKNOWN_MODEL_MAX_TOKENS,
    ModelInfo,
    StructuredMethod,
    model_info,
    sampling_defaults,
    validate_params,
)

from ._clients import InjectedHTTP
from ._format_fallback import MethodChain
from ._kwargs import CALL_SWITCHES, check_call_kwargs, check_init_kwargs
from ._streaming import ChatStream, TextChunks
from ._structured import (
    StructuredCall,
    apredict_structured,
    astream_structured,
    predict_structured,
    stream_structured,
)
from .utils import (
    chat_to_completion_response,
    completion_to_chat_response,
    force_single_tool_call,
    model_context_window,
    resolve_tool_choice,
    to_wire_messages,
    to_wire_tools,
    tool_selections_from_response,
)

if TYPE_CHECKING:
    import httpx
    from llama_index.core.program.utils import FlexibleModel
    from llama_index.core.tools.types import BaseTool

    from modelslab_transport import AsyncModelsLabClient, ModelsLabClient

__all__ = ["ModelsLabLLM"]


class ModelsLabLLM(FunctionCallingLLM, TransportFields):
    """ModelsLab's LLM API (Magistral Small 2506 and friends) as a LlamaIndex LLM.

    Chat, completion and streaming (sync and async), tool calling for agents, structured
    prediction (function calling by default; `structured_output_method="json_schema"` asks for
    a `json_schema` response format and falls back to JSON mode, then function calling, if the
    provider refuses it), reasoning kept apart from the answer as a ThinkingBlock. Requests go
    through `modelslab_transport` (retries, typed errors, per-key concurrency limit); the API
    key is private and never serialised.

    Example:
        ```python
        from llama_index.core import Settings
        from llama_index_modelslab import ModelsLabLLM

        Settings.llm = ModelsLabLLM()  # key from MODELSLAB_API_KEY
        print(Settings.llm.complete("Name the capital of France."))
        ```
    """

    model: str = Field(default=DEFAULT_MODEL, min_length=1, description="ModelsLab model id.")
    base_url: str = Field(default="", description="API base URL (MODELSLAB_BASE_URL).")
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="Sampling temperature; None: the model card's."
    )
    max_tokens: int | None = Field(
        default=None,
        ge=1,
        description="Most tokens to generate, thinking included; None: the catalogue's default "
        "for the model, within the served context minus the prompt (docs/models.md).",
    )
    top_p: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Nucleus sampling; None: the model card's."
    )
    context_window: int | None = Field(
        default=None, ge=1, description="Usable context window; None: the catalogue's."
    )
    timeout: float | None = Field(
        default=None, gt=0, description="Read/write timeout in seconds (connect stays 5 s)."
    )
    # Timeouts, retries, the in-flight limit and reasoning_in_history: `TransportFields`.
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra request parameters (seed, stop, top_k, ...)."
    )
    default_headers: dict[str, str] | None = Field(
        default=None, exclude=True, description="Extra HTTP headers sent with every request."
    )
    is_function_calling_model: bool = Field(
        default=True, description="Whether the model supports tool calling."
    )
    structured_output_method: StructuredMethod = Field(
        default="function_calling",
        description="How structured prediction asks for its object; a refused json_schema or "
        "JSON mode falls back to the next method (JSON mode, then function calling).",
    )

    _api_key: SecretStr = PrivateAttr()
    _http: InjectedHTTP = PrivateAttr(default_factory=InjectedHTTP)
    _clients: ClientCache = PrivateAttr(default_factory=ClientCache)
    _memo: tuple[tuple[Any, ...], ClientSettings] | None = PrivateAttr(default=None)
    # (model, structured_output_method) -> the method that worked after a format refusal
    _structured_memo: dict[tuple[str, str], StructuredMethod] = PrivateAttr(default_factory=dict)

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        api_key: str | SecretStr | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        """Every field above is a keyword; `api_key` (default `MODELSLAB_API_KEY`) is kept
        private, the httpx clients are yours to close."""
        # Aliases (api_base, request_timeout) resolved, unknown keywords refused with a hint.
        kwargs = check_init_kwargs(kwargs, type(self).model_fields)
        # Key, URL, timeouts and limits checked first (the one check), so a mistake shows at
        # construction as a typed error; the key and URL are resolved from the environment now.
        settings = settings_from_fields(SimpleNamespace(**kwargs), api_key=api_key)
        if kwargs.get("additional_kwargs", {}) is None:
            del kwargs["additional_kwargs"]  # None means none, as it always has
        # Documented ranges (top_k >= 1, repetition_penalty 0.1-2, ...) refused up front.
        validate_params(kwargs.get("additional_kwargs") or {})
        super().__init__(model=model, **{**kwargs, "base_url": settings.base_url})
        self._api_key = SecretStr(settings.api_key.get_secret_value())
        self._http = InjectedHTTP(http_client, async_http_client)

    @classmethod
    def class_name(cls) -> str:
        return "ModelsLabLLM"

    @property
    def metadata(self) -> LLMMetadata:
        """Window, output room and tool support from the transport's catalogue."""
        return _metadata(*self._metadata_key())

    def _metadata_key(self) -> tuple[str, int | None, int | None, bool]:
        return (self.model, self.context_window, self.max_tokens, self.is_function_calling_model)

    # -- clients ------------------------------------------------------------------------------

    # Settings are read from the fields per request, so a changed field (`llm.max_retries = 0`,
    # `llm.base_url = ...`) is used by the next call; the cache keeps one client per settings.
    # LlamaIndex does not validate assignment: a bad value fails typed at the next request.
    def _settings(self) -> ClientSettings:
        private = private_state(self)
        key = private["_api_key"]
        return cached_settings(self, private, (key, *_settings_values(self.__dict__)), api_key=key)

    def _call_settings(self, timeout: float | None = None) -> ClientSettings:
        """This call's settings: a per-call `timeout=` replaces the field's for this request."""
        if timeout is None:
            return self._settings()
        return settings_from_fields(self, api_key=self._api_key, timeout=timeout)

    def _get_client(self, timeout: float | None = None) -> ModelsLabClient:
        clients, http, args = self._client_args(timeout)
        return clients.sync(args[0], http.sync, *args[1:])

    def _get_aclient(self, timeout: float | None = None) -> AsyncModelsLabClient:
        clients, http, args = self._client_args(timeout)
        return clients.async_(args[0], http.async_, *args[1:])

    def _client_args(
        self, timeout: float | None
    ) -> tuple[ClientCache, InjectedHTTP, tuple[Any, ...]]:
        # The cache, the injected httpx clients, and (settings, limiter URL, fallback).
        private, fields = private_state(self), self.__dict__
        args = (self._call_settings(timeout), fields["limiter_url"], fields["limiter_fallback"])
        return private["_clients"], private["_http"], args

    def close(self) -> None:
        """Close the sync connection pools (injected httpx clients are left to their owner)."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close every connection pool."""
        await self._clients.aclose()

    def __getstate__(self) -> dict[Any, Any]:
        # LlamaIndex's BaseComponent drops unpicklable private attributes from the live object;
        # our unpicklable state (connections) pickles as empty holders instead.
        state = BaseModel.__getstate__(self)
        return {**state, "__pydantic_private__": dict(state["__pydantic_private__"] or {})}

    def __setstate__(self, state: dict[Any, Any]) -> None:
        # Restore as pickled (BaseComponent would re-run __init__ and re-read the key from env).
        BaseModel.__setstate__(self, state)

    # -- payload ------------------------------------------------------------------------------

    def _payload(
        self, messages: Sequence[ChatMessage], *, stream: bool, **kwargs: Any
    ) -> dict[str, Any]:
        """The checked request body; without `max_tokens` it holds the catalogue's default for
        the model and this host. Unknown keywords are refused; `extra_body` is sent as given."""
        params: dict[str, Any] = sampling_defaults(self.model)  # a fresh dict
        for name, value in (
            ("temperature", self.temperature),
            ("max_tokens", self.max_tokens),
            ("top_p", self.top_p),
        ):
            if value is not None:  # None means unset, so the catalogue's default stays
                params[name] = value
        params.update(self.additional_kwargs)
        if kwargs:  # most calls pass none: nothing to check
            check_call_kwargs(kwargs, self.additional_kwargs)
            kwargs.pop("timeout", None)  # a transport setting (see _call_settings), not a field
            extra_body = kwargs.pop("extra_body", None) or {}
            params.update({k: v for k, v in kwargs.items() if k not in CALL_SWITCHES})
            params.update(extra_body)
        tools = params.get("tools")
        if tools:
            params["tools"] = tools = [
                tool if isinstance(tool, Mapping) else to_wire_tools([tool])[0] for tool in tools
            ]
        else:
            params.pop("tools", None)
            params.pop("parallel_tool_calls", None)
        # The transport's one rule: auto/none without tools is dropped, a forced choice refused.
        choice = resolve_tool_choice(params.pop("tool_choice", None), False, _names(tools or ()))
        if choice is not None:
            params["tool_choice"] = choice
        wire = to_wire_messages(messages, reasoning_in_history=self.reasoning_in_history)
        base_url = self._settings().base_url  # the default max_tokens is sized for this host
        return build_chat_payload(self.model, wire, stream=stream, base_url=base_url, **params)

    # -- chat ---------------------------------------------------------------------------------

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return self._chat(messages, **kwargs)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        return self._stream_chat(messages, **kwargs)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        return await self._achat(messages, **kwargs)

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        return self._astream_chat(messages, **kwargs)

    def _chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        payload = self._payload(messages, stream=False, **kwargs)
        client = self._get_client(kwargs.get("timeout"))
        return completion_to_chat_response(client.chat(payload))

    async def _achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        payload = self._payload(messages, stream=False, **kwargs)
        client = self._get_aclient(kwargs.get("timeout"))
        return completion_to_chat_response(await client.chat(payload))

    def _stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        payload = self._payload(messages, stream=True, **kwargs)  # bad input fails here
        # The generator is made now and runs from the first chunk asked for.
        return _responses(self._get_client(kwargs.get("timeout")).stream_chat(payload))

    def _astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
        payload = self._payload(messages, stream=True, **kwargs)
        return _aresponses(self._get_aclient(kwargs.get("timeout")).stream_chat(payload))

    # -- completion ---------------------------------------------------------------------------

    def _prompt_messages(self, prompt: str) -> list[ChatMessage]:
        return [ChatMessage(role=MessageRole.USER, content=prompt)]

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return chat_to_completion_response(self._chat(self._prompt_messages(prompt), **kwargs))

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        responses = self._stream_chat(self._prompt_messages(prompt), **kwargs)

        def gen() -> Generator[CompletionResponse, None, None]:
            chunks = TextChunks()
            with closing(responses):
                yield from filter(None, map(chunks.feed, responses))  # a chunk is true
            if (chunk := chunks.end()) is not None:
                yield chunk

        return gen()

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        response = await self._achat(self._prompt_messages(prompt), **kwargs)
        return chat_to_completion_response(response)

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        responses = self._astream_chat(self._prompt_messages(prompt), **kwargs)

        async def gen() -> AsyncGenerator[CompletionResponse, None]:
            chunks = TextChunks()
            async with aclosing(responses):
                async for response in responses:
                    if (chunk := chunks.feed(response)) is not None:
                        yield chunk
            if (chunk := chunks.end()) is not None:
                yield chunk

        return gen()

    def stream(self, prompt: BasePromptTemplate, **prompt_args: Any) -> TokenGen:
        """LLM.stream (query engines' `response_gen`) without the empty tokens of thinking and
        tool-call chunks: a token is text."""
        tokens = super().stream(prompt, **prompt_args)

        def gen() -> Generator[str, None, None]:
            with closing(tokens):
                yield from filter(None, tokens)

        return gen()

    async def astream(self, prompt: BasePromptTemplate, **prompt_args: Any) -> TokenAsyncGen:
        """LLM.astream without empty tokens (see `stream`)."""
        tokens = await super().astream(prompt, **prompt_args)

        async def gen() -> AsyncGenerator[str, None]:
            async with aclosing(tokens):
                async for token in tokens:
                    if token:
                        yield token

        return gen()

    # -- tools --------------------------------------------------------------------------------

    # LlamaIndex validates (keeps one tool call) only non-streamed tool turns, and FunctionAgent
    # always streams: the streamed chunks are trimmed here so the agent runs one call.
    # The arguments are FunctionCallingLLM's (tools, user_msg, chat_history, verbose,
    # allow_parallel_tool_calls, tool_required, **kwargs), passed on as given.
    def stream_chat_with_tools(
        self, tools: Sequence[BaseTool], *args: Any, **kwargs: Any
    ) -> ChatResponseGen:
        responses = super().stream_chat_with_tools(tools, *args, **kwargs)
        if _parallel_allowed(*args, **kwargs):
            return responses

        def gen() -> Generator[ChatResponse, None, None]:
            with closing(responses):
                yield from map(_single_tool_call, responses)

        return gen()

    async def astream_chat_with_tools(
        self, tools: Sequence[BaseTool], *args: Any, **kwargs: Any
    ) -> ChatResponseAsyncGen:
        responses = await super().astream_chat_with_tools(tools, *args, **kwargs)
        if _parallel_allowed(*args, **kwargs):
            return responses

        async def gen() -> AsyncGenerator[ChatResponse, None]:
            async with aclosing(responses):
                async for response in responses:
                    force_single_tool_call(response)
                    yield response

        return gen()

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Build chat() arguments for a tool-calling turn; chat_history is left untouched."""
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        tool_specs = to_wire_tools(tools)
        chat_kwargs: dict[str, Any] = {"messages": messages, **kwargs}
        if tool_specs:
            chat_kwargs["tools"] = tool_specs
            chat_kwargs["parallel_tool_calls"] = allow_parallel_tool_calls
        choice = resolve_tool_choice(tool_choice, tool_required, _names(tool_specs))
        if choice is not None:
            chat_kwargs["tool_choice"] = choice
        return chat_kwargs

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        if not allow_parallel_tool_calls:
            force_single_tool_call(response)
        return response

    def get_tool_calls_from_response(
        self,
        response: ChatResponse,
        error_on_no_tool_call: bool = True,
        **kwargs: Any,
    ) -> list[ToolSelection]:
        """Tool calls of a response; partial JSON is tolerated when not erroring."""
        return tool_selections_from_response(response, error_on_no_tool_call=error_on_no_tool_call)

    # -- structured prediction ----------------------------------------------------------------

    def _own_structured(self) -> bool:
        # Other program modes are LlamaIndex's own (text completion, guidance, ...).
        return self.pydantic_program_mode == PydanticProgramMode.DEFAULT

    # The arguments after `prompt` are LLM's own (llm_kwargs, then the prompt's values).
    def structured_predict(
        self, output_cls: type[Model], prompt: PromptTemplate, *args: Any, **kwargs: Any
    ) -> Model:
        """LLM.structured_predict, through `structured_output_method`'s fallback chain."""
        # (LLM's and ours are wrapped by the untyped dispatcher.span: Any to mypy.)
        if self._llama_index_predicts():
            return cast(Model, super().structured_predict(output_cls, prompt, *args, **kwargs))
        call = self._structured_call(output_cls, prompt, *args, **kwargs)
        return cast(Model, predict_structured(self, call))

    async def astructured_predict(
        self, output_cls: type[Model], prompt: PromptTemplate, *args: Any, **kwargs: Any
    ) -> Model:
        """The async `structured_predict`."""
        if self._llama_index_predicts():
            result = await super().astructured_predict(output_cls, prompt, *args, **kwargs)
        else:
            result = await apredict_structured(
                self, self._structured_call(output_cls, prompt, *args, **kwargs)
            )
        return cast(Model, result)

    def _structured_stream_call(
        self, output_cls: type[Model], prompt: PromptTemplate, *args: Any, **kwargs: Any
    ) -> Generator[Model | list[Model] | FlexibleModel | list[FlexibleModel], None, None]:
        if not self._own_structured():
            return super()._structured_stream_call(output_cls, prompt, *args, **kwargs)
        return stream_structured(self, self._structured_call(output_cls, prompt, *args, **kwargs))

    async def _structured_astream_call(
        self, output_cls: type[Model], prompt: PromptTemplate, *args: Any, **kwargs: Any
    ) -> AsyncGenerator[Model | list[Model] | FlexibleModel | list[FlexibleModel], None]:
        if not self._own_structured():
            return await super()._structured_astream_call(output_cls, prompt, *args, **kwargs)
        call = self._structured_call(output_cls, prompt, *args, **kwargs)
        return astream_structured(self, call)

    def _llama_index_predicts(self) -> bool:
        # Function calling as LlamaIndex does it, or another program mode: LLM's own path.
        return not self._own_structured() or self.structured_output_method == "function_calling"

    def _structured_call(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> StructuredCall[Model]:
        chain = MethodChain(self.model, self.structured_output_method, self._structured_memo)
        return StructuredCall(chain, output_cls, prompt, llm_kwargs, prompt_args)

    def to_payload(self) -> dict[str, Any]:
        """What instrumentation and callbacks may see of this LLM: never the key or headers."""
        # Every call's callback asks for it: the dump is kept per metadata (a fresh dict each).
        return {"class_name": self.class_name(), **_metadata_dump(*self._metadata_key())}


# The key is kept private (`_api_key`), not a field.
_OWN_SETTINGS_FIELDS = tuple(name for name in SETTINGS_FIELDS if name != "api_key")
# The settings fields' values, out of the model's __dict__ in one C call.
_settings_values = itemgetter(*_OWN_SETTINGS_FIELDS)


def _responses(events: Generator[StreamEvent, None, None]) -> ChatResponseGen:
    """A stream's events as ChatResponses (see `ChatStream`); closing it closes the events."""
    stream = ChatStream()
    with closing(events):
        # Iterated in C (filter drops the events that make no response; a response is true).
        yield from filter(None, map(stream.feed, events))
    yield stream.final()


async def _aresponses(events: AsyncGenerator[StreamEvent, None]) -> ChatResponseAsyncGen:
    """The async `_responses`."""
    stream = ChatStream()
    feed = stream.feed
    async with aclosing(events):
        async for event in events:
            if (response := feed(event)) is not None:
                yield response
    yield stream.final()


def _parallel_allowed(
    user_msg: Any = None,
    chat_history: Any = None,
    verbose: bool = False,
    allow_parallel_tool_calls: bool = False,
    *args: Any,
    **kwargs: Any,
) -> bool:
    # FunctionCallingLLM's stream_chat_with_tools arguments after `tools`.
    return allow_parallel_tool_calls


def _single_tool_call(response: ChatResponse) -> ChatResponse:
    force_single_tool_call(response)
    return response


def _names(tools: Sequence[Mapping[str, Any]]) -> list[str]:
    names = []
    for tool in tools:
        function = tool.get("function")
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            names.append(function["name"])
    return names


def _metadata(
    model: str, context_window: int | None, max_tokens: int | None, function_calling: bool
) -> LLMMetadata:
    info = model_info(model)
    return LLMMetadata(
        context_window=context_window or model_context_window(model),
        num_output=max_tokens or _num_output(info),
        is_chat_model=True,
        is_function_calling_model=function_calling and (info is None or info.tools),
        model_name=model,
        system_role=MessageRole.SYSTEM,
    )


@lru_cache(maxsize=64)
def _metadata_dump(
    model: str, context_window: int | None, max_tokens: int | None, function_calling: bool
) -> dict[str, Any]:
    # Shared by the calls with the same metadata: callers get a copy (see `to_payload`).
    return _metadata(model, context_window, max_tokens, function_calling).model_dump()


def _num_output(info: ModelInfo | None) -> int:
    # The room LlamaIndex's prompt packing keeps for the answer when max_tokens is unset: half
    # the context, at most the output limit; the request itself is sent with the catalogue's
    # default_max_tokens, which takes whatever the actual prompt leaves.
    if info is None:
        return UNKNOWN_MODEL_MAX_TOKENS
    return min(info.max_output_tokens, info.context_limit // 2)
