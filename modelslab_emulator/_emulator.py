"""``Emulator``: start and stop the loopback server, inspect what it received."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterable
from types import TracebackType

from ._log import RecordedRequest, key_fingerprint
from ._server import CONTROL, PREFIX, EmulatorHTTPServer, ServerState
from ._vllm import DEFAULT_PROFILE, PROFILES


def _check_loopback(host: str) -> int:
    """The address family for ``host``; anything but a loopback address is refused."""
    if host == "localhost":
        return socket.AF_INET
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"the emulator serves loopback only, not {host!r}") from None
    if not address.is_loopback:
        raise ValueError(f"the emulator serves loopback only, not {host!r}")
    return socket.AF_INET6 if address.version == 6 else socket.AF_INET


class Emulator:
    """ModelsLab's LLM API on loopback, for tests, demos and notebooks.

    Example::

        with Emulator() as emu:
            client = SomeClient(base_url=emu.base_url, api_key="any-key")
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: Iterable[str] | None = None,
        *,
        served_context: int | None = None,
        queue_limit: int | None = None,
        queue_retry_after: float = 1,
        profile: str = DEFAULT_PROFILE,
    ) -> None:
        """``profile``: the host every request meets (``openrouter``, the default, or ``vllm``:
        Magistral on vLLM in Mistral tokenizer mode); a request's ``profile;name=...``
        scenario overrides it. ``served_context``: every model serves this many tokens (prompt
        + ``max_tokens`` must fit, else vLLM's 400); None keeps each model's own (Magistral:
        40,960).
        ``queue_limit``: every key may have this many requests in flight; one more gets
        ModelsLab's 429 with ``retry_after`` = ``queue_retry_after`` seconds (None: no limit)."""
        if isinstance(api_keys, str):
            api_keys = [api_keys]
        if served_context is not None and served_context < 1:
            raise ValueError("served_context must be a positive number of tokens")
        if queue_limit is not None and queue_limit < 1:
            raise ValueError("queue_limit must be a positive number of requests")
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}, not {profile!r}")
        if queue_retry_after < 0:
            raise ValueError("queue_retry_after must be a number of seconds >= 0")
        self._family = _check_loopback(host)
        self.host = host
        self._port = port
        keys = None if api_keys is None else frozenset(api_keys)
        self._state = ServerState(
            keys, served_context, queue_limit, queue_retry_after, profile=profile
        )
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port being served (the chosen free port once started with ``port=0``)."""
        return self._port

    @property
    def profile(self) -> str:
        """The default host profile: ``openrouter`` or ``vllm``."""
        return self._state.profile

    @property
    def root_url(self) -> str:
        """``http://HOST:PORT`` (no path)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT/api/v7/llm``: the client's ``base_url``."""
        return self.root_url + PREFIX

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of the requests answered so far, in arrival order (keys redacted)."""
        return self._state.log.snapshot()

    @property
    def stats_url(self) -> str:
        """``http://HOST:PORT/_emulator/stats``: peaks and 429s per key fingerprint, as JSON, for
        another process (``?reset=1`` resets them after reading; ``POST …/_emulator/reset``)."""
        return self.root_url + CONTROL + "/stats"

    @property
    def max_in_flight(self) -> dict[str, int]:
        """Highest simultaneous requests seen, per key fingerprint (see ``fingerprint``)."""
        return self._state.in_flight.maxima()

    @property
    def max_in_flight_total(self) -> int:
        """Highest number of simultaneous authenticated requests seen, over all keys."""
        return self._state.in_flight.max_total()

    @property
    def rate_limited(self) -> dict[str, int]:
        """429 replies sent, per key fingerprint (queue limit and scenarios alike)."""
        return self._state.in_flight.refusals()

    @property
    def in_flight(self) -> dict[str, int]:
        """Requests being served right now, per key fingerprint."""
        return self._state.in_flight.current()

    @property
    def open_streams(self) -> dict[str, int]:
        """Streams whose connection is still open, per key fingerprint: counted out when their
        last byte is written or the server sees the client's side closed."""
        return self._state.in_flight.open_streams()

    @staticmethod
    def fingerprint(key: str) -> str:
        """The name under which ``max_in_flight`` reports ``key`` (never the key itself)."""
        return key_fingerprint(key)

    def clear(self) -> None:
        """Forget recorded requests, scenario counters and 429 counts; restart the in-flight
        maxima."""
        self._state.log.clear()
        self._state.counters.clear()
        self._state.in_flight.reset()

    def start(self) -> Emulator:
        """Bind and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        self._state.stopping.clear()
        server = EmulatorHTTPServer((self.host, self._port), self._state, self._family)
        self._port = server.server_address[1]
        self._state.root_url = self.root_url
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.name = f"modelslab-emulator:{self._port}"
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close live connections."""
        server, self._server = self._server, None
        if server is None:
            return
        self._state.stopping.set()
        server.shutdown()
        self._state.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._server is not None else "stopped"
        return f"<Emulator {self.base_url} {state}>"
