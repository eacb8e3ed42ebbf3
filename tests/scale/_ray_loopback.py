"""Ray, imported so that its local cluster lives on loopback only.

On Linux, Ray gives a node the machine's network address (it asks the routing table which
address reaches the outside), even with `_node_ip_address="127.0.0.1"`: the GCS, the raylet and
every worker then connect to each other over that address. Ray's switch for "this is a
single-machine cluster" is `RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0` (on macOS and Windows it is the
default): the node address is then the loopback address and every server Ray starts binds
127.0.0.1. Ray reads it once, at import, and the processes it starts inherit it, so it is set
here, before `import ray`, and the tests import Ray from this module only.
"""

from __future__ import annotations

import os

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
os.environ["RAY_DISABLE_DOCKER_CPU_WARNING"] = "1"

import ray  # after the switches above: Ray reads them at import

__all__ = ["off_loopback_sockets", "ray"]


def _family_of(pid: int) -> set[int]:
    """`pid` and every process descended from it (Ray's GCS, raylet and workers descend from the
    driver; so do the redis-server the test started)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # The name (field 2) may hold spaces; the fields after its ')' are fixed.
                parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    family = {pid}
    grew = True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in family and child not in family:
                family.add(child)
                grew = True
    return family


def _socket_inodes(pids: set[int]) -> dict[str, int]:
    inodes: dict[str, int] = {}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes[target[8:-1]] = pid
    return inodes


def _address(hex_address: str) -> str:
    """/proc/net/tcp's address (32-bit words in host order, little-endian here) as text."""
    host = hex_address.split(":")[0]
    words = [bytes.fromhex(host[i : i + 8])[::-1] for i in range(0, len(host), 8)]
    raw = b"".join(words)
    if len(raw) == 4:
        return ".".join(str(b) for b in raw)
    if raw[:12] == b"\0" * 10 + b"\xff\xff":
        return "::ffff:" + ".".join(str(b) for b in raw[12:])
    return ":".join(raw[i : i + 2].hex() for i in range(0, 16, 2))


def _is_loopback(address: str) -> bool:
    return address.startswith(("127.", "::ffff:127.")) or address == "0000:" * 7 + "0001"


_UNSPECIFIED = {"0.0.0.0", "0000:" * 7 + "0000", "::ffff:0.0.0.0"}
_LISTEN = "0A"


def off_loopback_sockets(pid: int) -> list[str]:
    """Every TCP socket held by `pid` or its descendants that is not on loopback: a listener bound
    to anything but a loopback address, or a connection with either end off loopback."""
    inodes = _socket_inodes(_family_of(pid))
    found: list[str] = []
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
                if inode not in inodes:
                    continue
                here, there = _address(local), _address(remote)
                remote_ok = _is_loopback(there) or (state == _LISTEN and there in _UNSPECIFIED)
                if not (_is_loopback(here) and remote_ok):
                    port = int(local.split(":")[1], 16)
                    found.append(f"pid {inodes[inode]}: {here}:{port} -> {there} (state {state})")
    return found
