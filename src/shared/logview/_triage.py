"""``--triage``: a whole run read back as a diagnosis (the analysis; the text,
JSON and HTML renderers are _triage_render.py and _triage_html.py).

* **The first failure**: the earliest CRITICAL record across every process of
  the run; with none, the earliest ERROR that carries an exception; with none,
  the earliest ERROR. With it, the last records its process wrote before it.
* **The cascade**: every kind of WARNING-or-above record (logger, level,
  message template, exception type: what the console's storm control counts
  as one, storms.template_of) collapsed across processes: its count, its
  processes, its ranks, its first and last time.
* **A timeline** for the HTML report: per process, WARNING-and-above records
  counted per time bucket.

``records`` counts the lines that are JSON objects: every line that reads as
one (``{`` ... ``}``), less those among the WARNING-and-above candidates that
do not parse; a line of a lower level is not parsed, so a glued pair of lines
there would count as one record.

Speed: like ``--level WARNING``, a regex over each raw chunk finds the lines
that may be WARNING or above (LevelPrefilter); only those are parsed. The
other lines are counted, and their processes collected, without parsing them
(_blocks.py: one pass in C). The records a process wrote before its failure
are found by searching back from the failure's line in the chunks its file
still holds in memory, and when those hold too few, by reading it again.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from shared._logging import fields as F
from shared._logging.storms import template_of

from ._blocks import (
    OBJECT_LINE,
    Process,
    process_of,
    processes,
    rfind_any,
    scan,
    spellings,
)
from ._filters import level_prefilter
from ._records import LEVELS, Record, parse, sort_key
from ._sources import CHUNK, Counters, Source, _pieces

WARNING: Final = LEVELS["WARNING"]
ERROR: Final = LEVELS["ERROR"]
CRITICAL: Final = LEVELS["CRITICAL"]
#: Records of the failing process shown before its failure.
BEFORE: Final = 5
#: Chunks of a source kept in memory to search back from a failure.
_HISTORY_CHUNKS: Final = 2
#: The last line of a traceback: the exception's type, then its message.
_RAISED: Final = re.compile(r"([A-Za-z_][\w.]*)(?::|$)")
#: Records kept for the HTML report's search box, shared fairly among kinds.
SEARCHABLE: Final = 10_000
#: Records held while reading, before the fair pick; past it, only a kind that
#: holds none yet gets one (so a storm of one kind leaves room for the rest).
_HELD: Final = 4 * SEARCHABLE
#: Time buckets across the HTML report's timeline.
BUCKETS: Final = 240

_templates: dict[str, str] = {}  # a storm repeats its messages: template each once
KindKey = tuple[str, str, str, str]


@dataclass
class Kind:
    """One kind of WARNING-or-above record across the run."""

    level: str
    logger: str
    template: str
    exception_type: str | None
    count: int = 0
    processes: set[Process] = field(default_factory=set)
    ranks: set[int] = field(default_factory=set)
    first: str = ""
    last: str = ""
    first_key: str = ""
    last_key: str = ""
    held: list[Record] = field(default_factory=list)  # its first records, for search


@dataclass
class Failure:
    record: Record
    key: str
    rank: int  # 0 CRITICAL, 1 ERROR with an exception, 2 ERROR
    before: list[Record] = field(default_factory=list)
    #: Where its line is: its source, the chunk's number in it, the line's start
    #: in that chunk; and whether every earlier chunk was still in memory.
    where: tuple[Source, int, int] | None = None
    searched_all: bool = True


@dataclass
class Triage:
    records: int = 0
    processes: set[Process] = field(default_factory=set)
    failure: Failure | None = None
    kinds: dict[KindKey, Kind] = field(default_factory=dict)
    #: (process label, bucket time key, level) of every WARNING-or-above record,
    #: for the timeline: kept as counts per (lane, bucket) by the HTML renderer.
    marks: list[tuple[str, str, int]] = field(default_factory=list)
    searchable_total: int = 0
    held: int = 0
    #: With search_all, every line of the run while they fit the search box
    #: (None: they did not, or they were not asked for).
    every_line: list[bytes] | None = None
    lanes: dict[str, str] = field(default_factory=dict)  # label -> who (host pid rank)

    def ordered_kinds(self) -> list[Kind]:
        return sorted(self.kinds.values(), key=lambda kind: kind.first_key)

    def searchable(self) -> list[Record]:
        """At most SEARCHABLE records for the search box, in time order: every
        record when the run fits; otherwise the WARNING-and-above ones, each
        kind's first records with the room shared fairly among kinds, so a
        storm of one kind cannot crowd out the timeouts that follow it."""
        kinds = [kind for kind in self.ordered_kinds() if kind.held]
        shares = fair_shares([len(kind.held) for kind in kinds], SEARCHABLE)
        picked = [r for kind, share in zip(kinds, shares, strict=True) for r in kind.held[:share]]
        if self.every_line is not None:  # the run fits: its records below WARNING too
            parsed = (parse(line) for line in self.every_line)
            picked.extend(r for r in parsed if r is not None and r.levelno < WARNING)
        picked.sort(key=lambda record: sort_key(record.time) or "")
        return picked


def fair_shares(sizes: list[int], room: int) -> list[int]:
    """How many of each size to take so the total fits ``room``: the smallest
    are taken whole, the rest split what is left evenly (water-filling)."""
    shares = [0] * len(sizes)
    order = sorted(range(len(sizes)), key=sizes.__getitem__)
    for done, index in enumerate(order):
        shares[index] = min(sizes[index], room // (len(order) - done))
        room -= shares[index]
    return shares


def triage(sources: Iterable[Source], counters: Counters, *, search_all: bool = False) -> Triage:
    """Read every source once and triage the run. ``search_all`` (the HTML
    report): while the run's lines fit SEARCHABLE, keep those below WARNING
    too, so that a small run is searchable whole."""
    found = Triage()
    if search_all:
        found.every_line = []
    prefilter = level_prefilter(WARNING)
    assert prefilter is not None
    for source in sources:
        history: deque[bytes] = deque(maxlen=_HISTORY_CHUNKS)
        known: set[bytes] = set()  # pids of this source whose host is known
        for ordinal, (data, end) in enumerate(_pieces(source, counters)):
            block = data if end < 0 else data[:end]
            if not block:
                continue
            history.append(block)
            place = _Place(source, ordinal, history)
            objects, others, pids = scan(block, known)
            found.records += objects
            counters.skipped += others  # torn or not JSON
            found.processes.update(processes(block, pids, known))
            if found.every_line is not None:
                _keep_every_line(found, block)
            for start in sorted(prefilter.line_starts(block, len(block))):
                stop = block.find(b"\n", start)
                line = block[start : stop if stop >= 0 else len(block)]
                _add(found, line, start, place, counters)
    failure = found.failure
    if failure is not None and len(failure.before) < BEFORE and not failure.searched_all:
        failure.before = _before_in_source(failure)
    return found


def _keep_every_line(found: Triage, block: bytes) -> None:
    """Keep a block's lines for the search box while the whole run still fits
    it; past that, none (the search holds WARNING and above)."""
    assert found.every_line is not None
    lines = [line for line in block.split(b"\n") if line.strip()]
    if len(found.every_line) + len(lines) > SEARCHABLE:
        found.every_line = None
        return
    found.every_line.extend(lines)


@dataclass
class _Place:
    """The chunk being read: its source, its number there, and the chunks still
    in memory (it is the newest)."""

    source: Source
    ordinal: int
    history: deque[bytes]


def _add(found: Triage, line: bytes, start: int, place: _Place, counters: Counters) -> None:
    record = parse(line)
    if record is None:
        if OBJECT_LINE.fullmatch(line):  # looked like an object: counted as one above
            found.records -= 1
            counters.skipped += 1
        return
    if record.levelno < WARNING:
        return  # a nested "level" key let it through the prefilter
    key = sort_key(record.time) or ""
    doc = record.doc
    process = process_of(doc)
    rank = _rank_of(doc)
    template = _templates.get(record.message)
    if template is None:
        if len(_templates) >= 65_536:
            _templates.clear()
        template = _templates[record.message] = template_of(record.message)
    kind_key = (record.level, record.logger, template, _exception_type(record))
    kind = found.kinds.get(kind_key)
    if kind is None:
        kind = found.kinds[kind_key] = Kind(
            record.level, record.logger, kind_key[2], kind_key[3] or None
        )
    kind.count += 1
    if process is not None:
        kind.processes.add(process)
        found.processes.add(process)
    if rank is not None:
        kind.ranks.add(rank)
    if not kind.first_key or key < kind.first_key:
        kind.first_key, kind.first = key, record.time
    if key > kind.last_key:
        kind.last_key, kind.last = key, record.time
    lane = _lane(found, doc, process)
    found.marks.append((lane, key, record.levelno))
    found.searchable_total += 1
    if len(kind.held) < SEARCHABLE and (found.held < _HELD or not kind.held):
        kind.held.append(record)
        found.held += 1
    _consider_failure(found, record, key, process, start=start, place=place)


def _consider_failure(
    found: Triage, record: Record, key: str, process: Process | None, *, start: int, place: _Place
) -> None:
    """Keep ``record`` as the first failure if it ranks before the one kept;
    ``start``: its line's start in the newest chunk of ``place``."""
    if record.levelno >= CRITICAL:
        rank = 0
    elif record.levelno >= ERROR:
        rank = 1 if record.exc else 2
    else:
        return
    best = found.failure
    if best is not None and (best.rank, best.key) <= (rank, key):
        return
    found.failure = Failure(
        record,
        key,
        rank,
        _before(record, process, [(chunk, len(chunk)) for chunk in place.history], start),
        (place.source, place.ordinal, start),
        searched_all=place.ordinal < len(place.history),
    )


