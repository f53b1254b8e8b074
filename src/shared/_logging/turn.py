"""Whether this process writes a log file alone, so that it may append without the lock.

Every locked write stamps a new number into the first 8 bytes of the lock file,
which each process maps into memory. A process may append without the lock
only while (1) the stamp is still its own (no other process has taken the
lock since its own last locked write: a read of memory, no system call), (2)
its first ``SOLO_WRITES`` writes, all locked, found no other process's stamp,
and (3) it has never found one since. The moment a locked write finds another
process's stamp where its own should be, the file is shared, and this process
locks every write from then on. So a process that writes a file alone pays one
system call per record; processes that share a file lock as they always did.

The one window left: a line between its check and its write when a second
process first writes the file. It is never lost or split; if the second
process rotates the file in that instant (it must write an eighth of
``max_log_bytes`` first), the line lands in the file just rotated, past its
bound by that one line.

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
#: Locked writes a process makes before it may skip the lock: time for a process
#: writing the same file to show itself.
SOLO_WRITES: Final = 64
#: Filesystems whose appends and shared maps are coherent between processes.
_LOCAL_FILESYSTEMS: Final = frozenset({
    "btrfs", "ext2", "ext3", "ext4", "f2fs", "jfs", "overlay", "ramfs", "reiserfs",
    "tmpfs", "xfs", "zfs", "bcachefs",
})  # fmt: skip


class Turn:
    """One writer's view of whether it writes its file alone."""

    def __init__(self, lock_fd: int, path: Path) -> None:
        self._map: mmap.mmap | None = None
        self._mine = b""
        self._stamps = 0
        #: Another process writes this file: every write takes the lock.
        self.shared = False
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
        """Whether this process may append without the lock now."""
        mapped = self._map
        return (
            mapped is not None
            and not self.shared
            and self._stamps >= SOLO_WRITES
            and mapped[:_STAMP_BYTES] == self._mine
        )

    def stamp(self) -> None:
        """Under the lock: note whether another process wrote since our last locked
        write (then the file is shared for good), and stamp this write."""
        mapped = self._map
        if mapped is None:
            return
        found = mapped[:_STAMP_BYTES]
        if self._mine and found != self._mine:
            self.shared = True
        number = int.from_bytes(found, "little") + 1
        self._mine = (number % (1 << 64)).to_bytes(_STAMP_BYTES, "little")
        mapped[:_STAMP_BYTES] = self._mine
        self._stamps += 1

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
