"""What counts as a refused response_format, seen through the real clients and error bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import (
    FALLBACK_ORDER,
    AsyncModelsLabClient,
    ModelsLabClient,
    ModelsLabError,
    accumulate,
    fallback_methods,
    is_format_refusal,
    json_mode_instruction,
)
from modelslab_transport._failures import error_from_response
from tests.support.transport_calls import LLAMA, payload, scenario

KEY = "sk-structured-fallback-5d1e"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}},
    "required": ["name"],
}
JSON_SCHEMA = {"type": "json_schema", "json_schema": {"name": "P", "schema": SCHEMA}}


def _client(emulator: Emulator, headers: dict[str, str]) -> ModelsLabClient:
    return ModelsLabClient(  # no resends at all, queue-full 429s included
        api_key=KEY,
        base_url=emulator.base_url,
        default_headers=headers,
        max_retries=0,
        queue_wait_budget=0,
    )


@pytest.mark.parametrize(
    "name", ["refuse-json-schema", "refuse-json-schema;status=400", "refuse-json-mode"]
)
def test_refusal_through_the_client_is_recognised(emulator: Emulator, name: str) -> None:
    base, _, param = name.partition(";")
    params = dict([param.split("=")]) if param else {}
    with _client(emulator, scenario(base, **params)) as client:
        with pytest.raises(ModelsLabError) as info:
            client.chat(payload('"Ada"', response_format=JSON_SCHEMA))
        assert is_format_refusal(info.value)
        with pytest.raises(ModelsLabError) as streamed:
            accumulate(
                client.stream_chat(payload('"Ada"', stream=True, response_format=JSON_SCHEMA))
            )
        assert is_format_refusal(streamed.value)


async def test_refusal_through_the_async_client_is_recognised(emulator: Emulator) -> None:
    async with AsyncModelsLabClient(
        api_key=KEY, base_url=emulator.base_url, default_headers=scenario("refuse-json-schema")
    ) as client:
        with pytest.raises(ModelsLabError) as info:
            await client.chat(payload("x", response_format=JSON_SCHEMA))
    assert is_format_refusal(info.value)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("http-error", {"status": 401, "message": "Invalid API key"}),
        ("http-error", {"status": 500, "message": "Provider returned error"}),
        ("http-error", {"status": 502, "message": "json_schema upstream failure"}),
        ("http-error", {"status": 400, "message": "Invalid temperature"}),
        ("http-error", {"status": 404, "message": "Model not found: x"}),
        ("rate-limit", {"times": 5}),
        ("insufficient-credits", {}),
    ],
)
def test_other_errors_are_not_refusals(
    emulator: Emulator, name: str, params: dict[str, Any]
) -> None:
    with _client(emulator, scenario(name, **params)) as client:
        with pytest.raises(ModelsLabError) as info:
            client.chat(payload("x", response_format=JSON_SCHEMA))
    assert not is_format_refusal(info.value)


@pytest.mark.parametrize(
    ("status", "body", "refused"),
    [
        (200, {"status": "error", "message": "Provider returned error"}, True),
        (200, {"error": {"message": "Provider returned error", "code": 400}}, True),
        (400, {"error": {"message": "Provider returned error", "metadata": {"raw": "x"}}}, True),
        (400, {"object": "error", "message": "response_format json_schema unsupported"}, True),
        (422, {"detail": "guided_json: invalid schema"}, True),
        (400, {"status": "error", "message": "Invalid tool_choice"}, False),
        (
            400,
            {"object": "error", "message": "This model's maximum context length is 40960 tokens."},
            False,
        ),
        (200, {"status": "error", "message": "Invalid API key"}, False),
        (200, {"status": "error", "message": "Server busy"}, False),
        (503, {"status": "error", "message": "Provider returned error"}, False),
    ],
)
def test_refusal_is_decided_by_status_and_message(
    status: int, body: dict[str, Any], refused: bool
) -> None:
    error = error_from_response(status, json.dumps(body).encode(), {}, secret=KEY)
    assert is_format_refusal(error) is refused


def test_non_errors_are_not_refusals() -> None:
    assert not is_format_refusal(ValueError("Provider returned error"))


def test_fallback_order_and_instruction() -> None:
    assert FALLBACK_ORDER == ("json_schema", "json_mode", "function_calling")
    assert fallback_methods("json_mode") == ("json_mode", "function_calling")
    assert fallback_methods("function_calling") == ("function_calling",)
    text = json_mode_instruction(SCHEMA, name="Person")
    assert "Person" in text and "JSON" in text
    assert json.loads(text[text.index("{") :]) == SCHEMA


def test_a_refused_request_is_not_retried(emulator: Emulator) -> None:
    headers = scenario("refuse-json-schema")
    with ModelsLabClient(api_key=KEY, base_url=emulator.base_url, default_headers=headers) as c:
        with pytest.raises(ModelsLabError):
            c.chat(payload("x", model=LLAMA, response_format=JSON_SCHEMA))
    sent = [r for r in emulator.requests if r.scenario == headers["X-Emulator-Scenario"]]
    assert len(sent) == 1


# The refusal fixtures (tests/fixtures/wire/json_schema_refused_*.json) are replayed over
# loopback by tests/transport/test_wire_fixtures.py, which checks `is_format_refusal` on each.
