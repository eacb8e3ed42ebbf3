"""The two adapters behind one face for the fidelity tests: build a model on the emulator,
turn framework-free `Turn`s into the framework's messages (and back), call it in one of four
modes, and run a first agent turn the way each framework's users do."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain.agents import create_agent
from langchain_core.exceptions import ModelAPIError, ModelTimeoutError
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool as langchain_tool
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.tools import FunctionTool

from langchain_modelslab import (
    ChatModelsLab,
    ModelsLabAPITimeoutError,
    ModelsLabContextOverflowError,
    ModelsLabInvalidConversationError,
)
from langchain_modelslab import _errors as langchain_errors
from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import SCENARIO_HEADER, Emulator, RecordedRequest
from modelslab_transport import (
    APIStatusError,
    APITimeoutError,
    ContextLengthExceededError,
    InvalidConversationError,
)
from tests.support.adapter_calls import CHAT_MODEL_MODES, LLM_MODES, run_chat_model, run_llm
from tests.support.emulator_log import chat_log
from tests.support.models import MakeChatModel
from tests.support.scenarios import unique
from tests.support.weather_agent import get_weather

from .turns import Call, Turn

__all__ = ["MODES", "LangChainSide", "LlamaIndexSide", "Reply", "Side"]

#: The tools a call offers: none, the side's weather tool (True), or these functions.
Tools = bool | Sequence[Callable[..., str]]

#: Sync, async, streamed and async streamed: each side maps them to its framework's calls.
MODES = ("sync", "async", "stream", "astream")


@dataclass(frozen=True)
class Reply:
    """What one call gave back, read the same way from both frameworks."""

    text: str
    finish: str | None
    reasoning: str
    tool_calls: int
    prompt_tokens: int | None
    #: The framework's own message, to put in the next turn's history as users do.
    message: Any


class Side:
    """One adapter, as the tests drive it."""

    name: str
    #: The typed error a conversation the host would refuse is refused with, before sending.
    refusal: type[Exception]
    #: The typed error a request that timed out raises: its class, then what else it is.
    timeout: tuple[type[Exception], ...]
    #: The typed error a request the host refuses for its length raises.
    overflow: type[Exception]
    #: The model class, to build as a user would with nothing but the environment.
    cls: type[Any]
    #: The framework's class of the errors an answer from the API becomes.
    api_error: type[Exception]

    def typed(self, error: type[Exception]) -> type[Exception]:
        """The class this adapter raises for the transport's `error` (it, or a subclass)."""
        return error

    def model(self, scenario: str | None = None, **fields: Any) -> Any:
        """A model on the emulator whose requests carry `scenario` (when given), made unique."""
        raise NotImplementedError

    def ask(self, model: Any, mode: str, messages: Sequence[Any], *, tools: Tools = False) -> Reply:
        raise NotImplementedError

    @staticmethod
    def sent(emulator: Emulator, model: Any) -> list[RecordedRequest]:
        """The chat requests `model` made (its scenario is its own: a late request of another
        test is not counted)."""
        return chat_log(emulator, model.default_headers[SCENARIO_HEADER])

    def messages(self, turns: Sequence[Turn]) -> list[Any]:
        raise NotImplementedError

    def turns(self, messages: Sequence[Any]) -> list[Turn]:
        raise NotImplementedError

    def agent_turn(self, model: Any, question: str) -> list[Any]:
        """The history of a first agent turn that ends on a tool result."""
        raise NotImplementedError


class LangChainSide(Side):
    name = "langchain"
    refusal = ModelsLabInvalidConversationError
    timeout = (ModelsLabAPITimeoutError, ModelTimeoutError)
    overflow = ModelsLabContextOverflowError
    cls = ChatModelsLab
    api_error = ModelAPIError

    def typed(self, error: type[Exception]) -> type[Exception]:
        found: type[Exception] = getattr(langchain_errors, f"ModelsLab{error.__name__}")
        assert issubclass(found, error)
        return found

    #: `return_direct`: the agent stops on the tool's result, as LangChain documents it.
    weather = langchain_tool(get_weather, return_direct=True)

    def __init__(self, make_chat_model: MakeChatModel) -> None:
        self.make_chat_model = make_chat_model

    def model(self, scenario: str | None = None, **fields: Any) -> Any:
        return self.make_chat_model(scenario, **fields)

    def ask(self, model: Any, mode: str, messages: Sequence[Any], *, tools: Tools = False) -> Reply:
        offered = _offered(tools, self.weather, langchain_tool)
        runnable = model.bind_tools(offered) if offered else model
        message = run_chat_model(runnable, CHAT_MODEL_MODES[MODES.index(mode)], messages)
        usage = message.usage_metadata
        return Reply(
            text=str(message.text),
            finish=message.response_metadata.get("finish_reason"),
            reasoning=str(message.additional_kwargs.get("reasoning_content") or ""),
            tool_calls=len(message.tool_calls),
            prompt_tokens=usage["input_tokens"] if usage else None,
            message=message,
        )

    def messages(self, turns: Sequence[Turn]) -> list[BaseMessage]:
        made: list[BaseMessage] = []
        for turn in turns:
            if turn.role == "system":
                made.append(SystemMessage(turn.text))
            elif turn.role == "user":
                made.append(HumanMessage(turn.text))
            elif turn.role == "assistant":
                calls = [{"id": c.id, "name": c.name, "args": dict(c.args)} for c in turn.calls]
                kept = {"reasoning_content": turn.reasoning} if turn.reasoning else {}
                made.append(AIMessage(turn.text, tool_calls=calls, additional_kwargs=kept))
            else:
                made.append(ToolMessage(turn.text, tool_call_id=str(turn.call_id)))
        return made

    def turns(self, messages: Sequence[Any]) -> list[Turn]:
        found: list[Turn] = []
        for message in messages:
            text = message.content if isinstance(message.content, str) else str(message.text)
            if isinstance(message, SystemMessage):
                found.append(Turn("system", text))
            elif isinstance(message, HumanMessage):
                found.append(Turn("user", text))
            elif isinstance(message, AIMessage):
                calls = tuple(Call(str(c["id"]), c["name"], c["args"]) for c in message.tool_calls)
                found.append(Turn("assistant", text, calls))
            elif isinstance(message, ToolMessage):
                found.append(Turn("tool", text, call_id=message.tool_call_id))
            else:
                raise AssertionError(f"unexpected message {message!r}")
        return found

    def agent_turn(self, model: Any, question: str) -> list[Any]:
        agent = create_agent(model, tools=[self.weather])
        state = agent.invoke({"messages": [HumanMessage(question)]})
        return list(state["messages"])


