"""`ChatModelsLab`: LangChain's chat model interface over the shared ModelsLab transport."""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import aclosing, closing
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LangSmithParams, LanguageModelInput, ModelProfile
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableSerializable
from langchain_core.runnables.utils import AnyConfigurableField
from langchain_core.utils import from_env, secret_from_env
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    model_validator,
)

from modelslab_transport import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_MODEL,
    ClientSettings,
    ModelsLabError,
    build_chat_payload,
    max_tokens_sent,
)
from modelslab_transport.adapters import (
    RESERVED_BODY_FIELDS,
    SETTINGS_FIELDS,
    ClientCache,
    TransportFields,
    cached_settings,
    check_call_keywords,
    private_state,
    settings_from_fields,
    with_hints,
)
from modelslab_transport.models import StructuredMethod, sampling_defaults, validate_params

from ._errors import ModelsLabInvalidInputError, langchain_errors
from ._httpx_fields import HttpxAsyncClient, HttpxClient, HttpxTimeout
from ._messages import convert_messages
from ._outputs import PROVIDER, StreamConverter, combine_llm_outputs, completion_to_result
from ._profiles import model_profile
from ._tools import ToolChoice, ToolLike, format_tool_choice, format_tools
from ._tracing import PromptTracing, keep_built, take_built, traced_prompt

if TYPE_CHECKING:
    from modelslab_transport import AsyncModelsLabClient, ModelsLabClient

__all__ = ["ChatModelsLab"]


_SAMPLING_FIELDS = (
    "temperature",
    "max_tokens",
    "top_p",
    "top_k",
    "frequency_penalty",
    "presence_penalty",
    "repetition_penalty",
    "seed",
    "n",
)
# What LangChain itself passes per call, beside the call keywords both adapters accept
# (`modelslab_transport.adapters.CALL_KEYWORDS`); anything else is a typo until proven otherwise.
_FRAMEWORK_KEYS = frozenset(
    {"stream", "stream_usage", "model", "model_name", "ls_structured_output_format"}
)
# The key may be set after construction (or come from the environment at the first request):
# the settings are checked up front with this stand-in, and again with the real key per request.
_PLACEHOLDER_KEY = "placeholder-checked-later"


