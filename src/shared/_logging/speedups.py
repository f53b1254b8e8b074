"""The optional C hot path of the writer (``_speedups.c``) and when it may run.

``lines(records, settings)`` gives each record's JSON line, or None where the
record needs the Python path (an exception, a nested value to redact, a line
that is long, non-ASCII or holds a null...). Without the extension (no C
compiler at install time, or ``SHARED_LOGGING_PURE_PYTHON=1``) every record
takes the Python path, which writes the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from . import encode
from . import fields as F
from .record import first_extra_index, renamed_fields
from .redact import REDACTED

if TYPE_CHECKING:
    from .redact import Redactor

Settings = tuple[Any, ...]

_DOCUMENT_KEYS = (
    F.TIMESTAMP, F.LEVEL, F.LOGGER, F.MESSAGE, F.MODULE, F.FUNCTION, F.LINE,
    F.PROCESS, F.PROCESS_NAME, F.THREAD_NAME,
)  # fmt: skip


def _load() -> ModuleType | None:
    """The extension, or None when it was not built (no C compiler at install
    time) or ``SHARED_LOGGING_PURE_PYTHON=1`` switches it off: the one switch."""
    if os.environ.get("SHARED_LOGGING_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from . import _speedups  # noqa: PLC0415 - optional
    except ImportError:
        return None
    return _speedups


def _configure() -> ModuleType | None:
    """The extension, told our field names (None if not built or switched off)."""
    found = _load()
    if found is not None:
        first, last = first_extra_index()
        captured = (F.CAPTURED_MESSAGE, F.CAPTURED_CONTEXT, F.CAPTURED_EXCEPTION)
        found.configure(
            F.NOT_EXTRA, F.RESERVED_KEYS, first, last, captured, _DOCUMENT_KEYS, REDACTED,
            renamed_fields,
        )  # fmt: skip
    return found


_speedups = _configure()
AVAILABLE = _speedups is not None
#: Records at this level or above never reach a console that is off.
_NO_CONSOLE = 1 << 62


def settings(
    identity: Mapping[str, object],
    limit: int,
    console_level: int | None,
    redactor: Redactor | None,
) -> Settings | None:
    """What ``lines`` needs from one pipeline, or None when it can't be used."""
    hooks = encode.orjson_hooks()
    if _speedups is None or hooks is None:
        return None
    if redactor is None:
        redaction: tuple[Any, ...] = (False, {}, None, False, None)
    else:
        redaction = redactor.fast_path_settings()
    return (
        dict(identity),
        limit,
        _NO_CONSOLE if console_level is None else console_level,
        *redaction,
        *hooks,
    )


def lines(records: Sequence[Any], settings: Settings) -> list[bytes | None] | None:
    """Each record's line, None where the Python path must render it; or None
    for the whole batch while the stdlib encoder is selected (tests)."""
    if _speedups is None or not encode.uses_orjson():
        return None
    found: list[bytes | None] = _speedups.lines(records, settings)
    return found
