"""Agents, workflows and a query engine driven by ModelsLabLLM, end to end over the emulator."""

from __future__ import annotations

from llama_index.core import Document
from llama_index.core.agent.workflow import (
    AgentStream,
    AgentWorkflow,
    FunctionAgent,
    ReActAgent,
    ToolCall,
    ToolCallResult,
)
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.tools import FunctionTool
from llama_index.retrievers.bm25 import BM25Retriever

from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


TOOLS = [FunctionTool.from_defaults(add), FunctionTool.from_defaults(multiply)]
TASK = "Use add on 2 and 3, and multiply on 4 and 5."


async def _run_streaming(handler: object) -> tuple[list[object], object]:
    events = [event async for event in handler.stream_events()]  # type: ignore[attr-defined]
    return events, await handler  # type: ignore[misc]


def _check_two_tool_run(events: list[object], result: object, emulator: Emulator) -> None:
    calls = {e.tool_name: e.tool_kwargs for e in events if isinstance(e, ToolCall)}
    assert set(calls) == {"add", "multiply"}
    results = {e.tool_name: e.tool_output.content for e in events if isinstance(e, ToolCallResult)}
    answer = str(result)
    for name, output in results.items():
        assert f'{name} returned "{output}"' in answer
    streams = [e for e in events if isinstance(e, AgentStream)]
    assert "".join(e.delta for e in streams).endswith(answer.strip()[-20:])
    assert any(e.thinking_delta for e in streams)  # Magistral's reasoning, streamed apart
    assert all("<think>" not in e.delta and "I have 2 tool" not in e.delta for e in streams)
    # the second turn sent the tool results back, with matching normalised ids
    second = emulator.requests[-1].body["messages"]
    ids = [c["id"] for m in second if m["role"] == "assistant" for c in m.get("tool_calls", [])]
    assert sorted(ids) == sorted(m["tool_call_id"] for m in second if m["role"] == "tool")


async def test_function_agent_solves_two_tool_task_streaming(
    llm: ModelsLabLLM, emulator: Emulator
) -> None:
    agent = FunctionAgent(tools=TOOLS, llm=llm, system_prompt="You are a calculator.")
    events, result = await _run_streaming(agent.run(user_msg=TASK))
    _check_two_tool_run(events, result, emulator)
    assert all(r.body["stream"] for r in emulator.requests)


async def test_agent_workflow_solves_two_tool_task_streaming(
    llm: ModelsLabLLM, emulator: Emulator
) -> None:
    calculator = FunctionAgent(
        name="calculator",
        description="Does arithmetic with tools.",
        tools=TOOLS,
        llm=llm,
        system_prompt="You are a calculator.",
    )
    workflow = AgentWorkflow(agents=[calculator], root_agent="calculator")
    events, result = await _run_streaming(workflow.run(user_msg=TASK))
    _check_two_tool_run(events, result, emulator)


async def test_react_agent_answers_without_thinking_in_its_text(llm: ModelsLabLLM) -> None:
    agent = ReActAgent(tools=TOOLS, llm=llm)
    events, result = await _run_streaming(agent.run(user_msg="What is the capital of Peru?"))
    answer = str(result)
    assert "What is the capital of Peru?" in answer
    assert "<think>" not in answer
    assert "I will answer plainly" not in answer
    assert any(isinstance(e, AgentStream) and e.thinking_delta for e in events)


def test_query_engine_over_local_bm25_index(llm: ModelsLabLLM) -> None:
    documents = [
        Document(text="The Zorblax reactor runs on lunar helium and was built in 2041."),
        Document(text="Bananas are rich in potassium and grow in tropical climates."),
        Document(text="The city library opens at nine and closes at six on weekdays."),
    ]
    nodes = SentenceSplitter(chunk_size=64, chunk_overlap=0).get_nodes_from_documents(documents)
    retriever = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=1)
    engine = RetrieverQueryEngine.from_args(retriever, llm=llm)
    response = engine.query("What does the Zorblax reactor run on?")
    assert "lunar helium" in str(response)
    assert "Bananas" not in str(response)
    assert "<think>" not in str(response)
    streaming = RetrieverQueryEngine.from_args(retriever, llm=llm, streaming=True)
    streamed = streaming.query("When was the Zorblax reactor built?")
    text = "".join(streamed.response_gen)  # type: ignore[union-attr]
    assert "2041" in text
    assert "<think>" not in text
