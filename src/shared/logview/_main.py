"""The ``logview`` command line: sources -> merge -> filter -> render | stats."""

from __future__ import annotations

import argparse
import bisect
import gc
import itertools
import operator
import os
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, Final

from shared._logging.console import want_colors

from ._filters import WHERE_FORMS, Predicate, UsageError, build, parse_level
from ._print_all import print_everything
from ._records import Record, parse, quick_level, sort_key
from ._render import Renderer
from ._sources import Counters, LevelPrefilter, Source, blocks, expand, follow_lines, lines
from ._stats import Stats

_FLUSH_EVERY: Final = 512
_POLL_SECONDS: Final = 0.2

DESCRIPTION = """\
Read, filter, follow and merge JSONL logs. A file brings its rotated siblings
(app.jsonl.3 ... app.jsonl.1, app.jsonl), a directory its *.jsonl files; .gz is
read transparently and - is stdin. Several sources are merged by time.
Reads shared-logging, python-json-logger, structlog and loguru records."""

EPILOG = """\
examples:
  logview logs/app.jsonl --level ERROR
  logview results/ --logger bifrost --where 'rollout_id=7' --since 2h
  logview app.jsonl --where 'exception.type=ValueError' --json | jq .
  logview app.jsonl -f --grep 'timeout|refused'
  logview app.jsonl --stats
  logview results/grpo_20261203-101500/ --triage
  logview results/grpo_20261203-101500/ --triage --html report.html"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logview",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="file, directory, .gz or -")
    parser.add_argument("--level", help="minimum level (DEBUG, INFO, WARNING, ERROR, CRITICAL)")
    parser.add_argument(
        "--logger", action="append", default=[], metavar="NAME", help="a logger or its children"
    )
    parser.add_argument("--grep", metavar="REGEX", help="search the message and the traceback")
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="EXPR",
        help=f"{WHERE_FORMS} (dotted keys reach in)",
    )
    parser.add_argument("--since", metavar="TIME", help="ISO 8601, or ago: 30s, 10m, 2h, 1d")
    parser.add_argument("--until", metavar="TIME", help="ISO 8601, or ago: 30s, 10m, 2h, 1d")
    parser.add_argument("-n", type=int, metavar="N", help="only the last N matching records")
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing as files grow")
    parser.add_argument("--json", action="store_true", help="print matching records unchanged")
    parser.add_argument("--stats", action="store_true", help="summarise instead of printing")
    parser.add_argument(
        "--triage",
        action="store_true",
        help="the run as a diagnosis: its first failure and the cascade across processes",
    )
    parser.add_argument(
        "--html", metavar="REPORT", help="write the triage as a self-contained HTML page"
    )
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        predicate, prefilter = build(
            level=args.level,
            loggers=args.logger,
            grep=args.grep,
            where=args.where,
            since=args.since,
            until=args.until,
        )
        paths = args.paths or (["-"] if not sys.stdin.isatty() else [])
        if not paths:
            raise UsageError("give a file, a directory or - for stdin (see --help)")
        sources = expand(paths)
        if args.n is not None and args.n < 0:
            raise UsageError(f"-n must be 0 or more, got {args.n}")
        if args.triage or args.html:
            _check_triage_options(args)
    except (UsageError, FileNotFoundError) as error:
        print(f"logview: {error}", file=sys.stderr)
        return 2
    counters = Counters()
    if args.triage or args.html:
        return _triage(sources, args, counters)
    # Parsed records hold no reference cycles, so reference counting frees them all;
    # the cyclic collector would only rescan the thousands a merge holds (about 20%).
    collecting = gc.isenabled()
    gc.disable()
    try:
        if args.follow:
            _follow(sources, args, predicate, counters)
        else:
            _read(sources, args, predicate, prefilter, counters)
    except BrokenPipeError:  # `logview ... | head`: the reader left, so do we
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        if collecting:
            gc.enable()
        _report(counters)
    return 0


#: What selects or shapes printed records: the triage reads the whole run.
_NOT_WITH_TRIAGE: Final = {
    "level": "--level", "logger": "--logger", "grep": "--grep", "where": "--where",
    "since": "--since", "until": "--until", "n": "-n", "follow": "--follow", "stats": "--stats",
}  # fmt: skip


def _check_triage_options(args: argparse.Namespace) -> None:
    given = [
        flag
        for name, flag in _NOT_WITH_TRIAGE.items()
        if (value := getattr(args, name)) is not None and value is not False and value != []
    ]
    if given:
        raise UsageError(
            f"{', '.join(given)} cannot be combined with --triage or --html: the triage "
            "reads the whole run; with them, it would not be the run's first failure. "
            "--triage takes --json and --html REPORT"
        )


def _triage(sources: list[Source], args: argparse.Namespace, counters: Counters) -> int:
    """--triage [--json] [--html REPORT]: the analysis once, then its renderers."""
    import json  # noqa: PLC0415 - only the triage's JSON and HTML

    from ._triage import triage  # noqa: PLC0415
    from ._triage_render import as_json, as_text  # noqa: PLC0415

    try:
        found = triage(sources, counters, search_all=bool(args.html))
    except BrokenPipeError:
        _silence_stdout()
        return 0
    finally:
        _report(counters)
    if found.records == 0:
        print("logview: no records", file=sys.stderr)
    if args.html:
        from ._triage_html import render_html  # noqa: PLC0415

        title = ", ".join(args.paths) if args.paths else "stdin"
        Path(args.html).write_text(render_html(found, title), encoding="utf-8")
    if args.json:
        sys.stdout.write(json.dumps(as_json(found), ensure_ascii=False, default=str) + "\n")
    elif not args.html and found.records:
        sys.stdout.write(as_text(found))
    sys.stdout.flush()
    return 0


def _read(
    sources: list[Source],
    args: argparse.Namespace,
    predicate: Predicate | None,
    prefilter: LevelPrefilter | None,
    counters: Counters,
) -> None:
    if _level_only(args) and args.json and len(sources) == 1 and args.n is None:
        _level_json(sources[0], parse_level(args.level), prefilter, counters)
        return
    if predicate is None and len(sources) == 1 and not (args.stats or args.json or args.n):
        print_everything(sources[0], _colors(args.color, sys.stdout), counters)
        return
    # Printed as JSON, a record needs only its raw line once filtered.
    lean = args.json and not args.stats
    records = _merged(sources, counters, prefilter, predicate, lean)
    if args.stats:
        stats = Stats()
        for record in records:
            stats.add(record)
        sys.stdout.write(stats.render())
        return
    if args.n is not None:
        records = iter(deque(records, maxlen=args.n))
    _write(records, args)


def _level_only(args: argparse.Namespace) -> bool:
    return args.level is not None and not (
        args.logger or args.grep or args.where or args.since or args.until or args.stats
    )


def _level_json(
    source: Source, minimum: int, prefilter: LevelPrefilter | None, counters: Counters
) -> None:
    """``--level X --json``, the pipe case: our lines are judged without parsing."""
    out = sys.stdout.buffer
    batch: list[bytes] = []
    for line in lines(source, counters, prefilter):
        level = quick_level(line)
        if level is None:
            record = parse(line)
            if record is None:
                counters.skipped += 1 if line.strip() else 0
                continue
            level = record.levelno
        elif not _is_json_object(line):
            counters.skipped += 1  # a cut-off line: looked like ours, isn't whole
            continue
        if level >= minimum:
            batch.append(line)
            if len(batch) >= _FLUSH_EVERY:
                out.write(b"\n".join(batch) + b"\n")
                batch.clear()
    if batch:
        out.write(b"\n".join(batch) + b"\n")
    out.flush()


def _is_json_object(line: bytes) -> bool:
    # Every line we write ends with "}" (optionally "\r"); a truncated one doesn't.
    return line.rstrip().endswith(b"}")


def _records(
    source: Source,
    counters: Counters,
    prefilter: LevelPrefilter | None,
    predicate: Predicate | None,
    *,
    keyed: bool = False,
    lean: bool = False,
) -> Iterator[Record]:
    """The matching records of one source; ``keyed`` also sets each one's merge key,
    ``lean`` drops each one's parsed document once the filters have seen it."""
    last = ""
    for block in blocks(source, counters, prefilter):
        for line in block:
            record = parse(line)
            if record is None:
                if line.strip():
                    counters.skipped += 1
                continue
            if predicate is not None and not predicate(record):
                continue
            if keyed:  # here, not in a generator more: this runs for every record merged
                key = sort_key(record.time)
                if key is not None:
                    last = key  # no time: keep its place in its source
                record.key = last
            if lean:
                # Records wait in the merge buffer: without their dicts they stay in
                # the CPU cache (measured: the merge's main cost beyond parsing).
                record.doc = _NO_DOC
            yield record