class LlamaIndexSide(Side):
    name = "llama_index"
    refusal = InvalidConversationError
    timeout = (APITimeoutError,)
    overflow = ContextLengthExceededError
    cls = ModelsLabLLM
    api_error = APIStatusError
    #: `return_direct`: a LlamaIndex agent stops on this tool's result.
    weather = FunctionTool.from_defaults(get_weather, return_direct=True)

    def __init__(self, make_llm: Callable[..., Any]) -> None:
        self.make_llm = make_llm

    def model(self, scenario: str | None = None, **fields: Any) -> Any:
        return self.make_llm(scenario=unique(scenario) if scenario else None, **fields)

    def ask(self, model: Any, mode: str, messages: Sequence[Any], *, tools: Tools = False) -> Reply:
        chosen = LLM_MODES[MODES.index(mode)]
        offered = _offered(tools, self.weather, FunctionTool.from_defaults)
        response = run_llm(model, chosen, messages, offered or None)
        return Reply(
            text=response.message.content or "",
            finish=_finish(response),
            reasoning="".join(
                b.content or "" for b in response.message.blocks if isinstance(b, ThinkingBlock)
            ),
            tool_calls=sum(isinstance(b, ToolCallBlock) for b in response.message.blocks),
            prompt_tokens=response.additional_kwargs.get("prompt_tokens"),
            message=response.message,
        )

    def messages(self, turns: Sequence[Turn]) -> list[ChatMessage]:
        made: list[ChatMessage] = []
        for turn in turns:
            if turn.role == "assistant":
                blocks: list[Any] = (
                    [ThinkingBlock(content=turn.reasoning)] if turn.reasoning else []
                )
                blocks += [TextBlock(text=turn.text)] if turn.text else []
                blocks += [
                    ToolCallBlock(tool_call_id=c.id, tool_name=c.name, tool_kwargs=dict(c.args))
                    for c in turn.calls
                ]
                made.append(ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks))
            elif turn.role == "tool":
                made.append(
                    ChatMessage(
                        role=MessageRole.TOOL,
                        content=turn.text,
                        additional_kwargs={"tool_call_id": turn.call_id},
                    )
                )
            else:
                made.append(ChatMessage(role=MessageRole(turn.role), content=turn.text))
        return made

    def turns(self, messages: Sequence[Any]) -> list[Turn]:
        found: list[Turn] = []
        for message in messages:
            text = "".join(b.text for b in message.blocks if isinstance(b, TextBlock))
            role = message.role.value
            if role == "assistant":
                calls = tuple(
                    Call(str(b.tool_call_id), b.tool_name, _kwargs(b.tool_kwargs))
                    for b in message.blocks
                    if isinstance(b, ToolCallBlock)
                )
                found.append(Turn("assistant", text, calls))
            elif role == "tool":
                found.append(Turn("tool", text, call_id=message.additional_kwargs["tool_call_id"]))
            else:
                found.append(Turn(role, text))
        return found

    def agent_turn(self, model: Any, question: str) -> list[Any]:
        # LlamaIndex's documented loop: chat_with_tools, run each selected tool, send the
        # results back as TOOL messages carrying the call's id.
        asked = ChatMessage(role=MessageRole.USER, content=question)
        response = model.chat_with_tools([self.weather], chat_history=[asked])
        history = [asked, response.message]
        for selection in model.get_tool_calls_from_response(response):
            output = self.weather.call(**selection.tool_kwargs)
            history.append(
                ChatMessage(
                    role=MessageRole.TOOL,
                    content=str(output),
                    additional_kwargs={
                        "tool_call_id": selection.tool_id,
                        "name": selection.tool_name,
                    },
                )
            )
        return history


def _offered(tools: Tools, weather: Any, wrap: Callable[[Callable[..., str]], Any]) -> list[Any]:
    """The framework's tools for `tools`, each function wrapped as its users wrap one."""
    if isinstance(tools, bool):
        return [weather] if tools else []
    return [wrap(function) for function in tools]


def _finish(response: ChatResponse) -> str | None:
    raw = response.raw if isinstance(response.raw, dict) else {}
    if "finish_reason" in raw:  # a stream's last response
        return str(raw["finish_reason"])
    choices = raw.get("choices") or [{}]
    return str(choices[0].get("finish_reason"))


def _kwargs(value: Any) -> dict[str, Any]:
    return dict(json.loads(value)) if isinstance(value, str) else dict(value)
