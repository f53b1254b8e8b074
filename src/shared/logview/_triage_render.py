"""``--triage`` as text for the terminal and as one JSON object (the analysis is
_triage.py; the HTML report is _triage_html.py)."""

from __future__ import annotations

from typing import Any

from shared._logging.console import escape_block, escape_controls

from ._records import Record
from ._triage import Kind, Triage, ranges, run_text, runs, who

#: A template longer than this is cut on its line of the cascade.
_TEMPLATE_WIDTH = 110
#: A longer traceback is shown by its head and tail in the text (whole in JSON).
_TRACEBACK_LINES = 24
#: Rank ranges longer than this are cut (at a comma) on a line of the cascade.
_RANKS_WIDTH = 48


def as_json(found: Triage) -> dict[str, Any]:
    failure = found.failure
    first_failure = None
    if failure is not None:
        first_failure = _document(failure.record)
        first_failure["before"] = [_document(r) for r in failure.before]
    return {
        "records": found.records,
        "processes": len(found.processes),
        "first_failure": first_failure,
        "kinds": [_kind(kind) for kind in found.ordered_kinds()],
    }


def _document(record: Record) -> dict[str, Any]:
    """The record's own JSONL keys, its level in upper case."""
    doc = dict(record.doc)
    for key in ("level", "levelname"):
        if isinstance(doc.get(key), str):
            doc[key] = doc[key].upper()
    return doc


def _kind(kind: Kind) -> dict[str, Any]:
    return {
        "level": kind.level,
        "logger": kind.logger,
        "template": kind.template,
        "exception_type": kind.exception_type,
        "count": kind.count,
        "processes": len(kind.processes),
        "ranks": sorted(kind.ranks),
        "first": kind.first_key or kind.first,
        "last": kind.last_key or kind.last,
    }


def as_text(found: Triage) -> str:
    kinds = found.ordered_kinds()
    out = [
        f"run: {_count(found.records, 'record')} from "
        f"{_count(len(found.processes), 'process', 'processes')}; "
        f"{_count(len(kinds), 'kind')} of WARNING and above"
    ]
    failure = found.failure
    if failure is None:
        out.append("first failure: none (no ERROR or CRITICAL record)")
    else:
        record = failure.record
        out.append(f"first failure: {_line(record)}")
        out.append(f"  by {escape_controls(who(record.doc))}")
        if record.exc:
            out.extend("  " + line for line in _traceback_lines(record.exc))
        if failure.before:
            last = "record" if len(failure.before) == 1 else f"{len(failure.before)} records"
            out.append(f"  before it, the last {last} of that process:")
            out.extend(f"    {_line(r)}" for r in failure.before)
    out.append("cascade (WARNING and above, collapsed across processes, by first occurrence):")
    out.append(f"  {'count':>7} {'procs':>5}  {'ranks':<14} {'first':<23} {'last':<23} kind")
    out.extend(_cascade_line(kind) for kind in kinds)
    return "\n".join(out) + "\n"


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _traceback_lines(text: str) -> list[str]:
    """The traceback whole up to _TRACEBACK_LINES lines. A longer one (deep
    recursion, a chained error) keeps its first lines and its last ones, where
    the error is, so the triage of a 512-rank run still fits a screen; the
    JSON and the HTML report always hold it whole."""
    lines = escape_block(text).rstrip("\n").split("\n")
    if len(lines) <= _TRACEBACK_LINES:
        return lines
    head, tail = 4, _TRACEBACK_LINES - 5
    left_out = len(lines) - head - tail
    return [
        *lines[:head],
        f"  ... {left_out} lines (--triage --json has them all) ...",
        *lines[-tail:],
    ]


def _line(record: Record) -> str:
    text = f"{_short(record.time)} {record.level} {record.logger}: {record.message}"
    return escape_controls(text.split("\n", 1)[0])


def _short(time: str) -> str:
    """``2026-11-27T02:31:16.670412+00:00`` -> ``2026-11-27 02:31:16.670``."""
    if len(time) >= 23 and time[10] in "T ":
        return f"{time[:10]} {time[11:23]}"
    return time


def _ranks_text(ranks: set[int]) -> str:
    """The ranks as ranges, whole up to _RANKS_WIDTH characters (it widens its
    column); past it, the runs that fit and how many ranks are left out."""
    text = ranges(ranks) or "-"
    if len(text) <= _RANKS_WIDTH:
        return text
    pieces: list[str] = []
    shown = width = 0
    for run in runs(ranks):
        piece = run_text(run)
        width += len(piece) + 1
        if width > _RANKS_WIDTH - 12:
            break
        pieces.append(piece)
        shown += run[1] - run[0] + 1
    return f"{','.join(pieces)},… (+{len(ranks) - shown})"


def _cascade_line(kind: Kind) -> str:
    exception = f"{kind.exception_type}: " if kind.exception_type else ""
    what = f"{kind.level} {kind.logger}: {exception}{kind.template}"
    if len(what) > _TEMPLATE_WIDTH:
        what = what[: _TEMPLATE_WIDTH - 1] + "…"
    rank_text = _ranks_text(kind.ranks)
    return escape_controls(
        f"  {kind.count:>7} {len(kind.processes):>5}  {rank_text:<14} "
        f"{_short(kind.first_key or kind.first):<23} {_short(kind.last_key or kind.last):<23} "
        f"{what}"
    )


__all__ = ["as_json", "as_text"]
