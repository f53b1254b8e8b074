"""Size-rotated JSONL files that several processes can share.

Every batch is written under an exclusive ``flock`` on a hidden lock file next
to the log (``.app.jsonl.lock``). Under that lock the writer checks that its
descriptor still points at the file on the path (another process may have
rotated it), checks the size, rotates if the batch would not fit, and appends.
So no record is written twice, split, or into a file that was already rotated
away, and no file grows past ``max_bytes``. stdlib's RotatingFileHandler does
none of this and corrupts shared files; batching keeps the lock cheap.

The synchronous path (one record per call) may skip the lock: one ``write``
with ``O_APPEND`` (which the kernel appends whole) and nothing else, while this
process writes the file alone (turn.py: its stamp in the lock file is still its
own, and no other process's stamp was ever found there), the file is far from
full (below seven eighths of ``max_bytes``) and the path was checked less than
``RECHECK_SECONDS`` ago (someone may have renamed or deleted the file).
Otherwise the line takes the locked path above. A process writing alone pays
one system call per record; processes sharing a file lock every write.

A failed write (disk full, file deleted, permission lost) is truncated back,
so no half line is left, counted as lost, and reported on stderr once per
episode. The next batch tries again.

Faults from outside:

* A line torn by a writer killed mid-write (``kill -9``, the OOM killer) is
  closed with a newline before the next line is appended, so only the torn
  fragment is unreadable, never the next record.
* A process that stops while it holds the lock (Ctrl-Z, a debugger, a frozen
  cgroup) is waited for ``LOCK_WAIT_SECONDS``, once: then the line is appended
  without the lock (``O_APPEND`` appends it whole) unless that would pass
  ``max_bytes`` (then it is counted as lost), and later writes try the lock
  without waiting until it is free again. One notice per such episode.
* The lock file is opened with ``O_NOFOLLOW`` and must be a regular file: a
  symlink planted in a shared directory is refused, never written through.
  One that another user created and we may not write is opened read-only
  (``flock`` needs no more); an error opening it names the lock file.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import stat
import sys
import time
from pathlib import Path

from . import fields as F
from .record import iso_utc
from .turn import Turn

# Read and write: the last byte is read back to close a torn line (O_APPEND
# still puts every write at the end).
_OPEN_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC


def _open_log(path: Path) -> int:
    try:
        return os.open(path, _OPEN_FLAGS, 0o644)
    except PermissionError:  # a file we may append to but not read
        return os.open(path, (_OPEN_FLAGS & ~os.O_RDWR) | os.O_WRONLY, 0o644)


_LOCK_FLAGS = os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
#: Waits between tries of a lock another process holds (seconds, doubling).
_LOCK_POLL_FIRST = 0.0005
_LOCK_POLL_MAX = 0.02


#: How long the unlocked path trusts that the path still names our file.
RECHECK_SECONDS = 0.1
#: The end of the file never compares below this: the locked path is next.
_RECHECK_NOW = 1 << 62


_INDEX = re.compile(rb'[^\n]*"log_file_index":(\d+)')


def lock_path_for(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


def rotated_path(path: Path, index: int) -> Path:
    return path.with_name(f"{path.name}.{index}")


def kept_path(path: Path) -> Path:
    """Where ``keep_first`` keeps the run's first file: ``app.jsonl.first``."""
    return path.with_name(path.name + F.KEPT_FILE_SUFFIX)


def file_notice(index: int, kept_name: str) -> bytes:
    """The line that starts file number ``index`` of a run with ``keep_first``:
    logview reads the number to show where files were rotated away."""
    document = {
        F.TIMESTAMP: iso_utc(time.time()),
        F.LEVEL: "INFO",
        F.LOGGER: F.OWN_LOGGER,
        F.MESSAGE: f"log file {index} of this run; its first records are kept in {kept_name}",
        F.LOG_FILE_INDEX: index,
    }
    return json.dumps(document, ensure_ascii=True, separators=(",", ":")).encode() + b"\n"


