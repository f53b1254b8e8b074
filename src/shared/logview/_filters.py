"""The record filters; they combine with AND.

``--where`` takes ``KEY OP VALUE`` with OP one of ``= != < <= > >= ~`` (``~`` is a
regex search). Comparison is numeric when both sides are numbers, text
otherwise. Dotted keys reach into nested values: ``exception.type=ValueError``.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from shared._logging import fields as F

from ._records import LEVELS, Record
from ._sources import LevelPrefilter

Predicate = Callable[[Record], bool]


def _search(text: Any, pattern: Any) -> bool:
    return re.search(pattern, text) is not None


#: The ``--where`` operators: the one table the parser, the help, the error
#: message and the comparison are all made from. Longer spellings first.
OPERATORS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "!=": operator.ne,
    "=": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
    "~": _search,
}
#: ``KEY=V, KEY!=V, ...``: how each operator is written, for help and errors.
WHERE_FORMS: Final = ", ".join(
    f"KEY{op}{ {'=': 'V', '!=': 'V', '~': 'REGEX'}.get(op, 'N') }"
    for op in sorted(OPERATORS, key=("=", "!=", "<", "<=", ">", ">=", "~").index)
)
_WHERE: Final = re.compile(
    r"^\s*([^=!<>~\s]+)\s*(" + "|".join(re.escape(op) for op in OPERATORS) + r")\s*(.*?)\s*$",
    re.S,
)
_RELATIVE: Final = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

# The spellings of each level that may appear in a raw line (for the bytes prefilter).
_SPELLINGS: Final = {
    "DEBUG": ("DEBUG", "debug", "Debug"),
    "INFO": ("INFO", "info", "Info"),
    "SUCCESS": ("SUCCESS", "success"),
    "WARNING": ("WARNING", "warning", "Warning", "WARN", "warn"),
    "ERROR": ("ERROR", "error", "Error", "EXCEPTION", "exception"),
    "CRITICAL": ("CRITICAL", "critical", "Critical", "FATAL", "fatal"),
}


class UsageError(ValueError):
    """A filter argument that cannot be understood."""


def parse_level(text: str) -> int:
    upper = text.strip().upper()
    if upper in LEVELS:
        return LEVELS[upper]
    if upper.isdigit():
        return int(upper)
    raise UsageError(
        f"unknown level {text!r}; use DEBUG, INFO, WARNING, ERROR, CRITICAL or a number"
    )


def level_prefilter(minimum: int) -> LevelPrefilter | None:
    """A raw-bytes prefilter for ``--level``; None where most lines would pass anyway."""
    if minimum < LEVELS["WARNING"]:
        return None
    return LevelPrefilter(
        [s for name, spellings in _SPELLINGS.items() if LEVELS[name] >= minimum for s in spellings]
    )


def parse_when(text: str, now: float | None = None) -> float:
    """ISO 8601 (naive means local time) or relative to now: 30s, 10m, 2h, 1d, 1w."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        amount, unit = relative.groups()
        return (now if now is not None else time.time()) - float(amount) * _UNITS[unit]
    try:
        return dt.datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise UsageError(
            f"cannot read the time {text!r}; use ISO 8601 (2026-01-31T12:00:00) "
            "or a duration ago (30s, 10m, 2h, 1d)"
        ) from None


def lookup(doc: Any, dotted: str) -> Any:
    """``doc["a"]["b"]`` for ``"a.b"``; a key that itself has dots is tried whole first."""
    if isinstance(doc, dict) and dotted in doc:
        return doc[dotted]
    value = doc
    for part in dotted.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


_MISSING: Final = object()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Where:
    key: str
    op: str
    value: str

    @classmethod
    def parse(cls, expression: str) -> Where:
        match = _WHERE.match(expression)
        if not match:
            raise UsageError(f"cannot read --where {expression!r}; use one of {WHERE_FORMS}")
        key, op, value = match.groups()
        if op == "~":
            try:
                re.compile(value)
            except re.error as error:
                raise UsageError(f"--where {expression!r}: bad regex: {error}") from None
        return cls(key, op, value)

    def __call__(self, record: Record) -> bool:
        found = lookup(_view(record), self.key)
        if found is _MISSING:
            return self.op == "!="
        compare = OPERATORS[self.op]
        left, right = _number(found), _number(self.value)
        if self.op != "~" and left is not None and right is not None:
            return bool(compare(left, right))
        return bool(compare(_text(found), self.value))


def _view(record: Record) -> Mapping[str, Any]:
    """The document, plus the normalised names (level, logger, message) for any format."""
    doc = record.doc
    if "record" in doc and "text" in doc:
        extra = doc["record"].get("extra") or {}
        return {**doc["record"], **extra, **_names(record)}
    if F.LEVEL in doc and F.LOGGER in doc and F.MESSAGE in doc:
        return doc  # ours: nothing to add, no copy
    return {**doc, **_names(record)}


def _names(record: Record) -> dict[str, str]:
    """Another writer's level, logger and message under our names, for --where."""
    return {F.LEVEL: record.level, F.LOGGER: record.logger, F.MESSAGE: record.message}


def build(
    *,
    level: str | None,
    loggers: Sequence[str],
    grep: str | None,
    where: Sequence[str],
    since: str | None,
    until: str | None,
) -> tuple[Predicate | None, LevelPrefilter | None]:
    """One predicate for all filters (None: keep everything) and the bytes prefilter."""
    checks: list[Predicate] = []
    prefilter = None
    if level is not None:
        minimum = parse_level(level)
        checks.append(lambda r: r.levelno >= minimum)
        prefilter = level_prefilter(minimum)
    if loggers:
        names = tuple(loggers)
        prefixes = tuple(n + "." for n in names)
        checks.append(lambda r: r.logger in names or r.logger.startswith(prefixes))
    if grep is not None:
        try:
            pattern = re.compile(grep)
        except re.error as error:
            raise UsageError(f"--grep {grep!r} is not a regex: {error}") from None
        checks.append(
            lambda r: (
                pattern.search(r.message) is not None
                or (r.exc is not None and pattern.search(r.exc) is not None)
            )
        )
    checks.extend(Where.parse(w) for w in where)
    if since is not None:
        start = parse_when(since)
        checks.append(lambda r: (r.epoch() or 0.0) >= start)
    if until is not None:
        end = parse_when(until)
        checks.append(lambda r: (r.epoch() or float("inf")) <= end)
    if not checks:
        return None, prefilter
    if len(checks) == 1:
        return checks[0], prefilter
    return (lambda r: all(check(r) for check in checks)), prefilter
