"""Validated, immutable settings: every bad value fails here, before anything changes."""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import NamedTuple

from . import fields as F

LevelLike = str | int


def _valid_levels_text() -> str:
    return f"use one of {', '.join(F.STANDARD_LEVELS[:-1])} or {F.STANDARD_LEVELS[-1]}, or an int"


def parse_level(value: object, what: str) -> int:
    """A level name (any case, or a registered custom name) or a non-negative int."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(
            f"{what} must be a level name or an int, not {value!r}; {_valid_levels_text()}"
        )
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{what} must not be negative, got {value}; {_valid_levels_text()}")
        return value
    level = logging.getLevelNamesMapping().get(value.strip().upper())
    if level is None:
        raise ValueError(f"unknown level {value!r} for {what}; {_valid_levels_text()}")
    return level


def _positive_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class Options:
    level: int
    log_file: Path | None
    use_queue_handler: bool
    logger_levels: tuple[tuple[str, int], ...]
    use_rich: bool
    rich_tracebacks: bool
    max_log_bytes: int
    backup_count: int
    keep_first: bool
    console: bool
    console_level: int
    console_json: bool
    repeat_limit: int | None
    repeat_window: float
    queue_size: int
    queue_bytes: int
    overflow: str
    redact: bool
    redact_keys: tuple[str, ...]
    redact_patterns: tuple[re.Pattern[str], ...]
    max_record_bytes: int
    otlp_endpoint: str | None
    service_name: str | None
    otlp_headers: tuple[tuple[str, str], ...]
    leave_loggers: tuple[str, ...] = ()
    capture_warnings: bool = True

    @property
    def record_limit(self) -> int:
        """Bytes one serialized record (with its newline) may take, file bound included
        (less the notice that starts each file with keep_first)."""
        room = self.max_log_bytes - (F.NOTICE_BYTES if self.keep_first else 0)
        return min(self.max_record_bytes, room)


def build_options(
    *,
    level: LevelLike,
    log_file: str | PathLike[str] | None,
    use_queue_handler: bool,
    logger_levels: Mapping[str, LevelLike] | None,
    use_rich: bool,
    rich_tracebacks: bool,
    max_log_bytes: int,
    backup_count: int,
    keep_first: bool,
    console: bool,
    console_level: LevelLike | None,
    console_json: bool,
    repeat_limit: int | None,
    repeat_window: float,
    queue_size: int,
    queue_bytes: int,
    overflow: str,
    redact: bool,
    redact_keys: Iterable[str] | None,
    redact_patterns: Iterable[str | re.Pattern[str]] | None,
    max_record_bytes: int,
    otlp_endpoint: str | None = None,
    service_name: str | None = None,
    otlp_headers: Mapping[str, str] | None = None,
    leave_loggers: Iterable[str] | None = None,
    capture_warnings: bool = True,
) -> Options:
    """Check every argument of ``setup_logging``; raise naming the bad value.

    ``SHARED_LOGGING_LEVEL`` and ``SHARED_LOGGING_LOGGER_LEVELS`` in the
    environment override ``level`` and add to (or override) ``logger_levels``."""
    root_level = parse_level(level, "level")
    levels = {
        _logger_name(name): parse_level(value, f"logger {name!r}")
        for name, value in (logger_levels or {}).items()
    }
    overrides = environment_levels(os.environ)
    if overrides.level is not None:
        root_level = overrides.level
    levels.update(overrides.loggers)
    path = Path(log_file) if log_file is not None else None
    if path is not None and (str(log_file) == "" or path.is_dir()):
        raise ValueError(f"log_file {str(log_file)!r} is not a file path")
    if overflow not in F.OVERFLOW_POLICIES:
        raise ValueError(f"unknown overflow {overflow!r}; use 'block' or 'drop'")
    if console_level is None:
        # The documented default: console INFO+, file DEBUG+ when there is a file.
        shown = logging.INFO if path else logging.NOTSET
    else:
        shown = parse_level(console_level, "console_level")
    return Options(
        level=root_level,
        log_file=path,
        use_queue_handler=bool(use_queue_handler),
        logger_levels=tuple(levels.items()),
        use_rich=bool(use_rich),
        rich_tracebacks=bool(rich_tracebacks),
        max_log_bytes=_positive_int(max_log_bytes, "max_log_bytes", F.MIN_RECORD_BYTES),
        backup_count=_positive_int(backup_count, "backup_count", 0),
        keep_first=bool(keep_first),
        console=bool(console),
        console_level=shown,
        console_json=bool(console_json),
        repeat_limit=None
        if repeat_limit is None
        else _positive_int(repeat_limit, "repeat_limit", 1),
        repeat_window=_seconds(repeat_window, "repeat_window"),
        queue_size=_positive_int(queue_size, "queue_size", 1),
        queue_bytes=_positive_int(queue_bytes, "queue_bytes", F.LARGE_RECORD_BYTES),
        overflow=overflow,
        redact=bool(redact),
        redact_keys=_strings(redact_keys, "redact_keys"),
        redact_patterns=_patterns(redact_patterns),
        max_record_bytes=_positive_int(max_record_bytes, "max_record_bytes", F.MIN_RECORD_BYTES),
        otlp_endpoint=_endpoint(otlp_endpoint),
        service_name=_optional_name(service_name, "service_name"),
        otlp_headers=_headers(otlp_headers),
        leave_loggers=_strings(leave_loggers, "leave_loggers"),
        capture_warnings=bool(capture_warnings),
    )


class EnvironmentLevels(NamedTuple):
    level: int | None
    loggers: dict[str, int]
    #: "SHARED_LOGGING_LEVEL=DEBUG, ..." as set, for the announcement; "" when unset.
    text: str


def environment_levels(environ: Mapping[str, str]) -> EnvironmentLevels:
    """The levels the environment sets; a bad value raises naming the variable."""
    level_text = environ.get(F.LEVEL_VARIABLE, "").strip()
    loggers_text = environ.get(F.LOGGER_LEVELS_VARIABLE, "").strip()
    level = parse_level(level_text, f"{F.LEVEL_VARIABLE}={level_text!r}") if level_text else None
    loggers: dict[str, int] = {}
    for item in filter(None, (piece.strip() for piece in loggers_text.split(","))):
        name, equals, value = item.partition("=")
        if not equals or not name.strip() or not value.strip():
            raise ValueError(
                f"{F.LOGGER_LEVELS_VARIABLE}={loggers_text!r}: {item!r} is not name=LEVEL; "
                "write it like 'bifrost=DEBUG,httpx=WARNING'"
            )
        what = f"logger {name.strip()!r} in {F.LOGGER_LEVELS_VARIABLE}={loggers_text!r}"
        loggers[name.strip()] = parse_level(value.strip(), what)
    shown = [f"{F.LEVEL_VARIABLE}={level_text}"] if level_text else []
    shown += [f"{F.LOGGER_LEVELS_VARIABLE}={loggers_text}"] if loggers else []
    return EnvironmentLevels(level, loggers, ", ".join(shown))


def _seconds(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def _endpoint(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.match(r"^https?://[^/\s]+", value):
        raise ValueError(
            f"otlp_endpoint {value!r} is not an http(s) URL; use one like 'http://collector:4318'"
        )
    return value


def _optional_name(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _headers(value: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise TypeError(f"otlp_headers must be a mapping of header names to values, not {value!r}")
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise TypeError(f"otlp_headers must map str to str, got {key!r}: {item!r}")
    return tuple(value.items())


def _logger_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"logger_levels keys must be logger names, got {name!r}")
    return name


def _strings(values: Iterable[str] | None, what: str) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        raise TypeError(f"{what} must be a list of strings, not the string {values!r}")
    found = tuple(values)
    for value in found:
        if not isinstance(value, str) or not value:
            raise ValueError(f"{what} must hold non-empty strings, got {value!r}")
    return found


def _patterns(values: Iterable[str | re.Pattern[str]] | None) -> tuple[re.Pattern[str], ...]:
    if values is None:
        return ()
    if isinstance(values, str | re.Pattern):
        raise TypeError("redact_patterns must be a list of regular expressions, not one")
    compiled = []
    for value in values:
        try:
            compiled.append(value if isinstance(value, re.Pattern) else re.compile(value))
        except (re.error, TypeError) as error:
            raise ValueError(f"redact_patterns entry {value!r} is not a regex: {error}") from None
    return tuple(compiled)