class WriteErrors:
    """Episodes of write failures: reported once when one starts and once when it
    ends (or at exit), with the number of records it lost."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lost = 0
        self.episode_lost = 0
        self.failing = False
        self.last_error = ""
        self._last_failure = 0.0
        self._working = True  # whether the last write worked

    def failed(self, count: int, error: OSError) -> None:
        self.lost += count
        self.episode_lost += count
        self.last_error = f"{type(error).__name__}: {error}"
        self._last_failure = time.monotonic()
        self._working = False
        if not self.failing:
            self.failing = True
            notice(
                f"cannot write to {self.path} ({self.last_error}); "
                "records are lost until writing works again"
            )

    def succeeded(self) -> None:
        """A write worked. The episode ends only once writes have worked for
        EPISODE_QUIET_SECONDS: on a nearly full disk small records still fit in
        the last page while large ones fail, and that is one episode, not many."""
        self._working = True
        if self.failing and time.monotonic() - self._last_failure >= F.EPISODE_QUIET_SECONDS:
            self._resumed()

    def _resumed(self) -> None:
        self.failing = False
        notice(f"writing to {self.path} resumed; {self.episode_lost} records were lost")
        self.episode_lost = 0

    def report_if_still_failing(self) -> None:
        if self.failing and self._working:  # it had resumed, within the quiet period
            self._resumed()
        elif self.failing:
            notice(
                f"{self.episode_lost} records were lost writing to {self.path} ({self.last_error})"
            )
            self.failing = False
            self.episode_lost = 0


#: One step of a batch: rotate first (or not), then append lines[start:end].
Chunk = tuple[bool, int, int]


def plan_chunks(lengths: list[int], size: int, max_bytes: int, fresh: int = 0) -> list[Chunk]:
    """How to append lines of these lengths to a file of ``size`` bytes so that no
    file passes ``max_bytes``: each chunk fills the file, the next one starts after
    a rotation, in a file that already holds up to ``fresh`` bytes (the notice of
    ``keep_first``). A line longer than a whole file goes alone into a fresh one
    (the encoder bounds lines by the same limit, so only a tiny limit meets this)."""
    chunks: list[Chunk] = []
    start, rotate = 0, False
    while start < len(lengths):
        end, chunk_size = start, 0
        while end < len(lengths) and size + chunk_size + lengths[end] <= max_bytes:
            chunk_size += lengths[end]
            end += 1
        if end == start:  # the next line does not fit in what is left
            if not rotate and size > 0:
                rotate, size = True, fresh
                continue
            end, chunk_size = start + 1, lengths[start]
        chunks.append((rotate, start, end))
        rotate = False
        size += chunk_size
        start = end
    return chunks


class RotatingJSONLWriter:
    """Appends batches of complete lines to ``path``, rotating at ``max_bytes``."""

    def __init__(
        self, path: Path, max_bytes: int, backup_count: int, keep_first: bool = False
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self.keep_first = keep_first
        self.errors = WriteErrors(path)
        self.written = 0
        self._fd = -1
        self._lock_fd = -1
        self._pid = -1
        self._identity = (-1, -1)  # (inode, device) of the file our descriptor is on
        self._closed = False
        # The unlocked path: the file's end as last seen, the end beyond which a
        # line needs the lock, and until when the path is trusted.
        self._end = _RECHECK_NOW
        self._unlocked_until = max_bytes - max_bytes // 8
        self._trusted_until = 0.0
        self._turn: Turn | None = None
        self._check_tail = True
        #: Since when another process has held the lock past LOCK_WAIT_SECONDS (0: not).
        self._lock_stalled_since = 0.0
        self._unlocked_lost = 0
        self._open()  # fail fast: an unwritable path is a setup error

    # --- descriptors --------------------------------------------------------------

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_fd = open_lock_file(lock_path_for(self.path))
        try:
            fd = _open_log(self.path)
        except OSError:
            os.close(lock_fd)
            raise
        self._lock_fd, self._pid = lock_fd, os.getpid()
        self._turn = Turn(lock_fd, self.path)
        self._use(fd)
        self._check_tail = True  # a writer killed mid-line may have left it torn

    def _use(self, fd: int) -> None:
        """Write to ``fd`` from now on (closing the previous one)."""
        if self._fd >= 0:
            os.close(self._fd)
        found = os.fstat(fd)
        self._fd, self._identity = fd, (found.st_ino, found.st_dev)

    def _close_descriptors(self) -> None:
        if self._turn is not None:
            self._turn.close()
            self._turn = None
        for fd in (self._fd, self._lock_fd):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._fd = self._lock_fd = -1
        self._identity = (-1, -1)
        self._end = _RECHECK_NOW

    def after_fork_in_child(self) -> None:
        """A child shares the parent's open file descriptions, and so its flock:
        it must reopen both before the lock excludes anything between them."""
        self._close_descriptors()
        self._pid = -1

    def close(self) -> None:
        self._closed = True
        self._close_descriptors()
        self.report_if_still_failing()

    # --- writing --------------------------------------------------------------------

    def write_line(self, line: bytes) -> None:
        """Append one line, the synchronous path: without the lock while the file
        is far from full and the path was checked a moment ago, else :meth:`write`.
        The caller holds the pipeline's lock (no other thread swaps ``_fd``)."""
        turn = self._turn
        if (
            self._end + len(line) <= self._unlocked_until
            and turn is not None
            and turn.ours()
            and time.monotonic() < self._trusted_until
        ):
            if self._append_unlocked(line):
                return
            self._end = _RECHECK_NOW
        self.write([line])

    def _append_unlocked(self, line: bytes) -> bool:
        try:
            done = os.write(self._fd, line)
            if done == len(line):
                self._end += done
                self.written += 1
                return True
            self._cut_piece(done)
        except OSError:
            pass  # the locked path reports it, or succeeds
        return False

    def _cut_piece(self, done: int) -> None:
        """A short append (the disk filled up mid-line): cut the piece off, under the
        lock, unless another process appended after it; the locked path retries."""
        if not self._take_lock():
            return  # a stopped peer holds it: the next locked write closes the line
        try:
            end = os.lseek(self._fd, 0, os.SEEK_CUR)
            if os.fstat(self._fd).st_size == end:
                os.ftruncate(self._fd, end - done)
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def write(self, lines: list[bytes]) -> int:
        """Append ``lines`` (each ending in a newline); return how many were written."""
        if not lines:
            return 0
        if self._closed:
            self.errors.failed(len(lines), OSError(errno.EBADF, "log file is closed"))
            return 0
        try:
            if self._pid != os.getpid() or self._fd < 0:
                self._close_descriptors()
                self._open()
            locked = self._take_lock()
        except OSError as error:
            self.errors.failed(len(lines), error)
            return 0
        if not locked:
            return self._write_without_lock(lines)
        try:
            written, size, failure = self._write_locked(lines)
        finally:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            except OSError:
                pass
        # The bookkeeping after the unlock: a report on a stderr that blocks
        # (a full pipe) must not hold up every process waiting for the lock.
        self.written += written
        if failure is not None:
            self.errors.failed(len(lines) - written, failure)
            self._end = _RECHECK_NOW
        else:
            self.errors.succeeded()
            self._end = size
            self._trusted_until = time.monotonic() + RECHECK_SECONDS
        return written

    def _take_lock(self) -> bool:
        """The lock, waiting at most LOCK_WAIT_SECONDS for a holder that does not let
        go (and not at all while one already made us wait that long); False: not taken."""
        lock_fd = self._lock_fd
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass
        else:
            self._end_lock_stall()
            return True
        if self._lock_stalled_since:
            return False
        deadline = time.monotonic() + F.LOCK_WAIT_SECONDS
        pause = _LOCK_POLL_FIRST
        while time.monotonic() < deadline:
            time.sleep(pause)
            pause = min(pause * 2, _LOCK_POLL_MAX)
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            return True
        self._lock_stalled_since = time.monotonic()
        notice(
            f"another process has held the lock of {self.path} for {F.LOCK_WAIT_SECONDS:g} s "
            "(stopped, or in a debugger?); appending without it until it lets go"
        )
        return False

    def _end_lock_stall(self) -> None:
        if self._lock_stalled_since:
            seconds = time.monotonic() - self._lock_stalled_since
            self._lock_stalled_since = 0.0
            notice(
                f"the lock of {self.path} is free again after {seconds:.1f} s; "
                f"{self._unlocked_lost} records were lost meanwhile (the file was full)"
            )
            self._unlocked_lost = 0

    def _write_without_lock(self, lines: list[bytes]) -> int:
        """A stopped process holds the lock: append whole lines with ``O_APPEND``, no
        rotation (that needs the lock), unless the file would pass ``max_bytes``."""
        try:
            size = self._follow_path()
            data = b"".join(lines)
            if size + len(data) > self.max_bytes:
                self._unlocked_lost += len(lines)
                self.errors.lost += len(lines)
                return 0
            if self._check_tail:
                self._close_torn_line(size)
            view = memoryview(data)
            while view:  # a short write is the disk filling up: counted below
                view = view[os.write(self._fd, view) :]
        except OSError as error:
            self.errors.failed(len(lines), error)
            return 0
        self.written += len(lines)
        self._end = _RECHECK_NOW
        return len(lines)

    def _close_torn_line(self, size: int) -> int:
        """If the file ends inside a line (a writer killed mid-write), end that line
        so ours starts on a fresh one; return the file's new size."""
        self._check_tail = False
        if size == 0:
            return 0
        try:
            last = os.pread(self._fd, 1, size - 1)
        except OSError:  # opened write-only: nothing to check with
            return size
        if last in (b"\n", b""):
            return size
        os.write(self._fd, b"\n")
        return size + 1

    def _write_locked(self, lines: list[bytes]) -> tuple[int, int, OSError | None]:
        """Under the lock: append ``lines``, rotating as needed; return how many
        were written, the file's size after them, and the error that stopped them."""
        written = 0
        try:
            size = self._follow_path()
            if self._check_tail or (self._turn is not None and self._turn.shared):
                size = self._close_torn_line(size)
            lengths = list(map(len, lines))
            if size + sum(lengths) <= self.max_bytes:  # the common case: one write
                self._append(b"".join(lines), size)
                written = len(lines)
                size += sum(lengths)
            else:
                fresh = F.NOTICE_BYTES if self.keep_first else 0
                for rotate, start, end in plan_chunks(lengths, size, self.max_bytes, fresh):
                    if rotate:
                        size = self._rotate()
                    self._append(b"".join(lines[start:end]), size)
                    written += end - start
                    size += sum(lengths[start:end])
        except OSError as error:
            return written, 0, error
        if self._turn is not None:
            self._turn.stamp()
        return written, size, None

    def _follow_path(self) -> int:
        """Reopen if the path no longer names our file; return the file's size.

        One stat of the path per batch: when it names our file, its size is ours.
        """
        try:
            on_path = os.stat(self.path)
            if (on_path.st_ino, on_path.st_dev) == self._identity:
                return on_path.st_size
        except FileNotFoundError:
            pass
        self._use(_open_log(self.path))
        return os.fstat(self._fd).st_size

    def _append(self, data: bytes, size_before: int) -> None:
        view = memoryview(data)
        try:
            while view:
                done = os.write(self._fd, view)
                view = view[done:]
        except OSError:
            # A write that ran out of space partway leaves half a line: cut it off.
            try:
                os.ftruncate(self._fd, size_before)
            except OSError:
                pass
            raise

    def _rotate(self) -> int:
        """Start a fresh file at the path; return its size (a notice line with
        ``keep_first``, else 0)."""
        index = self._file_index() if self.keep_first else 0
        kept = kept_path(self.path)
        if self.keep_first and not kept.exists():
            # The run's first records (its root cause, often) outlive every rotation.
            os.replace(self.path, kept)
            self._use(_open_log(self.path))
        elif self.backup_count == 0:
            os.ftruncate(self._fd, 0)
        else:
            for number in range(self.backup_count - 1, 0, -1):
                source = rotated_path(self.path, number)
                if source.exists():
                    os.replace(source, rotated_path(self.path, number + 1))
            os.replace(self.path, rotated_path(self.path, 1))
            self._use(_open_log(self.path))
        if not self.keep_first:
            return 0
        notice_line = file_notice(index + 1, kept.name)
        self._append(notice_line, 0)
        return len(notice_line)

    def _file_index(self) -> int:
        """The number of the file on the path in the run (0 for the first file),
        from the notice that starts every later file."""
        try:  # our descriptor is write-only; under the lock the path names its file
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                found = _INDEX.match(os.pread(fd, F.NOTICE_BYTES, 0))
            finally:
                os.close(fd)
        except OSError:
            return 0
        return int(found.group(1)) if found else 0

    def report_if_still_failing(self) -> None:
        self.errors.report_if_still_failing()


