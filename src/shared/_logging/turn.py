"""Which one process may append to a shared log file without taking its lock.

Every locked write stamps a new number into the first 8 bytes of the lock file,
which each process maps into memory. A process may append without the lock
only while the stamp is still its own: no other process has taken the lock
since its own last locked write. So at most one process skips the lock at a
time, and it stops at the first record after anyone else writes or rotates
(they take the lock, which changes the stamp: a read of memory, no system
call). The others take the lock for every batch, as before.

Only on local filesystems: on NFS and other network filesystems neither shared
memory maps nor ``O_APPEND`` are coherent between machines, so there every
write takes the lock.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path
from typing import Final

_STAMP_BYTES: Final = 8
#: Filesystems whose appends and shared maps are coherent between processes.
_LOCAL_FILESYSTEMS: Final = frozenset({
    "btrfs", "ext2", "ext3", "ext4", "f2fs", "jfs", "overlay", "ramfs", "reiserfs",
    "tmpfs", "xfs", "zfs", "bcachefs",
})  # fmt: skip


class Turn:
    """The lock-free turn of one writer on one lock file."""

    def __init__(self, lock_fd: int, path: Path) -> None:
        self._map: mmap.mmap | None = None
        self._mine = b""
        if filesystem_type(path) not in _LOCAL_FILESYSTEMS:
            return
        try:
            if os.fstat(lock_fd).st_size < _STAMP_BYTES:
                # Extending to the same size twice is harmless: no lock needed.
                os.ftruncate(lock_fd, _STAMP_BYTES)
            self._map = mmap.mmap(lock_fd, _STAMP_BYTES, mmap.MAP_SHARED)
        except (OSError, ValueError):
            self._map = None  # then every write takes the lock

    def ours(self) -> bool:
        """Whether no other process took the lock since our last locked write."""
        shared = self._map
        return shared is not None and shared[:_STAMP_BYTES] == self._mine

    def stamp(self) -> None:
        """Under the lock: take the turn (every other writer then takes the lock)."""
        shared = self._map
        if shared is None:
            return
        number = int.from_bytes(shared[:_STAMP_BYTES], "little") + 1
        self._mine = (number % (1 << 64)).to_bytes(_STAMP_BYTES, "little")
        shared[:_STAMP_BYTES] = self._mine

    def close(self) -> None:
        if self._map is not None:
            try:
                self._map.close()
            except (OSError, BufferError):
                pass
            self._map = None
        self._mine = b""


def filesystem_type(path: Path) -> str:
    """The type of the filesystem holding ``path`` (from /proc/self/mounts), or ""."""
    try:
        target = os.path.realpath(path.parent)
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as mounts:
            entries = [line.split() for line in mounts]
    except OSError:
        return ""
    best, kind = -1, ""
    for fields in entries:
        if len(fields) < 3:
            continue
        point = _unescape(fields[1])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > best:
            best, kind = len(point), fields[2]
    return kind


def _unescape(text: str) -> str:
    """/proc/mounts writes space, tab, newline and backslash as octal escapes."""
    for escaped, plain in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        text = text.replace(escaped, plain)
    return text
