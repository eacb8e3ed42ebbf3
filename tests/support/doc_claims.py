"""What each documented code block shows, checked against what it printed.

tests/test_docs.py runs every Python block of README.md and docs/*.md against the emulator;
"it ran" proves little (streamed thinking leaking into an answer still runs). So every block
has a claim here, found by a line of its code (`marker`), listing what its output must be,
line by line: each line of the output must match (in full) the next pattern, and the pattern
`...` stands for any number of lines. Patterns are regular expressions; `said(text)` is the
emulator's answer to `text`, `REASONING` a line of thinking that is not the answer and has no
think tags. On every block's output, whatever its claim: no think tags.

A block without a claim, or a claim whose marker no block contains, fails its test.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

ANY = "..."
# A think tag anywhere in printed output means reasoning leaked into what a user sees.
THINK_TAG = re.compile(r"</?think>|\[/?THINK\]", re.IGNORECASE)
# Thinking printed apart from the answer: text without the answer's words and without tags.
REASONING = r"(?:(?!You said)[^<>\n])*\w(?:(?!You said)[^<>\n])*"
LC_USAGE = (
    r"\{'input_tokens': \d+, 'output_tokens': \d+, 'total_tokens': \d+, "
    r"'output_token_details': \{'reasoning': \d+\}\}"
)
# The LlamaIndex agent's two tool results, which arrive in either order.
TOOL_RESULT = r"\[(?:add\(\{'a': 2, 'b': 3\}\) -> 5|multiply\(\{'a': \d+, 'b': \d+\}\) -> \d+)\]"
BOTH_RETURNED = (
    r'(?:add returned "5"; multiply returned "\d+"|multiply returned "\d+"; add returned "5")'
)


def said(text: str) -> str:
    """The emulator's answer to `text`, exactly."""
    return re.escape(f"You said: {text}")


