"""A short terminal tour of the ModelsLab integrations, through both frameworks.

For LangChain (`ChatModelsLab`) and then LlamaIndex (`ModelsLabLLM`): a streamed answer with the
model's reasoning shown apart, a tool-using agent step, and a structured output.

Uses real ModelsLab when MODELSLAB_API_KEY is set; otherwise starts the bundled emulator on
loopback and says so. Needs only the `all` extra. Exits non-zero if any step fails.
"""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack

from pydantic import BaseModel, Field

from modelslab_transport import ModelsLabError

DIM, BOLD, RESET = ("\033[2m", "\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


class Person(BaseModel):
    """A person mentioned in the text."""

    name: str = Field(description="the person's name")
    age: int = Field(description="age in years")


def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"sunny, 21C in {city}"


STREAM_PROMPT = "In one sentence, why is the sky blue?"
TOOL_PROMPT = 'What is the weather in "Lisbon"? Use get_weather.'
STRUCTURED_PROMPT = 'The person is "Ada" and she is 36.'


class StepFailed(Exception):
    """A step ran but its result was not what the tour promises."""


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise StepFailed(what)


def _show_stream(pieces: Iterable[tuple[str, str]]) -> None:
    """Print (kind, text) pieces as they come: reasoning dimmed on its own line, then the answer.

    A long reasoning is shown up to `_REASONING_SHOWN` characters, then elided.
    """
    current = ""
    shown = 0
    for kind, text in pieces:
        if kind == "reasoning" and shown >= _REASONING_SHOWN:
            if kind != current or shown == _REASONING_SHOWN:
                print(f"{DIM} ...{RESET}", end="", flush=True)
                shown += 1
            current = kind
            continue
        if kind != current:
            label = "thinking" if kind == "reasoning" else "answer  "
            print(("\n" if current else "") + f"  {label}: ", end="")
            current = kind
        if kind == "reasoning":
            text = text[: _REASONING_SHOWN - shown]
            shown += len(text)
        print(f"{DIM}{text}{RESET}" if kind == "reasoning" else text, end="", flush=True)
    print()


# Magistral thinks at length (the emulator's for 1,200 tokens): show the start of it.
_REASONING_SHOWN = 160


# --- LangChain -----------------------------------------------------------------------------


def langchain_stream() -> None:
    from langchain_modelslab import ChatModelsLab

    answer: list[str] = []
    usage = None

    def pieces() -> Iterator[tuple[str, str]]:
        nonlocal usage
        for chunk in ChatModelsLab().stream(STREAM_PROMPT):
            if text := chunk.additional_kwargs.get("reasoning_content"):
                yield "reasoning", text
            if chunk.content:
                answer.append(chunk.content)
                yield "answer", chunk.content
            usage = chunk.usage_metadata or usage

    _show_stream(pieces())
    print(f"  usage   : {usage}")
    _check(bool("".join(answer).strip()), "the streamed answer is empty")
    _check(not any("<think>" in a for a in answer), "reasoning leaked into the answer")


def langchain_agent_step() -> None:
    from langchain_core.messages import HumanMessage
    from langchain_core.tools import tool

    from langchain_modelslab import ChatModelsLab

    weather = tool(get_weather)
    llm = ChatModelsLab().bind_tools([weather])
    messages = [HumanMessage(TOOL_PROMPT)]
    ai_msg = llm.invoke(messages)
    _check(bool(ai_msg.tool_calls), "the model did not call get_weather")
    messages.append(ai_msg)
    for call in ai_msg.tool_calls:
        result = weather.invoke(call)
        print(f"  tool call: {call['name']}({call['args']}) -> {result.content}")
        messages.append(result)
    final = llm.invoke(messages)
    print(f"  answer   : {final.content}")
    _check(bool(str(final.content).strip()), "no answer after the tool result")


def langchain_structured() -> None:
    from langchain_modelslab import ChatModelsLab

    person = ChatModelsLab().with_structured_output(Person).invoke(STRUCTURED_PROMPT)
    print(f"  {person!r}")
    _check(isinstance(person, Person), "with_structured_output did not return a Person")


# --- LlamaIndex ----------------------------------------------------------------------------


def llama_index_stream() -> None:
    from llama_index.core.llms import ChatMessage

    from llama_index_modelslab import ModelsLabLLM

    answer: list[str] = []
    usage: dict[str, int] = {}

    def pieces() -> Iterator[tuple[str, str]]:
        nonlocal usage
        for chunk in ModelsLabLLM().stream_chat([ChatMessage(role="user", content=STREAM_PROMPT)]):
            if text := chunk.additional_kwargs.get("thinking_delta"):
                yield "reasoning", text
            if chunk.delta:
                answer.append(chunk.delta)
                yield "answer", chunk.delta
            if "total_tokens" in chunk.additional_kwargs:
                usage = {k: v for k, v in chunk.additional_kwargs.items() if k.endswith("tokens")}

    _show_stream(pieces())
    print(f"  usage   : {usage}")
    _check(bool("".join(answer).strip()), "the streamed answer is empty")
    _check(not any("<think>" in a for a in answer), "reasoning leaked into the answer")


def llama_index_agent_step() -> None:
    from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult

    from llama_index_modelslab import ModelsLabLLM

    async def run() -> tuple[int, str]:
        agent = FunctionAgent(tools=[get_weather], llm=ModelsLabLLM())
        handler = agent.run(user_msg=TOOL_PROMPT)
        calls = 0
        async for event in handler.stream_events():
            if isinstance(event, ToolCallResult):
                calls += 1
                print(
                    f"  tool call: {event.tool_name}({event.tool_kwargs}) "
                    f"-> {event.tool_output.content}"
                )
        return calls, str(await handler)

    calls, answer = asyncio.run(run())
    print(f"  answer   : {answer}")
    _check(calls > 0, "the agent did not call get_weather")
    _check(bool(answer.strip()), "the agent gave no answer")


def llama_index_structured() -> None:
    from llama_index.core.prompts import PromptTemplate

    from llama_index_modelslab import ModelsLabLLM

    prompt = PromptTemplate("{text}")
    person = ModelsLabLLM().structured_predict(Person, prompt, text=STRUCTURED_PROMPT)
    print(f"  {person!r}")
    _check(isinstance(person, Person), "structured_predict did not return a Person")


STEPS: list[tuple[str, str, Callable[[], None]]] = [
    ("LangChain", "streamed answer, reasoning apart", langchain_stream),
    ("LangChain", "tool-using agent step (bind_tools)", langchain_agent_step),
    ("LangChain", "structured output", langchain_structured),
    ("LlamaIndex", "streamed answer, reasoning apart", llama_index_stream),
    ("LlamaIndex", "tool-using agent step (FunctionAgent)", llama_index_agent_step),
    ("LlamaIndex", "structured output", llama_index_structured),
]


def _connect(stack: ExitStack) -> None:
    """Point both frameworks at real ModelsLab, or at a freshly started emulator."""
    if os.environ.get("MODELSLAB_API_KEY"):
        print("MODELSLAB_API_KEY is set: using real ModelsLab.")
        return
    from modelslab_emulator import Emulator

    emulator = stack.enter_context(Emulator())
    os.environ["MODELSLAB_BASE_URL"] = emulator.base_url
    os.environ["MODELSLAB_API_KEY"] = "demo-key"
    print(f"MODELSLAB_API_KEY is not set: using the offline emulator at {emulator.base_url}")
    print("(its scripted model echoes your message; set the key for real answers)")


def main() -> int:
    failures: list[str] = []
    with ExitStack() as stack:
        _connect(stack)
        for framework, title, step in STEPS:
            print(f"\n{BOLD}== {framework}: {title}{RESET}")
            try:
                step()
            except Exception as exc:  # the tour reports every failure, then exits non-zero
                failures.append(f"{framework}: {title}")
                print(f"  FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
                if not isinstance(exc, (StepFailed, ModelsLabError)):  # those read in one line
                    traceback.print_exc(limit=3, file=sys.stderr)
    if failures:
        print(f"\nDemo failed: {len(failures)} of {len(STEPS)} steps.", file=sys.stderr)
        return 1
    print(f"\nDemo finished: all {len(STEPS)} steps passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