class ChatModelsLab(PromptTracing, TransportFields):
    """ModelsLab's LLM API (Magistral Small 2506 and friends) as a LangChain chat model.

    Reasoning goes to `additional_kwargs["reasoning_content"]` (and `content_blocks`), never
    into `content`; retries, rate limits and error mapping come from `modelslab_transport`.

    Example:
        ```python
        from langchain_modelslab import ChatModelsLab

        llm = ChatModelsLab(model="mistralai-Magistral-Small-2506")  # key: MODELSLAB_API_KEY
        msg = llm.invoke("What is the capital of France?")
        print(msg.content, msg.additional_kwargs.get("reasoning_content"))
        ```
    """

    model: str = Field(default=DEFAULT_MODEL, alias="model_name")
    """ModelsLab model id (sent as `model_id`)."""
    api_key: SecretStr | None = Field(default_factory=secret_from_env(API_KEY_ENV, default=None))
    """API key; defaults to `MODELSLAB_API_KEY`. Kept secret everywhere."""
    base_url: str | None = Field(default_factory=from_env(BASE_URL_ENV, default=None))
    """API base, default `https://modelslab.com/api/v7/llm` (or `MODELSLAB_BASE_URL`)."""
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    """Sampling temperature, 0-2; unset: the model card's (Magistral 0.7; docs/models.md)."""
    max_tokens: int | None = Field(default=None, ge=1)
    """Most tokens to generate (reasoning included); unset: the catalogue's default for the
    model, within the served context minus the prompt (docs/models.md), never the API's 1000."""
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    """Nucleus sampling; unset: the model card's (Magistral 0.95)."""
    top_k: int | None = Field(default=None, ge=1)
    """Top-k sampling, an integer >= 1 (ModelsLab's documented range)."""
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    repetition_penalty: float | None = Field(default=None, ge=0.1, le=2.0)
    """Repetition penalty, 0.1-2 (ModelsLab's documented range)."""
    stop: list[str] | None = Field(default=None, max_length=4, alias="stop_sequences")
    """Up to 4 stop sequences."""
    seed: int | None = None
    n: int | None = Field(default=None, ge=1, le=10)
    """Number of choices (1-10; not with streaming)."""
    timeout: float | HttpxTimeout | None = Field(default=None, alias="request_timeout")
    """Seconds, or an httpx.Timeout; default connect 5 s, read 600 s."""
    # Timeouts, retries, the in-flight limit and reasoning_in_history: `TransportFields`.
    streaming: bool = False
    """Stream under the hood even for `invoke`."""
    stream_usage: bool = True
    """Ask for token usage on streams (`stream_options.include_usage`)."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra body fields passed through unchanged (e.g. `{"logprobs": True}`)."""
    default_headers: dict[str, str] | None = None
    """Extra request headers (never credentials)."""
    http_client: HttpxClient | None = Field(default=None, exclude=True)
    """Your own httpx.Client (proxies, certificates); you close it."""
    http_async_client: HttpxAsyncClient | None = Field(default=None, exclude=True)
    """Your own httpx.AsyncClient; you close it."""

    _clients: ClientCache = PrivateAttr(default_factory=ClientCache)
    _memo: tuple[tuple[Any, ...], ClientSettings] | None = PrivateAttr(default=None)

    model_config = ConfigDict(
        populate_by_name=True,
        extra="forbid",
        # Validation errors must never echo the input: it may hold the API key.
        hide_input_in_errors=True,
        protected_namespaces=(),
    )

    # -- validation ---------------------------------------------------------------------------

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        known = set(cls.model_fields)
        known |= {f.alias for f in cls.model_fields.values() if f.alias}
        unknown = sorted(str(k) for k in values if k not in known)
        if unknown:
            raise ValueError(
                f"ChatModelsLab got unknown parameter(s) {with_hints(unknown, known)}; "
                "pass extra API fields in model_kwargs={...}"
            )
        for name in ("stop", "stop_sequences"):
            if isinstance(values.get(name), str):
                values = {**values, name: [values[name]]}
        return values

    @model_validator(mode="after")
    def _check_settings(self) -> ChatModelsLab:
        reserved = sorted(
            set(self.model_kwargs) & (RESERVED_BODY_FIELDS | set(type(self).model_fields))
        )
        if reserved:
            raise ValueError(
                f"model_kwargs must not set {', '.join(reserved)}: use the parameter itself"
            )
        if self.streaming and (self.n or 1) > 1:
            raise ValueError("n > 1 cannot be streamed: set streaming=False")
        try:
            # Same checks the transport applies per request, made once, up front.
            validate_params({**self._explicit_params(), **self.model_kwargs})
            settings_from_fields(self, api_key=self.api_key or _PLACEHOLDER_KEY)
        except ModelsLabError as exc:
            raise ValueError(exc.message) from None
        return self

    def _resolve_model_profile(self) -> ModelProfile | None:
        return model_profile(self.model)

    # -- LangChain identity, tracing, serialisation -------------------------------------------

    def _convert_input(self, model_input: LanguageModelInput) -> PromptValue:
        # langchain-core raises NotImplementedError for a list item it cannot read as a
        # message; bad input should be a typed ValueError, before any request is sent.
        try:
            return super()._convert_input(model_input)
        except (NotImplementedError, TypeError) as exc:
            raise ModelsLabInvalidInputError(f"Invalid input: {exc}") from None

    @property
    def _llm_type(self) -> str:
        return "modelslab-chat"

    @property
    def lc_secrets(self) -> dict[str, str]:
        # A limiter URL with a Redis password is a secret too: `dumps` writes a reference to
        # MODELSLAB_LIMITER_URL in its place (`loads` takes it from `secrets_map` or the env).
        return {"api_key": API_KEY_ENV, **self.secret_fields()}

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_modelslab", "chat_models"]

    @property
    def _default_params(self) -> dict[str, Any]:
        """Body parameters every call sends (model-card defaults filled in)."""
        return {**sampling_defaults(self.model), **self._explicit_params(), **self.model_kwargs}

    @property
    def _identifying_params(self) -> dict[str, Any]:
        model = self.model
        return {
            "model": model,
            **sampling_defaults(model),
            **self._explicit_params(),
            **self.model_kwargs,
        }

    def _get_invocation_params(
        self, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        # langchain-core's own (same dict, same key order) goes through the deprecated
        # `dict()` under a warnings filter: ~5 us per call for nothing this class overrides.
        params = {**self._identifying_params, "_type": self._llm_type, "stop": stop}
        return {**params, **kwargs}

    def _combine_llm_outputs(self, llm_outputs: list[dict[str, Any] | None], /) -> dict[str, Any]:
        return combine_llm_outputs(llm_outputs)

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        model = kwargs.get("model") or self.model
        # The values a call sends, read directly (no merged dict of every parameter).
        defaults = sampling_defaults(model)
        temperature = _sent("temperature", kwargs, self.__dict__, defaults)
        max_tokens = _sent("max_tokens", kwargs, self.__dict__, defaults)
        ls_params = LangSmithParams(ls_provider=PROVIDER, ls_model_name=model, ls_model_type="chat")
        if isinstance(temperature, (int, float)):
            ls_params["ls_temperature"] = temperature
        if isinstance(max_tokens, int):
            ls_params["ls_max_tokens"] = max_tokens
        elif (prompt := traced_prompt()) is not None:
            # The default the payload holds, from this prompt: the value sent.
            try:
                built = self._payload(prompt, stop, stream=False, **kwargs)
                sent = max_tokens_sent(built[1])  # built for this host: its default is in it
                keep_built(self, prompt, stop, kwargs, built)  # `_generate` sends this very body
            except (ModelsLabError, TypeError, ValueError):
                sent = None  # a bad call: `_generate` raises it, typed, in the run
            if sent is not None:
                ls_params["ls_max_tokens"] = sent
        if ls_stop := stop or kwargs.get("stop") or self.stop:
            ls_params["ls_stop"] = list(ls_stop)
        return ls_params

    def _explicit_params(self) -> dict[str, Any]:
        fields = self.__dict__  # the values themselves: no attribute lookup per field
        params = {name: fields[name] for name in _SAMPLING_FIELDS if fields[name] is not None}
        if self.stop:
            params["stop"] = self.stop
        return params

    # -- requests -----------------------------------------------------------------------------

    def _payload(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        settings: ClientSettings | None = None,
        /,
        *,
        stream: bool,
        **kwargs: Any,
    ) -> tuple[str, dict[str, Any]]:
        """The requested model and the checked request body (no key: the transport adds it).

        Without `max_tokens` it holds the catalogue's default for the model and this host
        (`settings`: the call's own, when the caller has read them already).
        """
        model = self.model
        include_usage = self.stream_usage
        extra_body: dict[str, Any] = {}
        if kwargs:  # most calls pass none: nothing to check
            kwargs.pop("stream", None)
            kwargs.pop("ls_structured_output_format", None)  # tracing only, never sent
            # `extra_body` is the explicit channel for body fields this class does not name.
            extra_body = check_call_keywords(
                kwargs,
                what="ChatModelsLab got unknown call argument(s)",
                framework_keys=_FRAMEWORK_KEYS,
                channel="extra_body={...} or model_kwargs={...}",
            )
            kwargs.pop("extra_body", None)
            include_usage = bool(kwargs.pop("stream_usage", include_usage))
            model = str(kwargs.pop("model", None) or kwargs.pop("model_name", None) or model)
        params = {**sampling_defaults(model), **self._explicit_params(), **self.model_kwargs}
        params.update(kwargs)
        params.update(extra_body)
        if stop is not None:
            params["stop"] = stop or None
        if stream and (params.get("n") or 1) > 1:
            raise ModelsLabInvalidInputError("n > 1 cannot be streamed: use invoke or batch")
        wire = convert_messages(messages, reasoning_in_history=self.reasoning_in_history)
        # The default max_tokens is sized for this host.
        base_url = (settings or self._settings()).base_url
        payload = build_chat_payload(
            model, wire, stream=stream, include_usage=include_usage, base_url=base_url, **params
        )
        return model, payload

    def close(self) -> None:
        """Close this model's connection pools (injected httpx clients are left open)."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close this model's sync and async connection pools."""
        await self._clients.aclose()

    # Settings are read from the fields per request, so a changed field (`llm.max_retries = 0`,
    # `llm.base_url = ...`) is used by the next call; the cache keeps one client per settings.
    def _settings(self) -> ClientSettings:
        return cached_settings(self, private_state(self), _settings_values(self.__dict__))

    def _sync_client(self, settings: ClientSettings | None = None) -> ModelsLabClient:
        clients: ClientCache = private_state(self)["_clients"]
        return clients.sync(
            settings or self._settings(), self.http_client, self.limiter_url, self.limiter_fallback
        )

    def _async_client(self, settings: ClientSettings | None = None) -> AsyncModelsLabClient:
        clients: ClientCache = private_state(self)["_clients"]
        return clients.async_(
            settings or self._settings(),
            self.http_async_client,
            self.limiter_url,
            self.limiter_fallback,
        )

    # -- generation ---------------------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with langchain_errors():
            settings = self._settings()  # read once: for the body's default and the client
            built = take_built(self, messages, stop, kwargs)
            model, payload = built or self._payload(
                messages, stop, settings, stream=False, **kwargs
            )
            completion = self._sync_client(settings).chat(payload)
        return completion_to_result(completion, requested_model=model)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with langchain_errors():
            settings = self._settings()  # read once: for the body's default and the client
            built = take_built(self, messages, stop, kwargs)
            model, payload = built or self._payload(
                messages, stop, settings, stream=False, **kwargs
            )
            completion = await self._async_client(settings).chat(payload)
        return completion_to_result(completion, requested_model=model)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        with langchain_errors():
            settings = self._settings()
            model, payload = self._payload(messages, stop, settings, stream=True, **kwargs)
            converter = StreamConverter(requested_model=model)
            with closing(self._sync_client(settings).stream_chat(payload)) as events:
                for event in events:
                    chunk = converter.feed(event)
                    if chunk is not None:
                        yield chunk
        yield converter.finish()

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        with langchain_errors():
            settings = self._settings()
            model, payload = self._payload(messages, stop, settings, stream=True, **kwargs)
            converter = StreamConverter(requested_model=model)
            async with aclosing(self._async_client(settings).stream_chat(payload)) as events:
                async for event in events:
                    chunk = converter.feed(event)
                    if chunk is not None:
                        yield chunk
        yield converter.finish()

    # -- tools and structured output ----------------------------------------------------------

    def configurable_fields(
        self, **kwargs: AnyConfigurableField
    ) -> RunnableSerializable[LanguageModelInput, AIMessage]:
        """As LangChain's; `model_name` (ChatOpenAI's field name, this field's alias) names
        the field `model` too."""
        if "model_name" in kwargs and "model" not in kwargs:
            kwargs["model"] = kwargs.pop("model_name")
        return super().configurable_fields(**kwargs)

    def bind_tools(
        self,
        tools: Sequence[ToolLike],
        *,
        tool_choice: ToolChoice = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (dicts, pydantic models, TypedDicts, functions, BaseTools).

        `tool_choice`: "auto", "none", "any"/"required"/True (some tool), a tool's name, or a
        `{"type": "function", "function": {"name": ...}}` dict. `strict` asks for schema-exact
        arguments; `parallel_tool_calls=False` asks for one call at a time.
        """
        formatted = format_tools(tools, strict=strict)
        choice = format_tool_choice(tool_choice, formatted)
        if choice is not None:
            kwargs["tool_choice"] = choice
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: StructuredMethod = "function_calling",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """A runnable that answers with `schema` (pydantic model, TypedDict or JSON schema).

        `method`: "function_calling" (a forced tool call; the default, ModelsLab documents it),
        "json_mode" (`response_format={"type": "json_object"}`; describe the keys in the
        prompt; `schema` may be None for plain dicts) or "json_schema" (`response_format`
        with the schema; falls back to json_mode if the server refuses it).
        `include_raw=True` returns `{"raw", "parsed", "parsing_error"}` instead of raising on a
        parsing error. A refusal raises
        `langchain_core.exceptions.ModelRefusalError`.
        """
        if kwargs:
            raise ModelsLabInvalidInputError(f"Unsupported arguments: {sorted(kwargs)}")
        # Loaded on first use (parsers, runnables): a faster `import langchain_modelslab`.
        from ._structured import build_structured

        return build_structured(
            self, schema, model_id=self.model, method=method, include_raw=include_raw, strict=strict
        )

    # -- tokens and models --------------------------------------------------------------------

    def get_num_tokens(self, text: str) -> int:
        """Approximate token count of a text, offline (about 4 characters per token)."""
        return max(1, math.ceil(len(text) / 4)) if text else 0

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Approximate prompt size, offline; `count_tokens` asks ModelsLab for the exact one."""
        return count_tokens_approximately(messages, tools=list(tools) if tools else None)

    def count_tokens(
        self,
        messages: LanguageModelInput,
        *,
        tools: Sequence[ToolLike] | None = None,
        model: str | None = None,
    ) -> int:
        """Exact prompt token count from ModelsLab's count_tokens endpoint (one request).

        Takes what `invoke` takes (a string, message tuples, a prompt value, messages);
        `tools` count toward the prompt as their JSON schemas.
        """
        with langchain_errors():
            wire, system = self._count_input(messages, tools)
            return self._sync_client().count_tokens(model or self.model, wire, system)

    async def acount_tokens(
        self,
        messages: LanguageModelInput,
        *,
        tools: Sequence[ToolLike] | None = None,
        model: str | None = None,
    ) -> int:
        """Async `count_tokens`."""
        with langchain_errors():
            wire, system = self._count_input(messages, tools)
            return await self._async_client().count_tokens(model or self.model, wire, system)

    def _count_input(
        self, messages: LanguageModelInput, tools: Sequence[ToolLike] | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        wire = convert_messages(self._convert_input(messages).to_messages())
        # The endpoint counts messages and a system text; the tools' schemas travel in the
        # prompt the model sees, so they are counted as that text.
        system = json.dumps(format_tools(tools), ensure_ascii=False) if tools else None
        return wire, system

    def list_models(self) -> list[dict[str, Any]]:
        """The models this key may use, as ModelsLab lists them (`id`, `owned_by`, ...)."""
        with langchain_errors():
            return self._sync_client().list_models()

    async def alist_models(self) -> list[dict[str, Any]]:
        """Async `list_models`."""
        with langchain_errors():
            return await self._async_client().list_models()


# langchain-core reads `_generate`'s signature (`inspect.signature`, for `run_manager`) on every
# call, ~12 us; a function's own `__signature__` is what inspect returns without rebuilding it.
for _method in (ChatModelsLab._generate, ChatModelsLab._agenerate):
    setattr(_method, "__signature__", inspect.signature(_method))  # noqa: B010 (mypy: no attr)


def _sent(
    name: str, kwargs: dict[str, Any], fields: dict[str, Any], defaults: dict[str, Any]
) -> Any:
    # A call's keyword wins (even None), then the field when set, then the model card's.
    if name in kwargs:
        return kwargs[name]
    value = fields[name]
    return defaults.get(name) if value is None else value


# The settings fields' values, out of the model's __dict__ in one C call.
_settings_values = itemgetter(*SETTINGS_FIELDS)
