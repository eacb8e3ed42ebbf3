"""The 1000-token default and the served context: what a vLLM host serving 40,960 refuses."""

from __future__ import annotations

from modelslab_emulator import Emulator
from tests.support.emulator_cli import emulator_cli
from tests.support.stdlib_http import LLAMA, MAGISTRAL, chat, user


def vllm_body(context: int, prompt: int, completion: int) -> dict[str, object]:
    return {
        "object": "error",
        "message": (
            f"This model's maximum context length is {context} tokens. However, you requested "
            f"{prompt + completion} tokens ({prompt} in the messages, {completion} in the "
            "completion). Please reduce the length of the messages or completion."
        ),
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }


def test_magistral_serves_40960_by_default(emu: Emulator) -> None:
    # The trap: the card's "max_tokens up to 40960" plus any prompt exceeds the served context.
    refused = chat(emu, model_id=MAGISTRAL, messages=user("hi there"), max_tokens=40_960)
    assert refused.status == 400
    assert refused.json() == vllm_body(40_960, 2, 40_960)
    fits = chat(emu, model_id=MAGISTRAL, messages=user("hi there"), max_tokens=40_958)
    assert fits.status == 200
    # The prompt alone over the served context is refused the same way (default 1000 counted).
    long = chat(emu, model_id=MAGISTRAL, messages=user("word " * 40_000))
    assert long.json() == vllm_body(40_960, 40_000, 1000)
    # Other models only check the prompt against their window.
    assert chat(emu, messages=user("hi"), max_tokens=500_000).status == 200


def test_served_context_scenario(emu: Emulator) -> None:
    scenario = "served-context;tokens=100"
    body = {"model_id": LLAMA, "messages": user("a b c")}
    assert chat(emu, scenario, **body, max_tokens=97).status == 200
    refused = chat(emu, scenario, **body, max_tokens=98)
    assert (refused.status, refused.json()) == (400, vllm_body(100, 3, 98))
    # No max_tokens: the API's 1000-token default is what the host is asked for.
    assert chat(emu, scenario, **body).json() == vllm_body(100, 3, 1000)
    # A served context smaller than Magistral's own overrides it, per request.
    small = chat(emu, "served-context;tokens=50", model_id=MAGISTRAL, messages=user("hi"))
    assert small.json() == vllm_body(50, 1, 1000)
    bad = chat(emu, "served-context;tokens=0", **body)
    assert bad.status == 400 and "tokens must be >= 1" in bad.json()["message"]


def test_served_context_option() -> None:
    with Emulator(served_context=500) as emu:
        assert chat(emu, messages=user("a b"), max_tokens=498).status == 200
        assert chat(emu, messages=user("a b"), max_tokens=499).json() == vllm_body(500, 2, 499)
        assert chat(emu, model_id=MAGISTRAL, messages=user("a b")).status == 400  # 2 + 1000


def test_served_context_cli_flag() -> None:
    with emulator_cli("--served-context", "64") as emu:
        assert chat(emu, messages=user("a b"), max_tokens=62).status == 200
        assert chat(emu, messages=user("a b"), max_tokens=63).json() == vllm_body(64, 2, 63)
