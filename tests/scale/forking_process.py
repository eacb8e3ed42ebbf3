"""A process that uses the shared limiter, then forks a worker that uses it too (as gunicorn
`--preload`, Celery prefork and `multiprocessing` with the fork start method do).

Run as `python tests/scale/forking_process.py '<json>'`; `fork` is "os.fork" or "multiprocessing".
The parent takes and gives back one slot (its lease renewer and its connections now exist),
then holds one slot in a thread of its own ("PARENT-HELD <unix time>") and forks. Modes:
  renew  the child takes a slot ("HELD"), holds it `hold` seconds (many `lease` lengths), gives
         it back ("RELEASED"); the parent keeps its slot until a line arrives on stdin.
  gate   the parent gives its slot back one second after the fork; the child, waiting for a
         slot of `limit` 1 meanwhile, must get it ("HELD"), or prints "TIMEOUT".
Then the parent prints "CHILD-EXIT <code>" and, after its own release, "PARENT-RELEASED".
Every wait is bounded, and SIGALRM ends either process if something hangs all the same.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from typing import Any

from modelslab_transport import LimiterTimeoutError
from modelslab_transport.limits.redis import RedisSlots, redis_slots
from tests.support.forked_children import join_process, wait_for_pid

ALARM = 40  # seconds: a hung process is ended well before the test's own timeout


def say(word: str, value: object = None) -> None:
    print(word, time.time() if value is None else value, flush=True)


def child(slots: RedisSlots, cfg: dict[str, Any]) -> None:
    signal.alarm(ALARM)  # alarms are not inherited across fork
    try:
        with slots.hold(cfg["limit"]):
            say("HELD")
            time.sleep(cfg["hold"])
        say("RELEASED")
    except LimiterTimeoutError:
        say("TIMEOUT")
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    sys.stdout.flush()
    os._exit(0)


def run_child(slots: RedisSlots, cfg: dict[str, Any], deadline: float) -> int:
    """Fork the child the way `cfg["fork"]` says; its exit code (-9: killed at `deadline`)."""
    if cfg["fork"] == "multiprocessing":
        process = multiprocessing.get_context("fork").Process(target=child, args=(slots, cfg))
        process.start()
        return join_process(process, deadline)
    pid = os.fork()
    if pid == 0:
        child(slots, cfg)
    return wait_for_pid(pid, deadline)


def main() -> None:
    cfg = json.loads(sys.argv[1])
    signal.alarm(ALARM)
    slots = redis_slots(
        cfg["url"], cfg["key"], lease_seconds=cfg["lease"], acquire_timeout=cfg["acquire"]
    )
    with slots.hold(cfg["limit"]):  # the parent has used the limiter before it forks
        pass
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with slots.hold(cfg["limit"]):
            held.set()
            release.wait(ALARM)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10), "the parent got no slot"
    say("PARENT-HELD")
    if cfg["mode"] == "gate":
        threading.Timer(1.0, release.set).start()
    code = run_child(slots, cfg, time.monotonic() + cfg["hold"] + 15)
    say("CHILD-EXIT", code)
    if cfg["mode"] == "renew":
        sys.stdin.readline()
    release.set()
    holder.join(10)
    say("PARENT-RELEASED")


if __name__ == "__main__":
    main()
