"""Which limiter a client uses (`limiter_url`: unset or "machine", "process", a Redis URL), the
fallback to the in-process limit with exactly one warning where the machine-local one cannot
work, and a forked child that holds none of its parent's slots. Each test has its own
XDG_RUNTIME_DIR."""

from __future__ import annotations

import logging
import os
import pickle
import time
import warnings
from pathlib import Path

import pytest
from langchain_core.load import dumps, loads

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_emulator import Emulator
from modelslab_transport import (
    AsyncModelsLabClient,
    InvalidInputError,
    ModelsLabClient,
)
from modelslab_transport.limits._machine import MachineSlots, machine_slots
from tests.support.transport_calls import payload

KEY = "sk-choice-canary-0123456789"


@pytest.fixture(autouse=True)
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "run"
    path.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path))
    monkeypatch.delenv("MODELSLAB_LIMITER_URL", raising=False)
    return path


def test_machine_local_is_the_default_and_process_opts_out(base_url: str) -> None:
    assert isinstance(ModelsLabClient(api_key=KEY, base_url=base_url).limiter.shared, MachineSlots)
    named = ModelsLabClient(api_key=KEY, base_url=base_url, limiter_url="machine")
    assert isinstance(named.limiter.shared, MachineSlots)
    assert (
        ModelsLabClient(api_key=KEY, base_url=base_url, limiter_url="process").limiter.shared
        is None
    )


def test_the_environment_can_choose_process(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSLAB_LIMITER_URL", "process")
    assert ModelsLabClient(api_key=KEY, base_url=base_url).limiter.shared is None


def test_an_adapter_uses_the_limiter_its_fields_name(base_url: str) -> None:
    chat_model = ChatModelsLab(api_key=KEY, base_url=base_url)
    assert isinstance(chat_model._sync_client().limiter.shared, MachineSlots)
    chat_model.limiter_url = "process"  # not a client setting: still a new client
    assert chat_model._sync_client().limiter.shared is None
    llm = ModelsLabLLM(api_key=KEY, base_url=base_url)
    assert isinstance(llm._get_client().limiter.shared, MachineSlots)
    llm.limiter_url = "process"
    assert llm._get_client().limiter.shared is None


def test_an_unknown_limiter_is_refused_with_the_choices() -> None:
    with pytest.raises(InvalidInputError, match=r"'machine'.*'process'"):
        ModelsLabClient(api_key=KEY, limiter_url="processes")


def test_a_named_limiter_serializes_as_it_is() -> None:
    model = ChatModelsLab(api_key=KEY, limiter_url="process")
    text = dumps(model)
    assert KEY not in text and "process" in text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # `loads` is marked beta
        clone = loads(
            text,
            secrets_map={"MODELSLAB_API_KEY": KEY},
            valid_namespaces=["langchain_modelslab"],
            allowed_objects=[ChatModelsLab],
        )
    assert isinstance(clone, ChatModelsLab) and clone.limiter_url == "process"
    assert pickle.loads(pickle.dumps(model)).limiter_url == "process"


@pytest.mark.parametrize("where", ["missing", "a-file"])
def test_an_unusable_directory_falls_back_with_one_warning(
    where: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    emulator: Emulator,
) -> None:
    target = tmp_path / where
    if where == "a-file":
        target.write_text("not a directory")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(target))
    caplog.set_level(logging.WARNING, logger="modelslab_transport")
    started = time.monotonic()
    for _ in range(2):
        client = ModelsLabClient(api_key=KEY, base_url=emulator.base_url)
        assert client.limiter.shared is None  # the in-process limit only
        assert client.chat(payload("hi")).first.content == "You said: hi"
    aclient = AsyncModelsLabClient(api_key=KEY, base_url=emulator.base_url)
    assert aclient.limiter.shared is None
    assert time.monotonic() - started < 10  # never a hang
    warnings = [r for r in caplog.records if "machine-local limiter" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert str(target) in warnings[0].getMessage() and KEY not in caplog.text


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_holds_none_of_its_parents_slots() -> None:
    slots = machine_slots(KEY, "http://127.0.0.1:9", acquire_timeout=0.3)
    assert slots is not None
    with slots.hold(1):
        assert slots.in_flight == 1
        pid = os.fork()
        if pid == 0:  # the child: the parent's slot is the parent's, not ours
            code = 1
            try:
                assert slots.in_flight == 0
                try:
                    with slots.hold(1):
                        code = 2  # took the slot the parent holds: wrong
                except Exception as exc:
                    code = 0 if type(exc).__name__ == "LimiterTimeoutError" else 3
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with slots.hold(1):  # the parent still takes and gives back its slot as before
        assert slots.in_flight == 1
    assert slots.in_flight == 0