CLAIMS: dict[str, tuple[str, ...]] = {
    # -- LangChain -------------------------------------------------------------------------
    "# Magistral's thinking, kept apart": (
        said("What is the capital of France?"),
        REASONING,
        LC_USAGE,
        said("Write a haiku about rivers."),
    ),
    "print(msg.usage_metadata)  # input/output/total (+ reasoning) tokens": (
        said("What is the capital of France?"),
        REASONING,
        LC_USAGE,
        r"mistralai-Magistral-Small-2506 stop",
    ),
    "chain = prompt | ChatModelsLab() | StrOutputParser()": (
        said("Translate cat to French"),
        re.escape("['You said: Translate dog to French', 'You said: Translate bird to French']"),
    ),
    "ChatModelsLab(temprature=0.2)": (
        ANY,
        r".*unknown parameter\(s\) 'temprature' \(did you mean 'temperature'\?\).*",
        ANY,
    ),
    'llm.bind(temprature=0.1).invoke("Hi")': (
        r".*unknown call argument\(s\) 'temprature' \(did you mean 'temperature'\?\).*",
        said("Hi"),
    ),
    'print(response.llm_output["token_usage"])': (
        r"\d+",
        r"\{'prompt_tokens': \d+, 'completion_tokens': \d+, 'total_tokens': \d+, "
        r"'completion_tokens_details': \{'reasoning_tokens': \d+\}\}",
    ),
    'for chunk in llm.stream("Tell me a short story"):': (
        said("Tell me a short story"),
        LC_USAGE + " stop",
        said("And another one"),
        said("Events too"),
    ),
    "agent = create_agent(llm, tools=[get_weather, get_time])": (
        r"\[\{'name': 'get_weather', 'args': \{'city': 'Paris'\}, 'id': '[^']+', "
        r"'type': 'tool_call'\}\]",
        # The agent's answer quotes both tools' results: both were called.
        r'.*get_weather returned "sunny, 21C in Lisbon".*get_time returned "09:00 in Lisbon".*',
    ),
    'method="json_mode", include_raw=True': (
        "name='Ada' age=36",
        "name='Ada' age=36",
        "None OutputParserException",
    ),
    "print([block[\"type\"] for block in msg.content_blocks])  # ['reasoning', 'text']": (
        re.escape("['reasoning', 'text']"),
        rf"\[\{{'type': 'reasoning', 'reasoning': '{REASONING}'\}}, "
        r"\{'type': 'text', 'text': 'You said: Is 17 prime\?'\}\]",
    ),
    "print(llm.get_num_tokens_from_messages(messages))": (
        r"\d+",
        r"\d+",
        r"\[.*'mistralai-Magistral-Small-2506'.*\]",
        r"\{'name': 'Magistral Small 2506', .*'reasoning_output': True.*\}",
    ),
    'ChatModelsLab(model="no-such-model").invoke("hi")': (
        r"ModelsLabNotFoundError Model not found: no-such-model \(HTTP 404\)",
    ),
    'answers = asyncio.run(llm.abatch([f"Question {i}" for i in range(20)]))': ("20",),
    'busy.invoke("Hello")': (
        "30 answers",
        r"rate limited; the server suggests waiting 0\.1 s",
    ),
    "def test_my_summariser_uses_modelslab(modelslab_emulator):": (ANY, r"1 passed.*"),
    "def test_my_code_survives_a_429(modelslab_emulator):": (ANY, r"1 passed.*"),
    # -- LlamaIndex ------------------------------------------------------------------------
    "for chunk in Settings.llm.stream_chat(": (
        said("Name the capital of France."),
        said("Write a haiku."),
    ),
    'ChatMessage(role="system", content="Answer in one sentence."),': (
        said("Name the capital of France."),
        said("What is LlamaIndex?"),
    ),
    'async for chunk in await llm.astream_complete("Write a haiku about stones."):': (
        said("Write a haiku about rivers."),
        said("Write a haiku about stones."),
    ),
    'print("thought:", thinking)': (
        rf"thought: \['{REASONING}'\]",
        "answer: " + said("Is 97 prime?"),
        rf"{REASONING} -> " + said("Is 91 prime?"),
        REASONING,  # the streamed thinking deltas, and no answer text among them
    ),
    "tool_required=True)": (
        r"get_weather \{'city': 'Paris'\}",
        r"sunny, 21C in Oslo",  # predict_and_call's response is the tool's own output
    ),
    'handler = agent.run(user_msg="Use add on 2 and 3, and multiply on 4 and 5.")': (
        # FunctionAgent runs the two tools concurrently: their results come in either order (the
        # emulator's scripted model gives every tool the prompt's first numbers).
        "",
        TOOL_RESULT,
        "",
        TOOL_RESULT,
        rf"Based on the tool results: {BOTH_RETURNED}\.",
        rf"final: Based on the tool results: {BOTH_RETURNED}\.",
    ),
    'print(engine.query("What does the Zorblax reactor run on?"))': (
        r"You said: Context information is below\.",
        ANY,
        # the retrieved node (not the bananas) reached the model
        r"The Zorblax reactor runs on lunar helium and was built in 2041\.",
        ANY,
        r"Query: What does the Zorblax reactor run on\?",
        r"Answer: ?",
    ),
    'print(llm.structured_predict(Album, prompt, title="Blue Hours"': (
        "title='Blue Hours' artist='Nova' year=1999",
        ANY,
        "title='Red' artist='Io' year=2001",
        "title='Green' artist='Ra' year=1987",
    ),
    'print(response.raw["usage"])': (
        r"\{'prompt_tokens': \d+, 'completion_tokens': \d+, 'total_tokens': \d+, "
        r"'reasoning_tokens': \d+, 'max_tokens': \d+\}",
        r"\{'prompt_tokens': \d+, 'completion_tokens': \d+, 'total_tokens': \d+, "
        r"'completion_tokens_details': \{'reasoning_tokens': \d+\}\}",
        r"\d+",
    ),
    "class MaxTokensSent(BaseEventHandler):": (
        r"LLMChatEndEvent 4\d{4}",
        r"LLMChatEndEvent 4\d{4}",
        "LLMCompletionEndEvent 256",
    ),
    'ModelsLabLLM(model="no-such-model").complete("Hello")': (
        "not found: 404 Model not found: no-such-model",
    ),
    'questions = [f"Give me fact number {i} about owls." for i in range(20)]': ("20 answers",),
    "llm = ModelsLabLLM(api_base=url, request_timeout=60)": (
        "True 60.0",
        said("Hello"),
        r".*unknown call keyword\(s\) 'max_token' \(did you mean 'max_tokens'\?\).*",
        r".*unknown call keyword\(s\) 'temprature' \(did you mean 'temperature'\?\).*",
    ),
    # -- both, and the transport -----------------------------------------------------------
    "patient = ModelsLabLLM(timeout=900.0, stream_idle_timeout=300.0)": (
        said("Hello") + r" \| " + said("Hello"),
    ),
    'payload = build_chat_payload("no-such-model"': (
        "NotFoundError 404 Model not found: no-such-model",
    ),
    'cut = ChatModelsLab(max_tokens=5).invoke("Is 17 prime?")': ("'' cut",),
    "cut = ModelsLabLLM(max_tokens=5).chat(": ("None cut|'' cut",),
    'llm = ModelsLabLLM(structured_output_method="json_schema")': (
        "title='Blue Hours' artist='Nova' year=1999",
    ),
    "print(answer.first.reasoning)  # the model's <think> block, kept apart": (
        REASONING,
        said("Why is the sky blue? One sentence."),
        said("Why is the sky blue? One sentence."),
    ),
    "answer = accumulate(events)  # the same ChatCompletion that chat() gives": (
        said("Count to three.") + " stop",
        "True",
    ),
    'print("failed after:", repr(error.partial_text))': (r"failed after: '[^']+'",),
    "print(queued.first_byte_timeout, patient.first_byte_timeout)": ("900.0 900.0",),
    # The limiter URL (it may carry a password) stays out of repr; the no-hang defaults.
    'print("pw" in repr(llm), llm.queue_wait_budget, llm.acquire_timeout)': ("False 300.0 600.0",),
    'with Emulator(profile="vllm") as emulator:': (
        re.escape("400 Unexpected role 'user' after role 'tool'"),
        "200",
    ),
    "with Emulator() as emulator:  # a free loopback port": (
        r"http://127\.0\.0\.1:\d+/api/v7/llm",
        said("Hello"),
        "1 request recorded",
    ),
    # Held-back headers count toward first_byte_timeout; the server sees the client leave.
    '"hold-headers;delay=3"': (
        r"0\.\d s: Timed out waiting for the stream to start \(first_byte_timeout.*",
        r"\{\} \{\}",
    ),
    "# Instead of init_chat_model(": ("meta-llama-llama-3.1-8b-instruct",),
    "def modelslab_tokens(text: str) -> list[int]:": (said("Hello"),),
}


