"""What a raw block of JSONL lines holds, read without parsing every line:
how many lines are JSON objects or blank, and which processes wrote it (for
``--triage``, whose speed is these scans: see _triage.py).

Our records carry ``"process":123,`` (the writer's compact JSON); another
writer's json.dumps writes ``"process": 123, `` and may put the key last,
before a brace. Both spellings are read, in C (speedups.scan_block, one pass
of memchr and memmem, no object per line) or, without the extension, by
counts where they suffice and regexes where they don't.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any, Final

from shared._logging import fields as F
from shared._logging import speedups

from ._records import parse

#: Lines that are JSON objects, counted per chunk without splitting it.
OBJECT_LINE: Final = re.compile(rb"^[ \t]*\{[^\n]*\}[ \t\r]*$", re.M)
_BLANK_LINE: Final = re.compile(rb"^[ \t\r]*$", re.M)
#: Our records' pid: "process":123, as we write it, or "process": 123, as
#: json.dumps writes it (or last in its object, before a brace).
_PID_KEY: Final = f'"{F.PROCESS}"'.encode()
_PID: Final = re.compile(re.escape(_PID_KEY) + rb"[ \t]*:[ \t]*(\d+)[ \t]*[,}]")
#: The first window searched for a process's line (then 8 times wider, and so on).
_WINDOW: Final = 1 << 14

Process = tuple[str, int]


def scan(block: bytes, known: set[bytes]) -> tuple[int, int, Iterable[bytes]]:
    """(lines that are JSON objects, other lines that are not blank, the
    distinct pids of our records) of a block.

    With the C extension, one pass finds them all (speedups.scan_block:
    memchr and memmem, no object per line). Without it, counts in C where they
    suffice and regex scans where they don't."""
    scanned = speedups.scan_block(block, _PID_KEY)
    if scanned is not None:
        lines, objects, blank, _, pids = scanned
        return objects, lines - objects - blank, pids
    objects, others = _objects(block)
    return objects, others, _pids(block, known)


def _objects(block: bytes) -> tuple[int, int]:
    """(lines that are JSON objects, other lines that are not blank) in a block.

    The common case costs two counts: every newline sits between ``}`` and
    ``{``, and the block starts and ends as objects do, so every line is an
    object in shape. Otherwise (a torn line, a traceback printed into the
    file, blank lines) each line is matched."""
    lines = block.count(b"\n") + 1
    if block[:1] == b"{" and block[-1:] == b"}" and block.count(b"}\n{") == lines - 1:
        return lines, 0
    objects = len(OBJECT_LINE.findall(block))
    blank = len(_BLANK_LINE.findall(block))
    return objects, lines - objects - blank


def _pids(block: bytes, known: set[bytes]) -> Iterable[bytes]:
    """The distinct pids of our records in a block, without the extension. A file
    one process writes (Ray's layout) costs two counts: when every ``"process"``
    key is followed by that one pid, no regex runs. Otherwise a regex finds them."""
    if len(known) <= 1:
        first = _PID.search(block)
        if first is not None and (not known or first.group(1) in known):
            pid = first.group(1)
            if block.count(_PID_KEY + b":" + pid + b",") == block.count(_PID_KEY):
                return (pid,)
    return set(_PID.findall(block))


def spellings(pid: bytes) -> tuple[bytes, ...]:
    """How a line may hold this pid: compact (ours) or with json.dumps's spaces,
    before a comma or a brace."""
    return tuple(_PID_KEY + colon + pid + end for colon in (b":", b": ") for end in (b",", b"}"))


def rfind_any(block: bytes, needles: tuple[bytes, ...], stop: int) -> int:
    """The last place of any of ``needles`` in ``block[:stop]``, or -1. Searched
    in growing windows back from ``stop``: a spelling the block never uses must
    not cost a scan of the whole block each time the others are found near."""
    window = _WINDOW
    while True:
        begin = max(0, stop - window)
        found = max(block.rfind(needle, begin, stop) for needle in needles)
        if found >= 0 or begin == 0:
            return found
        window *= 8


def processes(block: bytes, pids: Iterable[bytes], known: set[bytes]) -> Iterator[Process]:
    """The (host, pid) pairs of the records in a block. One scan found the pids;
    a pid new to this source is paired with the host of its first line that
    parses, all new pids in one walk over the block's pids that stops when each
    has its host (near the start: a new process shows up early). (Two hosts'
    processes with one pid in one file, neither logging WARNING or above, would
    count once; every WARNING-or-above record adds its exact pair.)"""
    wanted = set(pids) - known
    if not wanted:
        return
    known.update(wanted)
    for match in _PID.finditer(block):
        pid = match.group(1)
        if pid not in wanted:
            continue
        line_start = block.rfind(b"\n", 0, match.start()) + 1
        line_end = block.find(b"\n", match.end())
        record = parse(block[line_start : line_end if line_end >= 0 else len(block)])
        process = process_of(record.doc) if record is not None else None
        if process is not None and process[1] == int(pid):
            yield process
            wanted.discard(pid)
            if not wanted:
                return


def process_of(doc: Any) -> Process | None:
    host, pid = doc.get(F.HOSTNAME), doc.get(F.PROCESS)
    if isinstance(host, str) and type(pid) is int:
        return host, pid
    return None
