#!/usr/bin/env python3
"""Mutation check: break the code on purpose and make sure the tests notice.

Each mutation below is a small, deliberate regression (a check turned off, a header ignored, a
hint dropped, ...). For each one this script copies the repository (its tracked and untracked,
not ignored files) to a temporary directory, applies the break there, and runs the tests meant
to catch it with PYTHONPATH pointing at the copy; the working tree is never modified. A break is
caught when at least MIN_CAUGHT tests fail.

Each edit names its target by an exact snippet of code that must occur exactly once in its file.
If a refactor moves or rewrites that code, the script stops with an error naming the mutation
(exit 2) rather than silently testing nothing: update the snippet to the new code.

    python scripts/mutation_check.py                 # every mutation, after a clean baseline
    python scripts/mutation_check.py --only limiter-removed --no-baseline
    python scripts/mutation_check.py --list

Exit status: 0 every break caught by at least MIN_CAUGHT tests; 1 some break was not; 2 a
mutation's snippet was not found; 3 the tests failed before any break (the baseline).
Run it with the project's Python (the one with the test dependencies), e.g. `.venv/bin/python`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
MIN_CAUGHT = 2
TIMEOUT = 900  # seconds per pytest run; a hang counts as not caught


class Edit(NamedTuple):
    """Replace `old` (which must occur exactly once in `path`) with `new`."""

    path: str
    old: str
    new: str


@dataclass(frozen=True)
class Mutation:
    name: str
    what: str
    edits: tuple[Edit, ...]
    # pytest arguments: the test files that must fail, and at most one -k filter (pytest keeps
    # only the last -k given, for every file)
    tests: tuple[str, ...]


TRANSPORT = "modelslab_transport/"
MUTATIONS = (
    Mutation(
        "idle-timeout-check-off",
        "the stream reader never applies stream_idle_timeout (between reads or by its watchdog)",
        (
            Edit(
                TRANSPORT + "_stream_reader.py",
                "            elif now - self._last > limit:\n",
                "            elif False:  # MUTATION\n",
            ),
            Edit(
                TRANSPORT + "_stream_reader.py",
                "        self._waiting, self._limit = False, self._idle\n",
                "        self._waiting, self._limit = False, None  # MUTATION\n",
            ),
        ),
        ("tests/transport/test_idle_timeout.py", "tests/transport/test_client_faults.py"),
    ),
    Mutation(
        "x-should-retry-ignored",
        "the x-should-retry response header is ignored",
        (
            Edit(
                TRANSPORT + "_failures.py",
                '    error.should_retry = {"true": True, "false": False}.get(should or "")\n',
                "    error.should_retry = None  # MUTATION\n",
            ),
        ),
        ("tests/transport/test_retry_hints.py", "tests/transport/test_client_faults.py"),
    ),
    Mutation(
        "retry-at-once",
        "a short Retry-After / retry-after-ms / body retry_after hint is not waited for",
        (
            Edit(
                TRANSPORT + "_retry.py",
                "        return None if hint > settings.max_retry_wait else hint\n",
                "        return None if hint > settings.max_retry_wait else 0.0  # MUTATION\n",
            ),
            # A queue-full 429 waits for its hint on its own path: that wait goes too.
            Edit(
                TRANSPORT + "_retry.py",
                "    delay = backoff(min(attempt, 4)) if hint is None else hint\n",
                "    delay = backoff(min(attempt, 4)) if hint is None else 0.0  # MUTATION\n",
            ),
        ),
        ("tests/transport/test_retry_hints.py", "tests/transport/test_client_faults.py"),
    ),
    Mutation(
        "retry-hints-dropped",
        "the server's retry hints are dropped entirely (plain backoff instead)",
        (
            Edit(
                TRANSPORT + "_retry.py",
                "    hint = error.retry_after\n    if hint is not None:\n",
                "    hint = None  # MUTATION\n    if hint is not None:\n",
            ),
            # Queue-full 429s are resent on their own path: its hint goes too.
            Edit(
                TRANSPORT + "_retry.py",
                "    hint = error.retry_after\n"
                "    if hint is not None and hint > settings.max_retry_wait:\n",
                "    hint = None  # MUTATION\n"
                "    if hint is not None and hint > settings.max_retry_wait:\n",
            ),
        ),
        ("tests/transport/test_retry_hints.py", "tests/transport/test_client_faults.py"),
    ),
    Mutation(
        "secret-repr-shows-key",
        "Secret.__repr__ shows the key",
        (
            Edit(
                TRANSPORT + "_settings.py",
                "        return \"Secret('**********')\"\n",
                '        return f"Secret({self._value!r})"  # MUTATION\n',
            ),
        ),
        (
            "tests/transport/test_secret_and_import.py",
            "tests/transport/test_client_basic.py",
            "tests/transport/test_decoding_doctests.py",
        ),
    ),
    Mutation(
        "limiter-removed",
        "the per-key in-flight limit is not enforced (sync and async)",
        (
            Edit(
                TRANSPORT + "limits/_slots.py",
                "            while self._in_flight >= limit:\n",
                "            while False:  # MUTATION\n",
            ),
            Edit(
                TRANSPORT + "limits/_slots.py",
                "            if self._in_flight < limit and not self._waiters:\n",
                "            if True:  # MUTATION\n",
            ),
        ),
        ("tests/transport/test_limits.py", "tests/reliability/test_load.py"),
    ),
    Mutation(
        "scrubber-off",
        "a key echoed by the server is not scrubbed from errors (adapter-level canary paths)",
        (
            Edit(
                TRANSPORT + "_errors.py",
                "    return text.replace(secret, REDACTED) if secret and secret in text"
                " else text\n",
                "    return text  # MUTATION\n",
            ),
        ),
        ("tests/reliability/test_secret_canary.py", "-k", "echo-key"),
    ),
    Mutation(
        "lost-cancel-unchecked",
        "a cancellation dropped by asyncio.wait_for (Python < 3.12) is not raised by the waits",
        (
            Edit(
                TRANSPORT + "limits/_gates.py",
                "    if pending_cancels() > before:\n",
                "    if False:  # MUTATION\n",
            ),
        ),
        ("tests/transport/test_limits.py", "tests/scale/test_redis_limiter_waiting.py"),
    ),
    Mutation(
        "lost-cancel-unshielded",
        "where cancellations are not counted (Python 3.10), the waits are not shielded, so a "
        "cancellation asyncio.wait_for drops is lost",
        (
            Edit(
                TRANSPORT + "limits/_gates.py",
                "        return await asyncio.shield(inner)\n",
                "        return await inner  # MUTATION\n",
            ),
        ),
        ("tests/transport/test_limits.py", "tests/scale/test_redis_limiter_waiting.py"),
    ),
    Mutation(
        "limiter-url-password-kept",
        "a serialized model keeps the limiter URL's Redis password",
        (
            Edit(
                TRANSPORT + "limits/_url.py",
                "    if not limiter_url_has_password(url):\n        return url\n",
                "    return url  # MUTATION\n",
            ),
        ),
        ("tests/scale/test_limiter_url_secrecy.py",),
    ),
    Mutation(
        "reasoning-split-off",
        "inline <think> reasoning is passed through as answer text (README/docs/notebooks)",
        (
            Edit(
                TRANSPORT + "_reasoning.py",
                "    def feed(self, text: str) -> tuple[str, str]:\n",
                "    def feed(self, text: str) -> tuple[str, str]:\n"
                '        return text, ""  # MUTATION\n',
            ),
        ),
        (
            "tests/test_docs.py",
            "tests/notebooks/test_notebooks.py",
        ),
    ),
    Mutation(
        "redis-release-skipped-on-error",
        "a Redis slot whose request raised is renewed forever, never released (sync and async)",
        (
            Edit(
                TRANSPORT + "limits/redis/_slots.py",
                "            try:\n                yield\n            finally:\n"
                "                self._renewer.remove(ticket)\n",
                "            yield  # MUTATION: nothing below runs when the request raised\n"
                "            if True:\n                self._renewer.remove(ticket)\n",
            ),
            Edit(
                TRANSPORT + "limits/redis/_slots.py",
                "            try:\n                yield\n            finally:\n"
                "                renewal.cancel()\n",
                "            yield  # MUTATION: nothing below runs when the request raised\n"
                "            if True:\n                renewal.cancel()\n",
            ),
        ),
        ("tests/scale/test_redis_limiter_error_release.py",),
    ),
    Mutation(
        "redis-fork-renewal-skipped",
        "a worker forked after its parent used the Redis limiter never renews its leases",
        (
            Edit(
                TRANSPORT + "limits/redis/_slots.py",
                "        if self._pid != os.getpid():\n"
                "            # A forked child has the parent's bookkeeping",
                "        if False:  # MUTATION\n"
                "            # A forked child has the parent's bookkeeping",
            ),
        ),
        ("tests/scale/test_redis_limiter_fork.py", "-k", "keeps_its_slot"),
    ),
    Mutation(
        "redis-fork-gate-kept",
        "a forked worker keeps its parent's in-process gate count (waits for the parent's holders)",
        (
            Edit(
                TRANSPORT + "limits/redis/_slots.py",
                "        if self._pid != os.getpid():\n"
                "            # A forked child starts with nobody holding",
                "        if False:  # MUTATION\n"
                "            # A forked child starts with nobody holding",
            ),
        ),
        ("tests/scale/test_redis_limiter_fork.py", "-k", "parent_frees"),
    ),
    Mutation(
        "queue-wait-never-counted",
        "queue-full 429s are resent without counting their waits (queue_wait_budget never spent)",
        (
            Edit(
                TRANSPORT + "_retry.py",
                "                self.queued += delay  # a refusal never run does not spend"
                " max_retries\n",
                "                pass  # MUTATION\n",
            ),
        ),
        ("tests/transport/test_queue_wait_budget.py", "tests/transport/test_queue_retries.py"),
    ),
    Mutation(
        "tool-ids-first-nine-kept",
        "tool-call ids normalised by keeping their first 9 alphanumerics (call_abc123xyz1/2 merge)",
        (
            Edit(
                TRANSPORT + "models/_tools.py",
                "    if len(tool_call_id) == _ID_LENGTH and tool_call_id.isascii()"
                " and tool_call_id.isalnum():\n",
                '    kept = "".join(c for c in tool_call_id if c.isascii() and c.isalnum())\n'
                "    if len(kept) >= _ID_LENGTH:  # MUTATION\n"
                "        return kept[:_ID_LENGTH]\n"
                "    if len(tool_call_id) == _ID_LENGTH and tool_call_id.isascii()"
                " and tool_call_id.isalnum():\n",
            ),
        ),
        (
            "tests/transport/test_tool_call_ids.py",
            "tests/fidelity/test_tool_call_ids_wire.py",
        ),
    ),
    Mutation(
        "redis-abandoned-wait-kept",
        "a Redis wait given up (cancelled, or past acquire_timeout) keeps its place in line",
        (
            Edit(
                TRANSPORT + "limits/redis/_slots.py",
                "        except BaseException:\n            try:\n"
                "                conn.release(keys=self._keys.state,"
                " args=self._release_args(ticket, limit))\n",
                "        except BaseException:\n            raise  # MUTATION\n            try:\n"
                "                conn.release(keys=self._keys.state,"
                " args=self._release_args(ticket, limit))\n",
            ),
            Edit(
                TRANSPORT + "limits/redis/_slots.py",
                "        except BaseException:  # a timeout, or the task was cancelled"
                " while waiting\n            try:\n",
                "        except BaseException:  # a timeout, or the task was cancelled"
                " while waiting\n            raise  # MUTATION\n            try:\n",
            ),
        ),
        (
            "tests/scale/test_redis_limiter_error_release.py",
            "tests/scale/test_redis_limiter_waiting.py",
            "-k",
            "leaves_the_line or cancelled_async_waiter",
        ),
    ),
    Mutation(
        "queue-limit-unparsed",
        'the plan\'s limit in "Maximum N queued requests" is missed (matched case-sensitively)',
        (
            Edit(
                TRANSPORT + "_errors.py",
                '_QUEUE_LIMIT = re.compile(r"maximum\\s+(\\d+)\\s+queued\\s+requests?",'
                " re.IGNORECASE)\n",
                '_QUEUE_LIMIT = re.compile(r"maximum\\s+(\\d+)\\s+queued\\s+requests?")'
                "  # MUTATION\n",
            ),
        ),
        (
            "tests/transport/test_queue_retries.py",
            "tests/transport/test_client_faults.py",
            "-k",
            "learned or rate_limit_forever",
        ),
    ),
    Mutation(
        "client-cache-ignores-limiter",
        "an adapter's ClientCache serves a client built for another limiter_url",
        (
            Edit(
                TRANSPORT + "adapters/_client_cache.py",
                "        key = (settings, http_client, limiter_url, limiter_fallback)\n",
                "        key = (settings, http_client, None, False)  # MUTATION\n",
            ),
        ),
        (
            "tests/transport/test_settings.py",
            "tests/transport/test_limiter_choice.py",
            "-k",
            "client_cache or fields_name",
        ),
    ),
    Mutation(
        "local-fork-count-kept",
        "a forked worker keeps counting the in-process slots its parent's threads held",
        (
            Edit(
                TRANSPORT + "limits/_slots.py",
                "    os.register_at_fork(after_in_child=_after_fork_in_child)\n",
                "    pass  # MUTATION\n",
            ),
        ),
        ("tests/transport/test_limiter_fork.py",),
    ),
)


class PatternNotFound(Exception):
    pass


def project_files() -> list[str]:
    """The files of the working tree: tracked plus untracked-but-not-ignored."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listing.split("\0") if name and (ROOT / name).is_file()]