def _before(
    record: Record, process: Process | None, chunks: list[tuple[bytes, int]], start: int
) -> list[Record]:
    """The last BEFORE records of the failure's process before it, oldest first,
    searched back from ``start`` in the last chunk through the earlier ones
    (each ``(chunk, where it ends)``)."""
    if process is None:
        return []
    needles = spellings(str(process[1]).encode())
    limit = sort_key(record.time) or ""
    found: list[Record] = []
    for index in range(len(chunks) - 1, -1, -1):
        block, stop = chunks[index]
        if index == len(chunks) - 1:
            stop = start
        while len(found) < BEFORE:
            at = rfind_any(block, needles, stop)
            if at < 0:
                break
            line_start = block.rfind(b"\n", 0, at) + 1
            line_end = block.find(b"\n", at)
            candidate = parse(block[line_start : line_end if line_end >= 0 else len(block)])
            if (
                candidate is not None
                and process_of(candidate.doc) == process
                and (sort_key(candidate.time) or "") <= limit
            ):
                found.append(candidate)
            stop = line_start
        if len(found) >= BEFORE:
            break
    found.reverse()
    return found


def _before_in_source(failure: Failure) -> list[Record]:
    """:func:`_before` when the chunks in memory held fewer than BEFORE records
    of the failing process (it was quiet while others wrote megabytes): its
    source is read again from the start up to the failure's line, keeping each
    chunk's last records of that process. stdin can't be read twice."""
    assert failure.where is not None
    source, last, start = failure.where
    process = process_of(failure.record.doc)
    if not source.paths or process is None:
        return failure.before
    kept: deque[Record] = deque(maxlen=BEFORE)
    for ordinal, (data, end) in enumerate(_pieces(source, Counters())):
        block = data if end < 0 else data[:end]
        stop = start if ordinal == last else len(block)
        kept.extend(_before(failure.record, process, [(block, stop)], stop))
        if ordinal >= last:
            break
    return list(kept)


