"""The default budget on a vLLM-served Magistral host of 40,000 or 40,960 tokens, both
adapters, every mode: a 30,000-token RAG prompt (tekken's count) is answered, not cut; what a
host states about its context is learned once, so three calls cost at most one refusal. Both
vLLM overflow wordings, and the same tests on the OpenRouter profile (the emulator's default)."""

from __future__ import annotations

import itertools

import pytest

from modelslab_emulator import Emulator
from tests.support.long_prompts import RAG_QUESTION, emulator_context, rag_prompt
from tests.support.models import MakeChatModel, MakeLLM
from tests.support.weather_agent import QUESTION

from .sides import MODES, LangChainSide, LlamaIndexSide, Side
from .turns import FOLLOW_UP, Turn, assistant, parallel, system, user

#: The emulator's default profile, and vLLM with its old (`{"object":"error"}`) and new
#: (`{"error":{…}}`) context-overflow wording.
PROFILES = {
    "openrouter": "profile;name=openrouter",
    "vllm-old": "profile;name=vllm;context_error=old",
    "vllm-new": "profile;name=vllm;context_error=new",
}
HOSTS = (40_000, 40_960)
#: Where a RAG app puts the retrieved passages: in the system message (LlamaIndex's context
#: chat; Magistral then answers without thinking on a vLLM host), or in an earlier user turn
#: (Magistral thinks first, about 1,200 tokens).
PLACEMENTS = ("system", "earlier-turn")
#: A test so marked runs in every mode against every host profile.
ON_EVERY_HOST = pytest.mark.parametrize(
    ("mode", "profile"), list(itertools.product(MODES, PROFILES))
)


def host(profile: str, tokens: int) -> str:
    """The scenario of a `tokens`-token host of `profile`."""
    return f"{PROFILES[profile]}, served-context;tokens={tokens}"


def rag_turns(placement: str) -> list[Turn]:
    passages, question = rag_prompt(30_000)  # built once per session (tekken counts it)
    if placement == "system":
        return [system(passages), user(question)]
    return [user(passages), assistant("I have read the documents."), user(question)]


def served(profile: str, tokens: int, turns: list[Turn]) -> int:
    """What to serve the emulator so that it refuses as a `tokens`-token vLLM host would: the
    vLLM profile counts with tekken, as the host does; the OpenRouter profile counts a token
    per word, so its context is moved by the difference (`emulator_context`)."""
    if profile.startswith("vllm"):
        return tokens
    return emulator_context(tokens, *(t.text for t in turns))


@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize("tokens", HOSTS)
@ON_EVERY_HOST
def test_a_30000_token_rag_prompt_is_answered(
    side: Side, emulator: Emulator, mode: str, profile: str, tokens: int, placement: str
) -> None:
    turns = rag_turns(placement)
    model = side.model(host(profile, served(profile, tokens, turns)))
    reply = side.ask(model, mode, side.messages(turns))
    assert (reply.text, reply.finish) == (f"You said: {RAG_QUESTION}", "stop")
    if profile.startswith("vllm"):
        assert reply.prompt_tokens is not None and reply.prompt_tokens >= 30_000  # tekken's
        # Magistral thinks unless a custom system prompt holds the passages.
        assert bool(reply.reasoning) is (placement != "system")
    [request] = side.sent(emulator, model)  # sized right the first time: no refusal
    assert request.status == 200 and "max_tokens" in request.body


@ON_EVERY_HOST
def test_three_calls_on_a_40000_token_host_cost_at_most_one_refusal(
    side: Side, emulator: Emulator, mode: str, profile: str
) -> None:
    model = side.model(host(profile, 40_000))
    conversations = [
        [user(QUESTION)],
        rag_turns("system"),
        [*parallel("call_weather_01", "call_time_02"), user(FOLLOW_UP)],
    ]
    for turns in conversations:
        reply = side.ask(model, mode, side.messages(turns))
        assert reply.text and reply.finish == "stop"
    statuses = [r.status for r in side.sent(emulator, model)]
    refusals = statuses.count(400)
    assert refusals <= 1 and statuses.count(200) == 3 and len(statuses) == 3 + refusals
    if refusals:  # the refused request was the first, resent once at the size the host stated
        assert statuses[:2] == [400, 200]


@pytest.mark.parametrize("profile", PROFILES)
def test_a_limit_learned_through_one_adapter_spares_the_other_the_refusal(
    make_chat_model: MakeChatModel, make_llm: MakeLLM, emulator: Emulator, profile: str
) -> None:
    sides: list[Side] = [LangChainSide(make_chat_model), LlamaIndexSide(make_llm)]
    statuses = []
    for side in [*sides, *reversed(sides)]:
        model = side.model(host(profile, 40_000))
        assert side.ask(model, "sync", side.messages([user("Hi")])).text == "You said: Hi"
        statuses.append([r.status for r in side.sent(emulator, model)])
    # The default (40,435 for this prompt) overflows 40,000 once; learned per base URL and
    # model, process-wide, so neither adapter nor a new model object repeats it.
    assert statuses == [[400, 200], [200], [200], [200]]


@pytest.mark.parametrize("placement", PLACEMENTS)
@ON_EVERY_HOST
def test_a_prompt_near_the_edge_costs_one_cheap_refusal_at_most_then_is_answered(
    side: Side, emulator: Emulator, mode: str, profile: str, placement: str
) -> None:
    # 37,500 of a 40,000-token host's context: too little room to guess, enough to answer. The
    # default must not be a sliver that gets a paid, cut answer: a refusal (free, stating the
    # exact numbers) resent once at the room the host states, or the right size at once.
    passages, question = rag_prompt(37_500)
    turns = (
        [system(passages), user(question)]
        if placement == "system"
        else [user(passages), assistant("I have read the documents."), user(question)]
    )
    model = side.model(host(profile, served(profile, 40_000, turns)))
    reply = side.ask(model, mode, side.messages(turns))
    assert (reply.text, reply.finish) == (f"You said: {RAG_QUESTION}", "stop")
    statuses = [r.status for r in side.sent(emulator, model)]
    assert statuses in ([200], [400, 200]), statuses
