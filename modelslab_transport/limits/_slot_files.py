"""The machine-local limiter's files: where they live, what they are named, and their locks.

One file per (API key, base URL) in a per-user directory: `$XDG_RUNTIME_DIR`, else the temp
dir, then `modelslab-limiter-<uid>/` (0700, owned by this user, never a symlink). The file
(0600) is named by HMAC-SHA256(salt, key + base URL), the salt being 32 random bytes kept in
that directory (0600): without the salt, a file name cannot be matched to a key by trying keys.

A slot is one byte of the file, locked with a POSIX record lock (`fcntl.lockf`, F_SETLK). The
kernel drops every record lock of a process when it exits, however it dies, so a killed
holder's slot is free at once. Record locks belong to the process: they are not inherited by
a forked child, and two threads of one process "share" them (the caller keeps its own count).
Closing any descriptor of the file drops all of this process's locks on it: each file is
opened once per process and kept open.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import os
import secrets
import stat
import struct
import sys
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "PROBE",
    "SLOT0",
    "TURNSTILE",
    "SlotFileError",
    "lock",
    "lock_is_free",
    "open_slot_file",
    "slot_directory",
    "slot_file_path",
    "try_lock",
    "unlock",
]

# Byte offsets in a slot file: the turnstile (held by the one waiter whose turn it is to look
# for a free slot), a byte used once to check that locking works here, then slot i at SLOT0 + i.
TURNSTILE, PROBE, SLOT0 = 0, 1, 16

# File systems whose locks are not (reliably) machine-local: NFS, SMB, sshfs and friends.
NETWORK_FILE_SYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ncpfs",
        "afs",
        "9p",
        "ceph",
        "glusterfs",
        "lustre",
        "gpfs",
        "fuse.sshfs",
        "fuse.glusterfs",
        "fuse.rclone",
    }
)
_SALT = "salt"
_SALT_BYTES = 32
_BUSY = (errno.EACCES, errno.EAGAIN)
# Linux's struct flock (type, whence, start, len, pid), for F_GETLK; other layouts differ.
_FLOCK = struct.Struct("hhqqi4x") if sys.platform == "linux" and fcntl is not None else None


class SlotFileError(Exception):
    """The machine-local limiter cannot work here; the message says why (never the key)."""


def slot_directory() -> Path:
    """This user's directory for slot files (not created): read from the environment."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(xdg) if xdg else Path(tempfile.gettempdir())
    return base / f"modelslab-limiter-{os.geteuid() if hasattr(os, 'geteuid') else 0}"


def slot_file_path(api_key: str, base_url: str, directory: Path | None = None) -> Path:
    """The key's slot file (not opened): the directory and its salt are created if needed and
    checked. Raises SlotFileError where the machine-local limiter cannot work."""
    if fcntl is None:
        raise SlotFileError("this platform has no fcntl record locks")
    directory = directory or slot_directory()
    try:
        _make_private_dir(directory)
        _check_local(directory)
        name = hmac.new(_salt(directory), _identity(api_key, base_url), hashlib.sha256)
    except OSError as exc:
        raise SlotFileError(f"{directory} is not usable ({exc.strerror or exc})") from None
    return directory / f"{name.hexdigest()[:40]}.slots"


def open_slot_file(path: Path) -> int:
    """Open (creating it, 0600) a slot file and check that record locks work there. Open each
    file once per process: closing any descriptor of it drops all of the process's locks."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise SlotFileError(f"{path.parent} is not usable ({exc.strerror or exc})") from None
    try:
        if try_lock(fd, PROBE):
            unlock(fd, PROBE)
    except OSError as exc:  # ENOLCK, EOPNOTSUPP: a file system without record locks
        os.close(fd)
        raise SlotFileError(f"record locks do not work in {path.parent} ({exc.strerror})") from None
    return fd


def try_lock(fd: int, offset: int) -> bool:
    """Lock one byte without waiting: True if this process holds it now, False if another
    process does (any other failure raises OSError)."""
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset, os.SEEK_SET)
    except OSError as exc:
        if exc.errno in _BUSY:
            return False
        raise
    return True


def lock_is_free(fd: int, offset: int) -> bool:
    """Whether no other process holds this byte now (nothing taken). On Linux one F_GETLK
    call, half the cost of taking and giving back the byte; elsewhere exactly that."""
    if _FLOCK is None:
        if not try_lock(fd, offset):
            return False
        unlock(fd, offset)
        return True
    answer = fcntl.fcntl(fd, fcntl.F_GETLK, _FLOCK.pack(fcntl.F_WRLCK, os.SEEK_SET, offset, 1, 0))
    return bool(_FLOCK.unpack(answer)[0] == fcntl.F_UNLCK)


def lock(fd: int, offset: int) -> None:
    """Lock one byte, blocking this thread until no other process holds it (F_SETLKW)."""
    fcntl.lockf(fd, fcntl.LOCK_EX, 1, offset, os.SEEK_SET)


def unlock(fd: int, offset: int) -> None:
    fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset, os.SEEK_SET)


def _identity(api_key: str, base_url: str) -> bytes:
    return api_key.encode() + b"\0" + base_url.encode()


def _make_private_dir(directory: Path) -> None:
    with contextlib.suppress(FileExistsError):
        os.mkdir(directory, 0o700)
    info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode):
        raise SlotFileError(f"{directory} is not a directory (a symlink or a file)")
    if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
        raise SlotFileError(f"{directory} belongs to another user")
    if info.st_mode & 0o077:
        os.chmod(directory, 0o700)  # ours, but opened up by someone: private again
    if not os.access(directory, os.W_OK | os.X_OK):
        raise SlotFileError(f"{directory} is not writable")


def _salt(directory: Path) -> bytes:
    path = directory / _SALT
    for _ in range(3):
        try:
            with open(path, "rb") as file:
                salt = file.read()
            if len(salt) == _SALT_BYTES:
                return salt
            raise SlotFileError(f"{path} is damaged (remove it)")
        except FileNotFoundError:
            pass
        # Written whole under a private name, then linked: no reader ever sees a partial salt,
        # and of two processes creating it at once, one link wins and both read that one.
        tmp = directory / f".{_SALT}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(_SALT_BYTES))
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    raise SlotFileError(f"could not create {path}")


def _check_local(directory: Path) -> None:
    """Refuse a network file system (Linux: read from /proc/self/mountinfo; elsewhere not
    checked)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as file:
            mounts = file.read().splitlines()
    except OSError:
        return
    real = os.path.realpath(directory)
    best, fs_type = "", ""
    for line in mounts:
        before, _, after = line.partition(" - ")
        fields = before.split()
        if len(fields) < 5 or not after:
            continue
        point = fields[4].replace("\\040", " ")
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, fs_type = point, after.split()[0]
    if fs_type in NETWORK_FILE_SYSTEMS:
        raise SlotFileError(f"{directory} is on a network file system ({fs_type})")