def make_copy(files: list[str]) -> Path:
    target = Path(tempfile.mkdtemp(prefix="mutation-check-"))
    for name in files:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, destination)
    return target


def apply(mutation: Mutation, copy: Path) -> None:
    for edit in mutation.edits:
        path = copy / edit.path
        text = path.read_text(encoding="utf-8")
        found = text.count(edit.old)
        if found != 1:
            raise PatternNotFound(
                f"mutation {mutation.name!r}: the snippet {edit.old!r} occurs {found} times in "
                f"{edit.path} (expected exactly once). The code changed: update the snippet."
            )
        path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")


def run_tests(copy: Path, arguments: tuple[str, ...]) -> tuple[int, list[str], float]:
    """Run pytest in `copy`; returns (tests run, the failed or errored tests, seconds)."""
    report = copy / "mutation-report.xml"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTHONPATH")}
    env.update(PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1")
    env = {k: v for k, v in env.items() if not k.startswith("MODELSLAB_")}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"]
    command += ["-o", "addopts=", f"--junitxml={report}", *arguments]
    started = time.monotonic()
    try:
        subprocess.run(command, cwd=copy, env=env, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return 0, [], time.monotonic() - started
    seconds = time.monotonic() - started
    if not report.exists():
        return 0, [], seconds
    cases = ET.parse(report).getroot().iter("testcase")
    ran, failed = 0, []
    for case in cases:
        ran += 1
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(f"{case.get('classname')}::{case.get('name')}")
    return ran, failed, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutations")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="name the failed tests")
    args = parser.parse_args()
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    unknown = set(args.only or ()) - {m.name for m in MUTATIONS}
    if unknown:
        parser.error(f"unknown mutation(s): {sorted(unknown)}")
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:32} {m.what}\n{'':32} tests: {' '.join(m.tests)}")
        return 0

    files = project_files()
    # Every snippet is checked before anything runs: a stale one fails at once, loudly.
    for mutation in chosen:
        probe = make_copy([edit.path for edit in mutation.edits])
        try:
            apply(mutation, probe)
        except PatternNotFound as error:
            print(f"ERROR: {error}", file=sys.stderr)
            return 2
        finally:
            shutil.rmtree(probe, ignore_errors=True)

    if not args.no_baseline:
        arguments = _union(chosen)
        copy = make_copy(files)
        try:
            ran, failed, seconds = run_tests(copy, arguments)
        finally:
            shutil.rmtree(copy, ignore_errors=True)
        print(f"baseline (no mutation): {ran} tests, {len(failed)} failed, {seconds:.0f} s")
        if failed or not ran:
            print("ERROR: the tests fail without any mutation:", *failed, sep="\n  ")
            return 3

    print(f"\n{'mutation':32} {'tests run':>9} {'failed':>7}  caught (>= {MIN_CAUGHT} failed)")
    print("-" * 76)
    missed = []
    for mutation in chosen:
        copy = make_copy(files)
        try:
            apply(mutation, copy)
            ran, failed, seconds = run_tests(copy, mutation.tests)
        finally:
            shutil.rmtree(copy, ignore_errors=True)
        caught = len(failed) >= MIN_CAUGHT
        if not caught:
            missed.append(mutation.name)
        verdict = "yes" if caught else "NO"
        print(f"{mutation.name:32} {ran:>9} {len(failed):>7}  {verdict}   ({seconds:.0f} s)")
        if args.verbose or not caught:
            for name in failed:
                print(f"{'':34}{name}")
        sys.stdout.flush()
    print("-" * 76)
    if missed:
        print(f"NOT CAUGHT by {MIN_CAUGHT}+ tests: {', '.join(missed)}")
        return 1
    print(f"every break caught by at least {MIN_CAUGHT} tests")
    return 0


def _union(mutations: list[Mutation]) -> tuple[str, ...]:
    """The test files of all `mutations`, for the baseline (-k filters dropped: a superset)."""
    paths: list[str] = []
    for mutation in mutations:
        skip = False
        for argument in mutation.tests:
            if skip:
                skip = False
            elif argument == "-k":
                skip = True
            elif argument not in paths:
                paths.append(argument)
    return tuple(paths)


if __name__ == "__main__":
    sys.exit(main())