def claim_for(code: str) -> tuple[str, tuple[str, ...]]:
    """The one claim whose marker this block's code contains."""
    found = [marker for marker in CLAIMS if marker in code]
    assert len(found) == 1, f"a documented block needs exactly one claim in doc_claims.py: {found}"
    return found[0], CLAIMS[found[0]]


def unused_markers(blocks: Iterable[str]) -> list[str]:
    """Claims whose marker no block contains (left behind when a block changed)."""
    codes = list(blocks)
    return [marker for marker in CLAIMS if not any(marker in code for code in codes)]


def check_output(code: str, output: str) -> None:
    """Assert that `output` shows what the block's claim says, and no think tag."""
    assert not THINK_TAG.search(output), f"a think tag reached the output:\n{output}"
    marker, patterns = claim_for(code)
    lines = output.rstrip("\n").split("\n")
    assert _match(patterns, lines), (
        f"the output does not show what the block claims ({marker!r}):\n"
        + "\n".join(patterns)
        + f"\n--- output\n{output}"
    )


def _match(patterns: Sequence[str], lines: Sequence[str]) -> bool:
    if not patterns:
        return not lines
    head, rest = patterns[0], patterns[1:]
    if head == ANY:
        return any(_match(rest, lines[start:]) for start in range(len(lines) + 1))
    return bool(lines) and re.fullmatch(head, lines[0]) is not None and _match(rest, lines[1:])
