"""Where lines come from: files, rotated sets, directories, gzip, stdin.

Lines are read in large chunks, never one ``readline`` at a time. With
``--level`` at WARNING or above, a regex over the whole chunk finds the lines
whose level may match (see LevelPrefilter); the others are never split out,
let alone parsed. A line longer than ``MAX_LINE`` is skipped and counted
instead of being held in memory.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final

from shared._logging import fields as F

CHUNK: Final = 1 << 20
MAX_LINE: Final = 16 << 20
_ROTATED: Final = re.compile(r"\.(\d+)(\.gz)?$")


@dataclass
class Counters:
    """Lines we could not use, reported once at the end."""

    skipped: int = 0
    too_long: int = 0


@dataclass
class Source:
    """One stream of records in time order: a file with its rotated siblings, or stdin."""

    name: str
    paths: list[Path] = field(default_factory=list)  # oldest first; empty for stdin


def expand(arguments: Sequence[str]) -> list[Source]:
    """Turn command-line paths into sources (each a rotated set, oldest file first)."""
    sources: list[Source] = []
    for argument in arguments:
        if argument == "-":
            sources.append(Source("-"))
            continue
        path = Path(argument)
        if path.is_dir():
            # Recursive: a results/ directory holds one sub-directory per run.
            bases = sorted(
                p
                for pattern in ("*.jsonl", "*.jsonl.gz")
                for p in path.rglob(pattern)
                if p.is_file() and not p.name.startswith(".")
            )
            listings: dict[Path, list[str]] = {}  # one listing per directory, not per file
            for base in bases:
                if base.parent not in listings:
                    listings[base.parent] = _names(base.parent)
                sources.append(Source(str(base), rotated_set(base, listings[base.parent])))
        elif path.exists() or rotated_set(path):
            sources.append(Source(str(path), rotated_set(path) or [path]))
        else:
            raise FileNotFoundError(f"no such file or directory: {argument}")
    return sources


def _names(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []


def rotated_set(base: Path, names: list[str] | None = None) -> list[Path]:
    """``base.N`` … ``base.1``, ``base``: the oldest file first (``.gz`` siblings too).
    ``names``: the directory's listing, when the caller has it already."""
    if _ROTATED.search(base.name) and not base.name.endswith(".jsonl.gz"):
        return [base] if base.exists() else []  # an explicit rotated file: just that one
    if names is None:
        names = _names(base.parent)
    numbered: list[tuple[int, str]] = []
    prefix = base.name + "."
    for name in names:
        if name.startswith(prefix):
            match = _ROTATED.fullmatch(name[len(base.name) :])
            if match:
                numbered.append((int(match.group(1)), name))
    ordered = [base.with_name(n) for _, n in sorted(numbered, reverse=True)]
    kept = base.name + F.KEPT_FILE_SUFFIX  # keep_first: the run's first file
    first = [base.with_name(kept)] if kept in names else []
    return first + ordered + ([base] if base.exists() else [])


def open_binary(path: Path) -> BinaryIO:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb", buffering=0)


def stdin() -> BinaryIO:
    return sys.stdin.buffer if sys.stdin is not None else io.BytesIO()


class LevelPrefilter:
    """Finds, in raw bytes, every line whose level may be at or above a minimum.

    Known writers put the level as ``"level":"ERROR"`` (ours), ``"level": "error"``
    (structlog), ``"levelname": "ERROR"`` (python-json-logger) or
    ``"name": "ERROR", "no"`` (loguru). One regex anchored on the key runs at
    memory-bandwidth speed; loguru's is only run on chunks that hold loguru
    records. It may let through lines that don't match (a nested "level" key):
    they are parsed and checked. It never drops a line that could match.
    """

    def __init__(self, spellings: Sequence[str]) -> None:
        values = b"|".join(re.escape(s.encode()) for s in spellings)
        self._key = re.compile(rb'"level(?:name)?": ?"(?:' + values + rb')"')
        self._loguru = re.compile(rb'"name": ?"(?:' + values + rb')", ?"no"')

    def line_starts(self, data: bytes, end: int) -> set[int]:
        starts = {data.rfind(b"\n", 0, m.start()) + 1 for m in self._key.finditer(data, 0, end)}
        if data.find(b'"record": {', 0, end) >= 0:
            starts.update(
                data.rfind(b"\n", 0, m.start()) + 1 for m in self._loguru.finditer(data, 0, end)
            )
        return starts