def open_lock_file(path: Path) -> int:
    """The lock file's descriptor: never through a symlink, only a regular file,
    read-only when another user created it and we may not write it (flock needs
    no more; the unlocked path is then off). Errors name the lock file."""
    try:
        try:
            fd = os.open(path, os.O_RDWR | _LOCK_FLAGS, 0o666)
        except PermissionError:
            fd = os.open(path, os.O_RDONLY | _LOCK_FLAGS)
    except OSError as error:
        reason = error.strerror or str(error)
        if error.errno == errno.ELOOP:
            reason = "it is a symbolic link, which a lock file never is"
        raise type(error)(
            error.errno,
            f"lock file {str(path)!r}: {reason}; remove it, or log to a directory "
            "only trusted users can write",
        ) from None
    try:
        kind = os.fstat(fd).st_mode
    except OSError:
        kind = 0
    if not stat.S_ISREG(kind):
        os.close(fd)
        raise OSError(
            errno.EINVAL,
            f"lock file {str(path)!r}: not a regular file; remove it, or log to a "
            "directory only trusted users can write",
        )
    return fd


def notice(text: str) -> None:
    """Our own trouble goes straight to the real stderr, never through logging."""
    stream = sys.__stderr__ or sys.stderr
    try:
        stream.write(f"shared.logging: {text}\n")
        stream.flush()
    except Exception:  # noqa: S110 - nowhere left to report to
        pass
