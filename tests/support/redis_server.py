"""A real redis-server on a free loopback port, with no persistence, for the shared-limiter
tests (the `redis_server` fixture in tests/scale/conftest.py starts and stops one per test)."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

REDIS_SERVER = "redis-server"


class RedisServer:
    """One redis-server process on 127.0.0.1, started and stopped by the test."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which(REDIS_SERVER) or (
            "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
        )
        if binary is None:
            pytest.fail(
                "redis-server is not installed: `.ci/run` installs it "
                "(apt-get install redis-server); the shared-limiter tests need a real one"
            )
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        # A short directory of its own: a socket path must fit in 107 bytes.
        self._sockdir = tempfile.mkdtemp(prefix="redis-")
        self.unix_url = f"unix://{self._sockdir}/redis.sock?db=0"
        self._proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
                "--unixsocket",
                f"{self._sockdir}/redis.sock",
                "--unixsocketperm",
                "700",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        self.client = redis.Redis.from_url(self.url, socket_timeout=5)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"redis-server did not start on port {self.port}")
                time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server now (a test may do this mid-run to see the limiter fail cleanly)."""
        self.client.close()
        if self._proc.poll() is None:
            self.resume()
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        shutil.rmtree(self._sockdir, ignore_errors=True)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open, nothing answers."""
        self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._proc.send_signal(signal.SIGCONT)

    def commands_processed(self) -> int:
        return int(self.client.info("stats")["total_commands_processed"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
