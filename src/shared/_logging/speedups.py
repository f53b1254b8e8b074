"""The optional C hot path of the writer (``_speedups.c``) and when it may run.

``lines(records, settings)`` gives each record's JSON line, or None where the
record needs the Python path (an exception, a nested value to redact, a line
that is long, non-ASCII or holds a null...). Without the extension (no C
compiler at install time, or ``SHARED_LOGGING_PURE_PYTHON=1``) every record
takes the Python path, which writes the same bytes.
"""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

from shared.logging_context import BoundFields

from . import encode, redact
from . import fields as F
from .record import first_extra_index, renamed_fields
from .redact import REDACTED, SHORTEST_SHAPE, TOKEN_RUN, URL_MARKER

if TYPE_CHECKING:
    from .redact import Redactor


class Config(NamedTuple):
    """Every name and constant the C code needs, given once at import: all of it
    comes from fields.py, record.py and redact.py, none is retyped in C."""

    not_extra: frozenset[str]  # record attributes that are not extras
    reserved: frozenset[str]  # our document keys
    first_extra: int  # how many attributes LogRecord.__init__ sets
    last_own: str  # the last of them
    # what capture() adds (message, context, exception), and the key under which
    # our makeRecord leaves the extras it froze
    captured: tuple[str, str, str, str]
    document_keys: tuple[str, ...]  # timestamp ... thread_name, in document order
    redacted: str  # what a secret value becomes
    rename: Callable[[list[tuple[str, object]]], dict[str, object]]  # record.renamed_fields
    shortest_shape: int  # a shorter string holds no built-in secret shape
    url_marker: str  # a string without it holds no URL password
    token_run: int  # a string without such a run of token characters holds no token
    bound_fields: type[dict[str, object]]  # the context's immutable dict (logging_context)


class Settings(NamedTuple):
    """What ``lines`` needs from one pipeline (built once per pipeline)."""

    identity: dict[str, object]
    limit: int  # the line, newline included, must not be longer
    console_level: int  # records at or above it need the Python path (parts)
    redact: bool
    key_cache: dict[str, bool]  # Redactor's judged keys
    literals: tuple[str, ...] | None  # the gate's literals (any case), None: no gate
    has_patterns: bool  # user patterns: every string goes to Redactor.text
    text: Callable[[str], str] | None  # Redactor.text
    dumps: Callable[..., bytes]  # orjson.dumps
    default: Callable[[object], object]  # encode._default
    option: int  # orjson.OPT_APPEND_NEWLINE


_DOCUMENT_KEYS = (
    F.TIMESTAMP, F.LEVEL, F.LOGGER, F.MESSAGE, F.MODULE, F.FUNCTION, F.LINE,
    F.PROCESS, F.PROCESS_NAME, F.THREAD_NAME,
)  # fmt: skip


def config() -> Config:
    first, last = first_extra_index()
    return Config(
        not_extra=F.NOT_EXTRA,
        reserved=F.RESERVED_KEYS,
        first_extra=first,
        last_own=last,
        captured=(F.CAPTURED_MESSAGE, F.CAPTURED_CONTEXT, F.CAPTURED_EXCEPTION, F.FROZEN_EXTRAS),
        document_keys=_DOCUMENT_KEYS,
        redacted=REDACTED,
        rename=renamed_fields,
        shortest_shape=SHORTEST_SHAPE,
        url_marker=URL_MARKER,
        token_run=TOKEN_RUN,
        bound_fields=BoundFields,
    )


def free_threaded() -> bool:
    """A free-threaded build (3.13t and later). Importing an extension that does
    not declare ``Py_mod_gil`` there turns the GIL back on for the whole
    process, so we never load ours: the pure-Python path writes the same lines."""
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def _load() -> ModuleType | None:
    """The extension, or None when it was not built (no C compiler at install
    time) or ``SHARED_LOGGING_PURE_PYTHON=1`` switches it off: the one switch."""
    if os.environ.get("SHARED_LOGGING_PURE_PYTHON", "") not in ("", "0"):
        return None
    if free_threaded():
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
        found.configure(config())
    return found


_speedups = _configure()
AVAILABLE = _speedups is not None
if _speedups is not None:
    redact.use_native_gate(_speedups.gate)  # the Python path's gate, in C too
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
    dumps, default, option = hooks
    key_cache: dict[str, bool] = {}
    literals: tuple[str, ...] | None = None
    has_patterns, text = False, None
    if redactor is not None:
        key_cache, literals, has_patterns, text = redactor.fast_path_settings()
    return Settings(
        identity=dict(identity),
        limit=limit,
        console_level=_NO_CONSOLE if console_level is None else console_level,
        redact=redactor is not None,
        key_cache=key_cache,
        literals=literals,
        has_patterns=has_patterns,
        text=text,
        dumps=dumps,
        default=default,
        option=option,
    )


#: What scan_block gives: lines, object lines, blank lines, pids found, distinct pids.
Scan = tuple[int, int, int, int, list[bytes]]


def scan_block(block: bytes, key: bytes) -> Scan | None:
    """logview --triage, one pass over a block: its lines (``count(b"\\n") + 1``),
    how many are JSON objects in shape and how many blank, how many times
    ``key`` is followed by digits and a comma, and those digit runs once each
    (what ``re.findall(key + rb"(\\d+),", block)`` finds); None without the
    extension."""
    if _speedups is None:
        return None
    found: Scan = _speedups.scan_block(block, key)
    return found


def lines(records: Sequence[Any], settings: Settings) -> list[bytes | None] | None:
    """Each record's line, None where the Python path must render it; or None
    for the whole batch while the stdlib encoder is selected (tests)."""
    if _speedups is None or not encode.uses_orjson():
        return None
    found: list[bytes | None] = _speedups.lines(records, settings)
    return found
