"""A separate OS process that takes slots of the shared limiter, for the cross-process tests.

Run as `python tests/scale/slot_holder_process.py '<json>'`. Modes:
  crowd  print "READY <unix time>", wait for a line on stdin, then
         `holders` sync threads or async tasks each hold one slot for `hold` seconds; inside
         the slot each INCRs a test counter (kept apart from the limiter's own keys), records
         the value, sleeps and DECRs it: the peak it records is measured independently.
  hold   take one slot, print "HELD <unix time>", hold it `hold` seconds (< 0: until killed;
         "stdin": until a line arrives on stdin), then print "RELEASING <unix time>" (just before) and "RELEASED <unix time>" (just after
         the release).
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from typing import Any

import redis
import redis.asyncio

from modelslab_transport.limits.redis import redis_slots

INFLIGHT, PEAKS, DONE = "test:inflight", "test:peaks", "test:done"
ENTERED, LEFT = "test:entered", "test:left"  # unix times, for the busy span of the crowd


def crowd_sync(cfg: dict[str, Any]) -> None:
    slots = redis_slots(cfg["url"], cfg["key"], lease_seconds=cfg.get("lease", 15.0))
    counter = redis.Redis.from_url(cfg["url"])
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            with slots.hold(cfg["limit"]):
                counter.rpush(ENTERED, time.time())
                counter.rpush(PEAKS, counter.incr(INFLIGHT))
                time.sleep(cfg["hold"])
                counter.decr(INFLIGHT)
                counter.rpush(LEFT, time.time())
            counter.rpush(DONE, f"{cfg['tag']}-{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(cfg["holders"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


async def crowd_async(cfg: dict[str, Any]) -> None:
    slots = redis_slots(cfg["url"], cfg["key"], lease_seconds=cfg.get("lease", 15.0))
    counter = redis.asyncio.Redis.from_url(cfg["url"])

    async def one(i: int) -> None:
        async with slots.hold_async(cfg["limit"]):
            await counter.rpush(ENTERED, time.time())
            await counter.rpush(PEAKS, await counter.incr(INFLIGHT))
            await asyncio.sleep(cfg["hold"])
            await counter.decr(INFLIGHT)
            await counter.rpush(LEFT, time.time())
        await counter.rpush(DONE, f"{cfg['tag']}-{i}")

    await asyncio.gather(*(one(i) for i in range(cfg["holders"])))
    await counter.aclose()


def hold(cfg: dict[str, Any]) -> None:
    slots = redis_slots(cfg["url"], cfg["key"], lease_seconds=cfg.get("lease", 15.0))
    with slots.hold(cfg["limit"]):
        print("HELD", time.time(), flush=True)
        if cfg["hold"] == "stdin":
            sys.stdin.readline()
        elif cfg["hold"] < 0:
            threading.Event().wait()
        else:
            time.sleep(cfg["hold"])
        print("RELEASING", time.time(), flush=True)  # still held: the release comes after
    print("RELEASED", time.time(), flush=True)


def main() -> None:
    cfg = json.loads(sys.argv[1])
    if cfg["mode"] == "crowd":
        # Start together: every process has imported everything before any takes a slot.
        print("READY", time.time(), flush=True)
        sys.stdin.readline()
    if cfg["mode"] == "crowd" and cfg.get("use_async"):
        asyncio.run(crowd_async(cfg))
    elif cfg["mode"] == "crowd":
        crowd_sync(cfg)
    else:
        hold(cfg)


if __name__ == "__main__":
    main()
