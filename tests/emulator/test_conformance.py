"""The conformance run (``python -m modelslab_emulator.conformance``), over loopback only.

Against the emulator it reports no differences; against a server that answers differently it
names each planted difference; with a canary key, the key appears in none of the bytes it writes.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from modelslab_emulator import Emulator
from modelslab_emulator.conformance import main, plan
from modelslab_emulator.conformance._cli import LOCAL_KEY, _parser
from modelslab_emulator.conformance._plan import budget

from .conformance_stub import Answer, Plant, stub_server

ROOT = Path(__file__).resolve().parents[2]
MODEL = "mistralai-Magistral-Small-2506"
PROBES = [item.name for item in plan([MODEL])]


def _sections(report: str) -> dict[str, str]:
    """Report text per probe section (``## `name` ``)."""
    parts = re.split(r"^## `([^`]+)`$", report, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _name(probe: str) -> str:
    return f"{probe}--{MODEL}" if not probe.startswith(("error-", "count-", "models")) else probe


def test_against_the_emulator_there_are_no_differences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    lines = printed.splitlines()
    # the count and the cost come before the first request
    assert lines[0].startswith(f"Conformance run: {len(PROBES)} requests to http://127.0.0.1:")
    assert lines[1].startswith("cost: at most ") and "completion tokens" in lines[1]
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "- Result: no differences" in report
    sections = _sections(report)
    assert sorted(sections) == sorted(PROBES)
    assert all("No differences." in text for text in sections.values())
    # one fixture per exchange, in the shared format, for the target and the emulator
    for folder in ("recorded", "emulator"):
        files = sorted(p.stem for p in (tmp_path / folder).glob("*.json"))
        assert files == sorted(PROBES)
    stream = json.loads(
        (tmp_path / "recorded" / f"{_name('chat-stream-usage')}.json").read_text("utf-8")
    )
    assert set(stream) == {"name", "source", "request", "response"}
    assert set(stream["request"]) == {"method", "path", "headers", "body"}
    assert set(stream["response"]) == {"status", "headers", "body"}
    assert stream["request"]["path"] == "/chat/completions"
    assert stream["request"]["headers"]["authorization"] == "<redacted>"
    assert stream["request"]["body"]["key"] == "<redacted>"
    assert stream["response"]["headers"]["content-type"].startswith("text/event-stream")
    body = stream["response"]["body"]
    assert body.startswith(": OPENROUTER PROCESSING\n\ndata: {")  # comment lines kept
    assert body.endswith("data: [DONE]\n\n")
    models = json.loads((tmp_path / "recorded" / "models.json").read_text("utf-8"))
    assert models["request"] == {
        "method": "GET",
        "path": "/v1/models",
        "headers": {
            "authorization": "<redacted>",
            "accept": "application/json",
            "x-api-key": "<redacted>",
        },
        "body": None,
    }


def _drop_comment_lines(answer: Answer) -> None:
    answer.body = re.sub(r"^:[^\n]*\n\n", "", answer.body, flags=re.MULTILINE)


def _drop_owned_by(answer: Answer) -> None:
    listing = json.loads(answer.body)
    for model in listing["data"]:
        del model["owned_by"]
    answer.body = json.dumps(listing)


def _add_retry_after(answer: Answer) -> None:
    answer.headers["Retry-After"] = "5"


def _string_content_blocks(answer: Answer) -> None:
    document = json.loads(answer.body)
    document["choices"][0]["message"]["content"] = [{"type": "text", "text": "hi"}]
    answer.body = json.dumps(document)


PLANTED = {
    # probe: (how the stub differs, text the report must show for it)
    "chat-stream-usage": (
        Plant("no-usage", _drop_comment_lines),
        [
            "**usage arrives**: target `none`; emulator `usage-only chunk (no choices)`",
            "**SSE comment lines**: target `none`; emulator `present`",
            "**fields missing from the target**: `usage` (object, 5 nested)",
        ],
    ),
    "error-bad-key": (
        Plant("openai-error"),
        [
            '**error shape**: target `OpenAI {"error":{...}}`; '
            'emulator `ModelsLab {"status":"error","message":...}`',
            "**fields only in the target**: `error` (object, 3 nested)",
            "**fields missing from the target**: `message` (string), `status` (string)",
        ],
    ),
    "chat-reasoning-stream": (
        Plant("reasoning-field"),
        [
            "**reasoning arrives**: target `reasoning_content field`; emulator `inline <think> tags`",
            "**fields only in the target**: `choices[].delta.reasoning_content` (string)",
        ],
    ),
    "chat-tools-stream": (
        Plant("repeat-tool-id"),
        ["**tool calls: id repeated on later fragments**: target `yes`; emulator `no`"],
    ),
    "messages-stream": (Plant("crlf"), ["**SSE line endings**: target `CRLF`; emulator `LF`"]),
    "models": (
        Plant(rewrite=_drop_owned_by),
        ["**fields missing from the target**: `data[].owned_by` (string)"],
    ),
    "error-unknown-model": (
        Plant(rewrite=_add_retry_after),
        ["**retry hint headers**: target `retry-after`; emulator `none`"],
    ),
    "chat-plain": (
        Plant(rewrite=_string_content_blocks),
        [
            "**field type** `choices[].message.content`: target `array`; emulator `string`",
            "**reasoning arrives**: target `none`; emulator `inline <think> tags`",
            "**fields only in the target**: `choices[].message.content[]` (object, 2 nested)",
        ],
    ),
}


def test_against_a_different_server_each_planted_difference_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plants = {_name(probe): plant for probe, (plant, _) in PLANTED.items()}
    with (
        Emulator(api_keys=[LOCAL_KEY]) as upstream,
        stub_server(upstream, plants, [MODEL]) as (
            base_url,
            log,
        ),
    ):
        status = main(["--base-url", base_url, "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert status == 1, printed
    assert sorted(log.probes_seen) == sorted(PROBES)  # the stub recognised every probe
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    sections = _sections(report)
    for probe, (_, expected) in PLANTED.items():
        section = sections[_name(probe)]
        for line in expected:
            assert f"- {line}\n" in section + "\n", f"{probe}: {line!r} not in\n{section}"
        listed = [line for line in section.splitlines() if line.startswith("- ")]
        assert len(listed) == len(expected), f"{probe}: unexpected extra lines\n{section}"
    for probe in PROBES:
        if probe.split("--")[0] not in PLANTED:
            assert "No differences." in sections[probe], sections[probe]
    assert f"- Result: {sum(len(e) for _, e in PLANTED.values())} differences in " in report
    # the recording keeps what the target sent: no comment line, no usage
    recorded = json.loads(
        (tmp_path / "recorded" / f"{_name('chat-stream-usage')}.json").read_text("utf-8")
    )
    assert not recorded["response"]["body"].startswith(":")
    assert '"usage"' not in recorded["response"]["body"]

    # the recordings alone, offline, bring the same differences back
    replay = tmp_path / "replay"
    assert main(["--recordings", str(tmp_path / "recorded"), "--out", str(replay)]) == 1
    again = _sections((replay / "report.md").read_text(encoding="utf-8"))
    assert sorted(again) == sorted(sections)
    for name, section in sections.items():
        live = [line for line in section.splitlines() if line.startswith("- ")]
        replayed = [line for line in again[name].splitlines() if line.startswith("- ")]
        assert replayed == [line.replace("target", "recording") for line in live], name
    same = tmp_path / "same"
    assert main(["--recordings", str(tmp_path / "emulator"), "--out", str(same)]) == 0
    assert "- Result: no differences" in (same / "report.md").read_text(encoding="utf-8")


CANARY = "sk-canary-7f3a9c2e5b1d4860"


def _echo_key_in_header(answer: Answer) -> None:
    answer.headers["X-Echo"] = f"served for {answer.key}"


def _echo_key_in_stream(answer: Answer) -> None:
    answer.body = f": key {answer.key}\n\n" + answer.body


def _echo_key_in_json(answer: Answer) -> None:
    document = json.loads(answer.body)
    document["echo"] = {"key": answer.key, "note": f"Bearer {answer.key}"}
    answer.body = json.dumps(document)


def test_the_key_never_appears_in_recordings_report_or_output(tmp_path: Path) -> None:
    plants = {
        _name("chat-plain"): Plant(rewrite=_echo_key_in_header),
        _name("chat-stream-usage"): Plant(rewrite=_echo_key_in_stream),
        _name("messages"): Plant(rewrite=_echo_key_in_json),
        "models": Plant(rewrite=_echo_key_in_json),
        # the emulator's own opt-in: an error message quoting the caller's key
        _name("chat-json-object"): Plant("echo-key;status=400"),
    }
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELSLAB_")}
    env["MODELSLAB_API_KEY"] = CANARY
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    with (
        Emulator(api_keys=[CANARY]) as upstream,
        stub_server(upstream, plants, [MODEL]) as (
            base_url,
            log,
        ),
    ):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "modelslab_emulator.conformance",
                "--base-url",
                base_url,
                "--out",
                str(out),
            ],
            env=env,
            capture_output=True,
            timeout=120,
        )
    assert CANARY in log.keys_seen  # the key was really sent, and echoed back by the stub
    assert done.returncode == 1, done.stderr  # the echoes are differences
    written = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert len(written) == 2 * len(PROBES) + 1
    for where, data in [*written.items(), ("stdout", done.stdout), ("stderr", done.stderr)]:
        assert CANARY.encode() not in data, where
        assert CANARY[3:].encode() not in data, where
    # the echoes were recorded, scrubbed
    plain = json.loads(written[out / "recorded" / f"{_name('chat-plain')}.json"])
    assert plain["response"]["headers"]["x-echo"] == "served for <redacted>"
    stream = json.loads(written[out / "recorded" / f"{_name('chat-stream-usage')}.json"])
    assert stream["response"]["body"].startswith(": key <redacted>\n\n")
    error = json.loads(written[out / "recorded" / f"{_name('chat-json-object')}.json"])
    assert "<redacted>" in error["response"]["body"]


def test_it_refuses_a_non_loopback_target_without_yes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELSLAB_API_KEY", CANARY)
    out = tmp_path / "out"
    status = main(["--base-url", "https://modelslab.invalid/api/v7/llm", "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 2
    assert "without --yes" in captured.err
    assert f"Conformance run: {len(PROBES)} requests" in captured.out  # the cost was stated
    assert not out.exists()  # nothing was sent, nothing recorded
    assert CANARY not in captured.out + captured.err


def test_the_real_service_is_the_default_target_when_a_key_is_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELSLAB_API_KEY", CANARY)
    status = main(["--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert status == 2
    assert "requests to https://modelslab.com/api/v7/llm" in captured.out
    assert "without --yes" in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "a", "--model", "b", "--model", "c"], "at most 30"),
        (["--base-url", "ftp://127.0.0.1/x"], "http(s) URL"),
        (["--recordings", "no/such/folder"], "no recordings (*.json) in no/such/folder"),
        (["--recordings", ".", "--model", "m"], "no --base-url/--model"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_unreachable_target_is_a_setup_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Emulator() as emulator:
        base_url = emulator.base_url  # a port that was just freed: nothing answers there
    assert main(["--base-url", base_url, "--out", str(tmp_path / "out")]) == 2
    assert "no answer from" in capsys.readouterr().err


# --- docs/conformance.md stays true ---------------------------------------------------------

DOC = ROOT / "docs" / "conformance.md"


def _bash_lines() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"^```bash\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)
    lines = [
        re.sub(r"\s+#.*$", "", line).strip() for block in blocks for line in block.splitlines()
    ]
    return [line for line in lines if line]


def test_every_command_in_the_docs_is_valid_and_the_offline_ones_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline commands run for real, in order, in a temporary folder; the others are parsed."""
    monkeypatch.chdir(tmp_path)
    lines = _bash_lines()
    assert lines
    ran = 0
    for line in lines:
        words = shlex.split(line)
        env = [w for w in words if re.match(r"^[A-Z_]+=", w)]
        words = words[len(env) :]
        if words[:2] == ["bash", "scripts/conformance.sh"]:
            assert (ROOT / words[1]).is_file()
            arguments = words[2:]
        else:
            assert words[:3] == ["python", "-m", "modelslab_emulator.conformance"], line
            arguments = words[3:]
        parsed = _parser().parse_args(arguments)
        if env:  # a real run: it must name the key and say --yes
            assert [e.split("=")[0] for e in env] == ["MODELSLAB_API_KEY"], line
            assert parsed.yes, line
        elif words[0] == "python":
            assert main(arguments) == 0, capsys.readouterr()
            ran += 1
    assert ran >= 2
    assert (tmp_path / "conformance-out" / "report.md").is_file()


def test_the_docs_list_every_probe_and_state_the_cost() -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = re.findall(
        r"^\| `([a-z0-9-]+)` \| `(GET|POST) (\S+)` \|.*\| (\d+|-) \| (yes|no) \|$",
        text,
        flags=re.MULTILINE,
    )
    documented = {
        name: (method, path, tokens, stream) for name, method, path, tokens, stream in rows
    }
    for item in plan([MODEL]):
        probe = item.probe
        assert documented.pop(probe.name) == (
            probe.method,
            probe.path,
            str(probe.max_tokens or "-"),
            "yes" if probe.stream else "no",
        ), probe.name
    assert not documented
    completion, prompt = budget(plan([MODEL]))
    assert f"at most **{completion} completion tokens**" in text
    assert f"**about {round(prompt, -1)} prompt tokens**" in text
    stated = re.search(r"adds (\d+) completion tokens and about (\d+)\s+prompt tokens", text)
    assert stated, "the cost of a second model is not stated"
    for other in ("meta-llama-llama-3.1-8b-instruct", "Qwen-Qwen3-Next-80B-A3B-Instruct"):
        two = budget(plan([MODEL, other]))
        assert int(stated.group(1)) == two[0] - completion
        assert abs(int(stated.group(2)) - (two[1] - prompt)) <= 60, two[1] - prompt


@pytest.mark.parametrize("profile", ["vllm", "openrouter"])
def test_the_host_probes_name_the_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], profile: str
) -> None:
    with Emulator(profile=profile, api_keys=[LOCAL_KEY]) as target:
        status = main(["--base-url", target.base_url, "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert f"host profile: {profile}\n" in printed
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert f"- Host profile: {profile} " in report
    sent = json.loads((tmp_path / "recorded" / "host-tool-then-user.json").read_text("utf-8"))
    roles = [m["role"] for m in sent["request"]["body"]["messages"]]
    assert roles == ["user", "assistant", "tool", "user"]  # sent unshaped
    if profile == "vllm":
        assert status == 1  # the reference emulator is the OpenRouter profile
        assert "`host-context-over-40000`: serves 40960 tokens, vLLM's older wording" in report
        assert "Unexpected role 'user' after role 'tool'" in report
    else:
        assert status == 0
        assert "`host-trailing-assistant`: answered (HTTP 200)" in report
