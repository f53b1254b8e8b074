"""One JSON line -> a view of a record, whichever Python logger wrote it.

Field names recognised, with no configuration:

| | ours | python-json-logger | structlog | loguru (serialize=True) |
|---|---|---|---|---|
| time | timestamp | asctime | timestamp | record.time.timestamp |
| level | level | levelname | level (lower case) | record.level.name |
| logger | logger | name | logger | record.name |
| message | message | message | event | record.message |
| traceback | exception.traceback | exc_info | exception | text |
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Final

from shared._logging import fields

loads: Callable[[bytes], Any]
try:
    import orjson

    loads = orjson.loads
except ImportError:  # pragma: no cover - orjson is a dependency
    import json

    loads = json.loads

LEVELS: Final = {
    "TRACE": 5, "DEBUG": 10, "INFO": 20, "SUCCESS": 25, "NOTICE": 25, "WARNING": 30,
    "WARN": 30, "ERROR": 40, "EXCEPTION": 40, "CRITICAL": 50, "FATAL": 50,
}  # fmt: skip

#: Keys that are the record's frame, not its extra fields, in any known format.
FRAME_KEYS: Final = frozenset(
    {
        # python-json-logger and stdlib LogRecord attributes
        "asctime", "levelname", "levelno", "name", "exc_info", "exc_text", "filename",
        "funcName", "lineno", "pathname", "processName", "thread", "threadName",
        "created", "msecs", "relativeCreated", "taskName", "msg", "args",
        # structlog
        "event",
    }
) | fields.FRAME_KEYS  # fmt: skip


class Record:
    """What the viewer needs of one record; ``doc`` and ``raw`` keep the rest."""

    __slots__ = ("doc", "exc", "key", "level", "levelno", "logger", "message", "raw", "time")
    key: str  # set only while merging: the time as a sortable string

    def __init__(  # noqa: PLR0917 - built once per line: positional is cheapest
        self,
        raw: bytes,
        doc: Mapping[str, Any],
        time: str,
        level: str,
        logger: str,
        message: str,
        exc: str | None,
    ) -> None:
        self.raw = raw
        self.doc = doc
        self.time = time
        self.level = level
        self.levelno = LEVELS.get(level, 0)
        self.logger = logger
        self.message = message
        self.exc = exc

    def fields(self) -> dict[str, Any]:
        """The extra and context fields, for display."""
        if "record" in self.doc and "text" in self.doc:  # loguru
            extra = self.doc["record"].get("extra")
            return dict(extra) if isinstance(extra, Mapping) else {}
        return {k: v for k, v in self.doc.items() if k not in FRAME_KEYS}

    def epoch(self) -> float | None:
        return parse_time(self.time)


# Our own lines start {"timestamp":"<32 chars>","level":"<LEVEL>": the level can be
# read at a fixed offset, without parsing the line.
_OURS_PREFIX: Final = b'{"timestamp":"'
_LEVEL_AT: Final = len(b'{"timestamp":"2026-11-27T02:31:16.670412+00:00",')
_LEVEL_KEY: Final = b'"level":"'


def quick_level(raw: bytes) -> int | None:
    """The level number of one of our lines without parsing it, or None if not ours."""
    if not raw.startswith(_OURS_PREFIX) or raw[_LEVEL_AT - 2 : _LEVEL_AT - 1] != b'"':
        return None
    start = _LEVEL_AT + len(_LEVEL_KEY)
    if raw[_LEVEL_AT:start] != _LEVEL_KEY:
        return None
    stop = raw.find(b'"', start, start + 12)
    level = LEVELS.get(raw[start:stop].decode("ascii", "replace")) if stop > 0 else None
    return level


def parse(raw: bytes) -> Record | None:
    """The record in one line, or None when the line is not a JSON object."""
    try:
        doc = loads(raw)
    except (ValueError, TypeError):
        return None
    if not isinstance(doc, dict):
        return None
    try:  # ours, the common case: four lookups, no guessing
        time, level, logger, message = (
            doc[fields.TIMESTAMP], doc[fields.LEVEL], doc[fields.LOGGER], doc[fields.MESSAGE]
        )  # fmt: skip
        if (
            type(time) is str
            and type(level) is str
            and type(logger) is str
            and type(message) is str
        ):
            return Record(raw, doc, time, level.upper(), logger, message, ours_traceback(doc))
    except KeyError:
        pass
    if "record" in doc and "text" in doc and isinstance(doc["record"], dict):
        return _loguru(raw, doc)
    time = _first(doc, "timestamp", "asctime")
    level = _first(doc, "level", "levelname")
    logger = _first(doc, "logger", "name")
    message = _first(doc, "message", "event")
    return Record(
        raw,
        doc,
        time if isinstance(time, str) else str(time),
        level.upper() if isinstance(level, str) else str(level),
        logger if isinstance(logger, str) else str(logger),
        message if isinstance(message, str) else str(message),
        _traceback(doc),
    )


def ours_traceback(doc: Mapping[str, Any]) -> str | None:
    """The traceback of one of our records (``exception.traceback``), as text."""
    exception = doc.get(fields.EXCEPTION)
    exc = exception.get(fields.EXCEPTION_TRACEBACK) if type(exception) is dict else None
    return exc if exc is None or type(exc) is str else str(exc)


def _first(doc: Mapping[str, Any], key: str, fallback: str) -> Any:
    """``doc[key]``, else ``doc[fallback]`` (another writer's name for it), else ""."""
    value = doc.get(key)
    return value if value is not None else doc.get(fallback, "")


def _traceback(doc: Mapping[str, Any]) -> str | None:
    exception = doc.get(fields.EXCEPTION)
    if isinstance(exception, Mapping):
        text = exception.get(fields.EXCEPTION_TRACEBACK)
        return text if isinstance(text, str) else None
    if isinstance(exception, str):  # structlog's format_exc_info
        return exception
    exc_info = doc.get("exc_info")
    return exc_info if isinstance(exc_info, str) else None


def _loguru(raw: bytes, doc: dict[str, Any]) -> Record:
    record = doc["record"]
    level = record.get("level") or {}
    when = record.get("time") or {}
    stamp = when.get("timestamp")
    time = (
        dt.datetime.fromtimestamp(stamp, dt.UTC).isoformat(timespec="microseconds")
        if isinstance(stamp, int | float)
        else str(when.get("repr", ""))
    )
    exc = None
    if record.get("exception"):
        text = str(doc.get("text", ""))
        exc = text.split("\n", 1)[1].rstrip("\n") if "\n" in text else None
    return Record(
        raw,
        doc,
        time,
        str(level.get("name", "")).upper(),
        str(record.get("name", "")),
        str(record.get("message", "")),
        exc,
    )


_CANONICAL_LENGTH: Final = len("2026-11-27T02:31:16.670412+00:00")


def sort_key(text: str) -> str | None:
    """A string that sorts by time: ours as it is (fixed-width UTC ISO 8601 sorts
    as text), any other format converted once to that form."""
    if len(text) == _CANONICAL_LENGTH and text.endswith("+00:00") and text[10] == "T":
        return text
    epoch = parse_time(text)
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="microseconds")


def parse_time(text: str) -> float | None:
    """Seconds since the epoch for the time formats above (naive times are local)."""
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace(",", ".", 1)).timestamp()
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None