def _rank_of(doc: Any) -> int | None:
    """The record's rank: an int from 0, or digits in a string (a writer that
    sets it from the RANK environment variable as it is)."""
    rank = doc.get(F.RANK)
    if type(rank) is int:
        return rank if rank >= 0 else None
    if type(rank) is str and rank.isdigit() and len(rank) < 10:
        return int(rank)
    return None


def _exception_type(record: Record) -> str:
    """The exception's type: ours and loguru's name it; other writers (structlog's
    ``exception``, python-json-logger's ``exc_info``) give only the traceback,
    whose last line names it (``ValueError: bad``, ``torch.OutOfMemoryError``)."""
    doc = record.doc
    exception = doc.get(F.EXCEPTION)
    if isinstance(exception, dict):
        kind = exception.get(F.EXCEPTION_TYPE)
        return str(kind) if kind else ""
    loguru = doc.get("record")
    if isinstance(loguru, dict) and isinstance(loguru.get("exception"), dict):
        kind = loguru["exception"].get("type")
        if kind:
            return str(kind)
    if not record.exc:
        return ""
    last = record.exc.rstrip().rpartition("\n")[2]
    named = _RAISED.match(last)
    return named.group(1) if named else ""


def who(doc: Any) -> str:
    """Who wrote a record: host and pid, and its rank, Ray actor or worker id."""
    parts = []
    host, pid = doc.get(F.HOSTNAME), doc.get(F.PROCESS)
    if host is not None:
        parts.append(f"host {host}")
    if pid is not None:
        parts.append(f"pid {pid}")
    rank = doc.get(F.RANK)
    if rank is not None:
        parts.append(f"rank {rank}")
    elif doc.get("actor_name"):
        parts.append(f"actor {doc['actor_name']}")
    elif doc.get("worker_id"):
        parts.append(f"worker {str(doc['worker_id'])[:12]}")
    return " ".join(str(p) for p in parts) or "unknown process"


def _lane(found: Triage, doc: Any, process: Process | None) -> str:
    rank = _rank_of(doc)
    if rank is not None:
        label = f"rank {rank}"
    elif process is not None:
        label = doc.get("actor_name") or f"{process[0]}:{process[1]}"
    else:
        label = "?"
    label = str(label)
    if label not in found.lanes:
        found.lanes[label] = who(doc)
    return label


def runs(ranks: Iterable[int]) -> list[tuple[int, int]]:
    """``[0, 1, 2, 3, 5, 6]`` -> ``[(0, 3), (5, 6)]``: consecutive ranks as runs."""
    found: list[tuple[int, int]] = []
    for rank in sorted(set(ranks)):
        if found and rank == found[-1][1] + 1:
            found[-1] = (found[-1][0], rank)
        else:
            found.append((rank, rank))
    return found


def run_text(run: tuple[int, int]) -> str:
    first, last = run
    return f"{first}-{last}" if last > first else f"{first}"


def ranges(ranks: Iterable[int]) -> str:
    """``[0, 1, 2, 3, 5, 6]`` -> ``"0-3,5-6"``."""
    return ",".join(run_text(run) for run in runs(ranks))


__all__ = [
    "CHUNK", "Failure", "Kind", "Triage", "fair_shares", "ranges", "run_text", "runs", "triage",
    "who",
]  # fmt: skip
