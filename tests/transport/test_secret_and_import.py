"""The key holder hides the key; importing the transport stays light."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest
from pydantic import SecretStr

from modelslab_transport import InvalidInputError, ModelsLabClient, Secret


def test_secret_never_shows_its_value() -> None:
    secret = Secret("sk-hidden-123")
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}"):
        assert "sk-hidden-123" not in text
    assert secret.get_secret_value() == "sk-hidden-123"
    assert secret == Secret("sk-hidden-123") and secret != Secret("other")
    assert pickle.loads(pickle.dumps(secret)) == secret


def test_client_accepts_str_and_pydantic_secret_but_not_other_types() -> None:
    for key in ("sk-a", SecretStr("sk-a")):
        client = ModelsLabClient(api_key=key, base_url="http://127.0.0.1:9")
        assert client.settings.api_key.get_secret_value() == "sk-a"
    with pytest.raises(InvalidInputError, match="must be a string"):
        ModelsLabClient(api_key=12345, base_url="http://127.0.0.1:9")  # type: ignore[arg-type]


def test_import_loads_neither_openai_nor_asyncio_nor_pydantic() -> None:
    code = (
        "import sys, modelslab_transport as t\n"
        "heavy = [m for m in ('openai', 'asyncio', 'pydantic') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert t.AsyncModelsLabClient.__name__ == 'AsyncModelsLabClient'\n"
        "assert 'asyncio' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
