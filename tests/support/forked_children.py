"""Waiting, with a deadline, for a worker forked by `os.fork` or by `multiprocessing` with fork:
its exit code, or -9 once it had to be killed (a hung child never outlives its test)."""

from __future__ import annotations

import os
import signal
import time
from multiprocessing.process import BaseProcess

KILLED = -9


def wait_for_pid(pid: int, deadline: float) -> int:
    """The exit code of the child `pid` made by `os.fork`, polled until `deadline`
    (`time.monotonic()`); past it the child is killed."""
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return KILLED


def join_process(process: BaseProcess, deadline: float) -> int:
    """The exit code of the started `process`, joined until `deadline`; past it it is killed."""
    process.join(max(deadline - time.monotonic(), 0))
    if process.is_alive():
        process.kill()
        process.join(5)
    return KILLED if process.exitcode is None else process.exitcode
