"""One daemon thread per shared limiter that keeps its sync holders' leases alive.

A request or stream may outlast a lease; the holder's own thread is busy with the request, so
renewal happens here, for every lease of the limiter at once, not in one thread per request.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

__all__ = ["LeaseRenewer"]


class LeaseRenewer:
    """Calls `renew(lease_id)` every `period` seconds for each lease added, until removed.

    `renew` returns False when the lease is gone for good: it is dropped and, unless its holder
    released it meanwhile, `lost(lease_id)` is called. `renew` handles and reports its own
    errors (returning True keeps trying), so one failure never stops the thread.
    """

    def __init__(
        self, renew: Callable[[str], bool], lost: Callable[[str], None], period: float
    ) -> None:
        self._renew = renew
        self._lost = lost
        self._period = period
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition(threading.Lock())
        self._due: dict[str, float] = {}
        self._thread: threading.Thread | None = None

    def add(self, lease_id: str) -> None:
        if self._pid != os.getpid():
            # A forked child has the parent's bookkeeping but not its thread (nor its leases).
            self._reset()
        with self._cond:
            self._due[lease_id] = time.monotonic() + self._period
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="modelslab-lease-renewer", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def remove(self, lease_id: str) -> None:
        with self._cond:
            self._due.pop(lease_id, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [lease for lease, at in self._due.items() if at <= now]
                if not due:
                    wait = min(self._due.values(), default=now + 60.0) - now
                    self._cond.wait(timeout=wait)
                    continue
                for lease in due:
                    self._due[lease] = now + self._period
            # Renew outside the lock: a slow Redis must not block holders adding or removing.
            for lease in due:
                if self._renew(lease):
                    continue
                with self._cond:
                    still_held = self._due.pop(lease, None) is not None
                if still_held:
                    self._lost(lease)
