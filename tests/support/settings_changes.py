"""Connection settings changed after construction are used by the next request (issue 11):
the checks both framework adapters share. Each adapter's test module subclasses
`ChangedFieldsChecks` as a `Test...` class and says how to build its model and ask it once.

Each test makes a first request (so a client is already built and cached), changes one field,
and checks over loopback that the next request, sync or async, uses the new value.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from modelslab_emulator import Emulator
from modelslab_transport import APITimeoutError, ServerError
from tests.support.scenarios import unique

KEY = "test-key-changed-fields-0123"
MODES = ["sync", "async"]


class ChangedFieldsChecks:
    """Not collected itself (no `Test` prefix): the adapter's subclass is."""

    model_class: Any  # the adapter's model: ChatModelsLab or ModelsLabLLM

    def ask(self, llm: Any, mode: str, text: str = "hi") -> str:
        raise NotImplementedError

    def make(self, emulator: Emulator, scenario: str | None = None, **kwargs: Any) -> Any:
        if scenario:  # a unique id: the emulator counts `times=` per exact header value
            kwargs["default_headers"] = {"X-Emulator-Scenario": unique(scenario)}
        return self.model_class(api_key=KEY, base_url=emulator.base_url, **kwargs)

    @pytest.mark.parametrize("mode", MODES)
    def test_base_url(self, emulator: Emulator, mode: str) -> None:
        llm = self.make(emulator)
        assert self.ask(llm, mode, "first") == "You said: first"
        with Emulator() as other:
            llm.base_url = other.base_url
            assert self.ask(llm, mode, "second") == "You said: second"
            assert len(other.requests) == 1
        assert len(emulator.requests) == 1

    @pytest.mark.parametrize("mode", MODES)
    def test_temperature(self, emulator: Emulator, mode: str) -> None:
        llm = self.make(emulator, temperature=0.9)
        self.ask(llm, mode)
        assert emulator.requests[-1].body["temperature"] == 0.9
        llm.temperature = 0.1
        self.ask(llm, mode)
        assert emulator.requests[-1].body["temperature"] == 0.1

    @pytest.mark.parametrize("mode", MODES)
    def test_max_retries(self, emulator: Emulator, mode: str) -> None:
        llm = self.make(emulator, "server-error;times=1", max_retries=2)
        assert self.ask(llm, mode) == "You said: hi"  # the 500 was retried
        assert len(emulator.requests) == 2
        emulator.clear()  # the scenario fires once more
        llm.max_retries = 0
        with pytest.raises(ServerError):
            self.ask(llm, mode)
        assert len(emulator.requests) == 1
        emulator.clear()
        llm.max_retries = 1
        assert self.ask(llm, mode) == "You said: hi"
        assert len(emulator.requests) == 2

    @pytest.mark.parametrize("mode", MODES)
    def test_timeout(self, emulator: Emulator, mode: str) -> None:
        llm = self.make(emulator, "slow-first-byte;delay=1.5;times=1", max_retries=0)
        assert self.ask(llm, mode) == "You said: hi"  # slow, within the default timeout
        emulator.clear()
        llm.timeout = 0.3
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            self.ask(llm, mode)
        assert time.monotonic() - started < 1.2
        # The emulator still serves the abandoned request: let it finish, or it lands in the
        # request log of the next test.
        deadline = time.monotonic() + 5
        while any(emulator.in_flight.values()) and time.monotonic() < deadline:
            time.sleep(0.05)

    def test_a_header_changed_in_place(self, emulator: Emulator) -> None:
        llm = self.make(emulator, default_headers={"X-Trace": "1"})
        self.ask(llm, "sync")
        assert llm.default_headers is not None
        llm.default_headers["X-Trace"] = "2"  # the same dict, changed: settings are rebuilt
        self.ask(llm, "sync")
        assert [r.headers["x-trace"] for r in emulator.requests] == ["1", "2"]
