"""``--triage --html report.html``: the triage as one self-contained page.

CSS and JavaScript are inline, the data is one JSON document in the page, and
nothing is loaded from the network, so the file opens from ``file://`` and
can be mailed or attached to an issue. The page shows the first failure with
its traceback, a timeline (one lane per process or rank; warnings and errors
are marks, a storm, many records of a lane in one time bucket, is a band),
the kinds table, and a search box over the WARNING-and-above records.

It stays small for a run of 512 processes and a million records: the
timeline is counts per (lane, time bucket), not records; the search box holds
at most SEARCHABLE records (messages cut to 300 characters): every record
of a run that fits, else the WARNING-and-above ones, each kind's first
records with the room shared fairly among kinds. All text reaches
the page through ``textContent``, never as markup.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from importlib import resources
from typing import Any, Final

from ._records import Record
from ._triage import BUCKETS, Triage, who
from ._triage_render import as_json

#: A lane's bucket with at least this many records is drawn as a band (a storm).
STORM: Final = 10
#: Characters of a message kept for the search box.
_MESSAGE_CHARS: Final = 300
#: Lanes drawn one by one; past it, neighbouring lanes are drawn together.
MAX_LANES: Final = 1024


def render_html(found: Triage, title: str) -> str:
    data = {
        "title": title,
        "summary": as_json(found),
        "who": who(found.failure.record.doc) if found.failure else None,
        "timeline": _timeline(found),
        "search": [_searchable(r) for r in found.searchable()],
        "search_total": found.searchable_total,
        "search_all": found.every_line is not None,
    }
    blob = json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":"))
    # Inside <script>: no "</script>" or "<!--" can end it early.
    blob = blob.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    page = resources.files(__package__ or "shared.logview").joinpath("triage_page.html")
    template = page.read_text(encoding="utf-8")
    return template.replace("__TITLE__", _escape(title)).replace("__DATA__", blob)


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _epoch(key: str) -> float | None:
    try:
        return dt.datetime.fromisoformat(key).timestamp()
    except ValueError:
        return None


def _timeline(found: Triage) -> dict[str, Any]:
    times: list[tuple[str, float, int]] = []
    for lane, key, level in found.marks:
        moment = _epoch(key) if key else None
        if moment is not None:
            times.append((lane, moment, level))
    if not times:
        return {"lanes": [], "start": 0, "end": 0, "buckets": BUCKETS, "cells": []}
    start = min(t for _, t, _ in times)
    end = max(t for _, t, _ in times)
    span = max(end - start, 1e-3)
    lanes = sorted(found.lanes, key=_lane_order)
    group = max(1, -(-len(lanes) // MAX_LANES))  # lanes drawn together past MAX_LANES
    index = {lane: i // group for i, lane in enumerate(lanes)}
    counts: Counter[tuple[int, int, int]] = Counter()
    for lane, t, level in times:
        bucket = min(BUCKETS - 1, int((t - start) / span * BUCKETS))
        counts[(index.get(lane, 0), bucket, _level_class(level))] += 1
    labels = [
        lanes[i] if group == 1 else f"{lanes[i]} .. {lanes[min(i + group, len(lanes)) - 1]}"
        for i in range(0, len(lanes), group)
    ]
    cells = [[lane, bucket, level, n] for (lane, bucket, level), n in sorted(counts.items())]
    failure_at = None
    if found.failure is not None:
        moment = _epoch(found.failure.key)
        if moment is not None:
            failure_at = moment
    return {
        "lanes": labels,
        "who": [found.lanes.get(lanes[i], "") for i in range(0, len(lanes), group)],
        "start": start,
        "end": end,
        "buckets": BUCKETS,
        "cells": cells,
        "storm": STORM,
        "failure_at": failure_at,
    }


def _lane_order(label: str) -> tuple[int, int, str]:
    if label.startswith("rank ") and label[5:].isdigit():
        return (0, int(label[5:]), "")
    return (1, 0, label)


def _level_class(level: int) -> int:
    return 2 if level >= 50 else 1 if level >= 40 else 0


def _searchable(record: Record) -> list[str]:
    message = record.message
    if len(message) > _MESSAGE_CHARS:
        message = message[: _MESSAGE_CHARS - 1] + "…"
    return [record.time, record.level, record.logger, message, who(record.doc)]