def lines(
    source: Source, counters: Counters, prefilter: LevelPrefilter | None = None
) -> Iterator[bytes]:
    """Every complete line of ``source`` (or, with a prefilter, those that may match)."""
    for block in blocks(source, counters, prefilter):
        yield from block


def blocks(
    source: Source, counters: Counters, prefilter: LevelPrefilter | None = None
) -> Iterator[list[bytes]]:
    """The lines of :func:`lines`, a chunk's worth at a time (no generator step per line)."""
    for data, end in _pieces(source, counters):
        yield [data] if end < 0 else _complete_lines(data, end, prefilter)


def chunks(source: Source, counters: Counters) -> Iterator[bytes]:
    """Whole lines of ``source``, about a chunk at a time, newline-joined (no trailing one)."""
    for data, end in _pieces(source, counters):
        block = data if end < 0 else _without_blank_lines(data[:end])
        if block:
            yield block


def _pieces(source: Source, counters: Counters) -> Iterator[tuple[bytes, int]]:
    if not source.paths:
        yield from stream_pieces(stdin(), counters)
        return
    for index, path in enumerate(source.paths):
        if index and source.paths[index - 1].name.endswith(F.KEPT_FILE_SUFFIX):
            gap = rotated_away(path)
            if gap:
                yield gap, -1
        with open_binary(path) as handle:
            yield from stream_pieces(handle, counters)


def rotated_away(path: Path) -> bytes:
    """After the kept first file: a line marking the files rotated away before
    ``path`` (b"" when none were), from the number its opening notice carries."""
    try:
        with open_binary(path) as handle:
            head = handle.readline(4096)
        notice = json.loads(head)
        index = notice[F.LOG_FILE_INDEX]
    except (OSError, ValueError, TypeError, KeyError, EOFError):
        return b""
    if not isinstance(index, int) or index <= 1:
        return b""
    document = {
        F.TIMESTAMP: notice.get(F.TIMESTAMP),
        F.LEVEL: "WARNING",
        F.LOGGER: "logview",
        F.MESSAGE: f"--- {index - 1} log files of this run were rotated away here ---",
        "rotated_away_files": index - 1,
    }
    return json.dumps(document).encode()


def stream_pieces(handle: BinaryIO, counters: Counters) -> Iterator[tuple[bytes, int]]:
    """``(data, end)``: ``data[:end]`` holds whole lines; ``end`` is -1 for a cut-off
    last line (no newline), which is passed on as it is."""
    tail = b""
    dropping = False  # inside a line longer than MAX_LINE
    while True:
        chunk = handle.read(CHUNK)
        if not chunk:
            break
        if dropping:
            newline = chunk.find(b"\n")
            if newline < 0:
                continue
            chunk, dropping = chunk[newline + 1 :], False
        data = tail + chunk if tail else chunk
        end = data.rfind(b"\n")
        if end < 0:
            tail = data
            if len(tail) > MAX_LINE:
                counters.too_long += 1
                tail, dropping = b"", True
            continue
        tail = data[end + 1 :]
        yield data, end
    if tail.strip():
        # A last line without a newline: a writer cut short. Try it anyway.
        yield tail, -1


#: Runs of blank lines: a file of newlines (a crafted .gz of 2 GiB) must cost
#: what its bytes cost to read, not a parse attempt per empty line.
_BLANK_RUN = re.compile(rb"\n[\n \t\r]*\n")


def _without_blank_lines(block: bytes) -> bytes:
    if b"\n\n" not in block and not block.startswith(b"\n"):
        return block  # the common case: one find, no copy
    return _BLANK_RUN.sub(b"\n", block).lstrip(b"\n").removesuffix(b"\n")