def _merged(
    sources: list[Source],
    counters: Counters,
    prefilter: LevelPrefilter | None,
    predicate: Predicate | None,
    lean: bool = False,
) -> Iterator[Record]:
    """One stream in time order. Each source is already in order, so merge in chunks:
    take a chunk from every source, emit what is no later than the earliest chunk
    end (one stable C-level sort), keep the rest. Memory: a chunk per source."""
    if len(sources) == 1:
        return _records(sources[0], counters, prefilter, predicate)
    merged = _chunked_merge(
        [_records(s, counters, prefilter, predicate, keyed=True, lean=lean) for s in sources]
    )
    return itertools.chain.from_iterable(merged)  # flattened in C: no Python step per record


_NO_DOC: Final[Mapping[str, Any]] = MappingProxyType({})


#: Records held across all sources while merging: memory stays bounded however many
#: files. Small on purpose: the sort reads every record's key, and a chunk that fits
#: in the CPU cache merged 4 files of 1M lines 15-25% faster than 16k records did.
_MERGE_BUFFER: Final = 512
_by_key = operator.attrgetter("key")


def _chunked_merge(sources: list[Iterator[Record]]) -> Iterator[list[Record]]:
    chunk = max(64, _MERGE_BUFFER // len(sources))
    buffers: list[list[Record]] = [[] for _ in sources]
    live = [True] * len(sources)
    while True:
        for index, source in enumerate(sources):
            if live[index] and not buffers[index]:
                buffers[index] = list(itertools.islice(source, chunk))
                live[index] = bool(buffers[index])
        ends = [buffers[i][-1].key for i in range(len(sources)) if live[i]]
        if not ends:
            return
        horizon = min(ends)  # every record up to here has arrived from every source
        ready: list[Record] = []
        for index, buffer in enumerate(buffers):  # in source order: ties keep it
            cut = bisect.bisect_right(buffer, horizon, key=_by_key)
            if cut:
                ready.extend(buffer[:cut])
                buffers[index] = buffer[cut:]
        ready.sort(key=_by_key)  # stable, and the pieces are sorted runs: near-linear
        yield ready


def _write(records: Iterable[Record], args: argparse.Namespace) -> None:
    if args.json:
        out = sys.stdout.buffer
        for batch in _batches(records):
            out.write(b"".join(r.raw + b"\n" for r in batch))
        out.flush()
        return
    renderer = Renderer(_colors(args.color, sys.stdout))
    for batch in _batches(records):
        sys.stdout.write("".join([renderer.render(r) for r in batch]))
    sys.stdout.flush()


def _batches(records: Iterable[Record]) -> Iterator[list[Record]]:
    iterator = iter(records)
    while batch := list(itertools.islice(iterator, _FLUSH_EVERY)):
        yield batch


def _follow(
    sources: list[Source],
    args: argparse.Namespace,
    predicate: Predicate | None,
    counters: Counters,
) -> None:
    """Show the last N matches of each file, then everything new, across rotations."""
    files = [Path(s.paths[-1]) if s.paths else None for s in sources]
    if None in files:
        raise UsageError("--follow needs files, not stdin")
    followers = [follow_lines(p, counters, _POLL_SECONDS, True) for p in files if p]
    renderer = Renderer(_colors(args.color, sys.stdout))
    backlog: deque[Record] = deque(maxlen=args.n if args.n is not None else 10)
    caught_up = [False] * len(followers)
    while True:
        idle = True
        for index, follower in enumerate(followers):
            for line in follower:
                if line is None:
                    break
                idle = False
                record = parse(line)
                if record is None:
                    counters.skipped += 1 if line.strip() else 0
                    continue
                if predicate is not None and not predicate(record):
                    continue
                if not caught_up[index]:
                    backlog.append(record)
                else:
                    _emit(record, args, renderer)
            caught_up[index] = True
        if backlog and all(caught_up):
            for record in backlog:
                _emit(record, args, renderer)
            backlog.clear()
        if idle:
            sys.stdout.flush()
            time.sleep(_POLL_SECONDS)  # polling a file: there is no event to wait on


def _emit(record: Record, args: argparse.Namespace, renderer: Renderer) -> None:
    if args.json:
        sys.stdout.buffer.write(record.raw + b"\n")
    else:
        sys.stdout.write(renderer.render(record))
    sys.stdout.flush()


def _colors(choice: str, stream: IO[str]) -> bool:
    """--color always|never decide; auto follows the console's rule (TTY, NO_COLOR...)."""
    return want_colors(stream) if choice == "auto" else choice == "always"


def _report(counters: Counters) -> None:
    if counters.skipped or counters.too_long:
        detail = f" ({counters.too_long} longer than 16 MiB)" if counters.too_long else ""
        total = counters.skipped + counters.too_long
        print(f"logview: skipped {total} lines that are not JSON records{detail}", file=sys.stderr)


def _silence_stdout() -> None:
    # Python would complain again when flushing stdout at exit.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