def _complete_lines(data: bytes, end: int, prefilter: LevelPrefilter | None) -> list[bytes]:
    """Lines in ``data[:end]``, blank ones left out; with a prefilter only those
    that may match."""
    if prefilter is None:
        block = _without_blank_lines(data[:end])
        return block.split(b"\n") if block else []
    found = []
    for start in sorted(prefilter.line_starts(data, end)):
        stop = data.find(b"\n", start, end + 1)
        found.append(data[start : stop if stop >= 0 else end])
    return found


def follow_lines(
    path: Path, counters: Counters, poll: float, from_start: bool
) -> Iterator[bytes | None]:
    """Lines appended to ``path``, forever; ``None`` when there is nothing new.

    When a new file appears at the path (rotation), the rest of the old file is
    read, then every file rotated after it (several rotations can happen between
    two polls), then the new one from its start. A file that shrank (truncation)
    is read again from its start.
    """
    handle: BinaryIO | None = None
    # Rotated files newer than the one we had, oldest first, opened at once: their
    # names shift if yet another rotation happens while we read them.
    pending: list[BinaryIO] = []
    tail = b""
    while True:
        if handle is None:
            reading_rotated = len(pending) > 1  # the last one is the current file
            if pending:
                handle = pending.pop(0)
            else:
                try:
                    handle = open(path, "rb", buffering=0)  # noqa: SIM115 - closed below
                except FileNotFoundError:
                    yield None
                    continue
            if not from_start:
                handle.seek(0, os.SEEK_END)
            from_start = True  # every later file is read whole
        chunk = handle.read(CHUNK)
        if chunk:
            data = tail + chunk
            end = data.rfind(b"\n")
            if end >= 0:
                tail = data[end + 1 :]
                yield from data[:end].split(b"\n")
            else:
                tail = data if len(data) <= MAX_LINE else b""
            continue
        if reading_rotated:  # a rotated file is complete: go on to the next one
            handle.close()
            handle, tail = None, b""
            continue
        if _replaced(path, handle):
            pending = _open_rotated_after(path, os.fstat(handle.fileno()))
            handle.close()
            handle, tail = None, b""
            continue
        if _truncated(path, handle):
            handle.seek(0)
            tail = b""
            continue
        yield None


_SNAPSHOT_ATTEMPTS = 20


def _open_rotated_after(path: Path, ours: os.stat_result) -> list[BinaryIO]:
    """The files written after the file ``ours``, oldest first, the current one last.

    All are opened from one consistent view of the directory: if a rotation
    renames them while they are being opened (names and inodes differ before and
    after), they are opened again. A file named by what the directory said a
    moment ago could be the one before or after it by now, and a line would be
    read twice or not at all.
    """
    for _ in range(_SNAPSHOT_ATTEMPTS):
        before = _inodes(rotated_set(path))
        handles: list[BinaryIO] = []
        for name in before:
            try:
                handles.append(open(name, "rb", buffering=0))  # noqa: SIM115 - returned
            except FileNotFoundError:
                break
        if len(handles) == len(before) and _inodes(rotated_set(path)) == before:
            found = [(os.fstat(h.fileno()).st_ino, os.fstat(h.fileno()).st_dev) for h in handles]
            key = (ours.st_ino, ours.st_dev)
            # Not there: it was deleted (the oldest backup goes first), so all are newer.
            start = found.index(key) + 1 if key in found else 0
            for unwanted in handles[:start]:
                unwanted.close()
            return handles[start:]
        for handle in handles:
            handle.close()
    return []  # the directory never held still: reopen the path and go on from there


def _inodes(names: list[Path]) -> dict[Path, tuple[int, int]]:
    found: dict[Path, tuple[int, int]] = {}
    for name in names:
        try:
            stat = os.stat(name)
        except FileNotFoundError:
            continue
        found[name] = (stat.st_ino, stat.st_dev)
    return found


def _replaced(path: Path, handle: BinaryIO) -> bool:
    try:
        on_path = os.stat(path)
    except FileNotFoundError:
        return False  # rotated away, new file not there yet: keep reading the old one
    ours = os.fstat(handle.fileno())
    return (on_path.st_ino, on_path.st_dev) != (ours.st_ino, ours.st_dev)


def _truncated(path: Path, handle: BinaryIO) -> bool:
    try:
        return os.fstat(handle.fileno()).st_size < handle.tell()
    except OSError:
        return False
