"""From a stdlib LogRecord to our document: the capture step and the field layout.

``capture`` is all the calling thread does: render the message as of the
call, take the context, and turn a live exception into text. Everything in
``build_document`` may run later, on the writer thread.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
from collections.abc import Mapping
from itertools import islice
from types import TracebackType
from typing import Any, Final, NamedTuple

from shared.logging_context import current_fields

from . import fields as F
from .encode import PLAIN_TYPES, freeze, safe_repr, safe_str
from .redact import Redactor

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def render_message(msg: object, args: Any) -> str:
    """``msg % args`` as stdlib does it, but a mistake becomes text, not an exception."""
    try:
        text = msg if type(msg) is str else str(msg)
        if args:
            text = text % args
        if type(text) is str:
            return text
        return safe_str(text)
    except Exception as exc:
        return (
            f"{safe_repr(msg)} (message could not be formatted: "
            f"{type(exc).__name__}: {safe_str(exc)}; args: {safe_repr(args)})"
        )


def exception_type_name(exc_type: type[BaseException]) -> str:
    module = getattr(exc_type, "__module__", "builtins")
    name = getattr(exc_type, "__qualname__", None) or safe_str(exc_type)
    return name if module in ("builtins", "__main__") else f"{module}.{name}"


def exception_fields(exc_info: ExcInfo) -> dict[str, str]:
    """``{type, message, traceback}`` for a live exception, never raising."""
    exc_type, exc, tb = exc_info
    message = safe_str(exc)
    key = _traceback_key(exc_type, exc, tb, message)
    text = _tracebacks.get(key) if key is not None else None
    if text is None:
        try:
            lines = traceback.format_exception(exc_type, exc, tb, limit=-F.MAX_TRACEBACK_FRAMES)
            text = "".join(lines).rstrip("\n")
        except Exception as failure:  # a hostile __str__ deep inside a chained exception
            text = f"<traceback unavailable: {type(failure).__name__}>"
        if key is not None:
            _remember(key, text)
    return {
        F.EXCEPTION_TYPE: exception_type_name(exc_type),
        F.EXCEPTION_MESSAGE: message,
        F.EXCEPTION_TRACEBACK: text,
    }


# In an error storm the same exception is raised at the same place thousands of
# times a second, and formatting its traceback (frames walked, source lines
# looked up) is most of what the caller pays: about 50 µs of 60. The text depends
# only on the exception's type and message and on where each frame stood (its
# code and instruction, which give the line and the 3.11+ position carets), so
# those are the key. Chained, grouped, annotated and syntax errors are formatted
# every time (their text depends on more).
_tracebacks: dict[tuple[object, ...], str] = {}
_TRACEBACKS_KEPT: Final = 256


def _traceback_key(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None, message: str
) -> tuple[object, ...] | None:
    if (
        exc.__cause__ is not None
        or exc.__context__ is not None
        or isinstance(exc, SyntaxError | BaseExceptionGroup)
        or "__notes__" in getattr(exc, "__dict__", ())
    ):
        return None
    where: list[object] = [exc_type, message]
    depth = 0
    while tb is not None:
        where.append(tb.tb_frame.f_code)
        where.append(tb.tb_lasti)
        tb = tb.tb_next
        depth += 1
        if depth > F.MAX_TRACEBACK_FRAMES:
            return None  # deep recursion: rare, and the key would cost as much
    return tuple(where)


def _remember(key: tuple[object, ...], text: str) -> None:
    try:
        if len(_tracebacks) >= _TRACEBACKS_KEPT:
            del _tracebacks[next(iter(_tracebacks))]  # the oldest: insertion order
        _tracebacks[key] = text
    except (KeyError, RuntimeError, StopIteration):  # another thread got there first
        pass


def live_exc_info(value: object) -> ExcInfo | None:
    """``exc_info`` when it really is ``(type, exception, traceback)``, else None."""
    if (
        type(value) is tuple
        and len(value) == 3
        and isinstance(value[0], type)
        and issubclass(value[0], BaseException)
    ):
        return value
    return None


def capture(record: Any) -> None:
    """Freeze on the calling thread what may change after the call returns:
    the message as of the call, the task's context, the live exception, and
    every ``extra`` or context value that is not a plain str, number or None.

    Those values become what the file will show (strict-JSON values: copies of
    dicts, lists, sets and tuples, text for other objects) here, so a dict the
    caller keeps updating is written as it was, and no user code (``__str__``,
    ``__repr__``, iteration) ever runs on the writer thread. That matters
    beyond staleness: on 3.11 a recursing ``__repr__`` on a background thread
    can abort the whole process when another thread lowers the recursion limit
    meanwhile (see docs/guarantees.md); on the caller's thread it is the same
    call the caller's own formatter would make."""
    state = record.__dict__
    if _MESSAGE in state:  # already captured by another of our handlers
        return
    if len(state) > _FIRST_EXTRA and _FROZEN not in state:  # extras not frozen yet
        _freeze_extras(state)
    msg, args = state["msg"], state["args"]
    if type(msg) is not str:
        state[_MESSAGE] = render_message(msg, args)
    elif not args:
        state[_MESSAGE] = msg
    else:  # render_message's common case, inline: this runs on every log call
        try:
            state[_MESSAGE] = msg % args
        except Exception:
            state[_MESSAGE] = render_message(msg, args)  # the same failure, as text
    context = current_fields()
    if context:
        state[_CONTEXT] = context if context is _plain_context[0] else _frozen_context(context)
    exc_info = state["exc_info"]
    if exc_info is not None and (exc_info := live_exc_info(exc_info)) is not None:
        state[F.CAPTURED_EXCEPTION] = exception_fields(exc_info)


_MESSAGE = F.CAPTURED_MESSAGE
_CONTEXT = F.CAPTURED_CONTEXT
_FROZEN = F.FROZEN_EXTRAS
_PLAIN = PLAIN_TYPES


def frozen_extra(extra: Mapping[str, object]) -> Mapping[str, object]:
    """``extra`` as the record will keep it: plain values as they are, containers
    copied and other objects rendered (:func:`freeze`), presentation copies of the
    message dropped. The same mapping when there is nothing to do (the common case)."""
    plain = _PLAIN
    for value in extra.values():
        if type(value) not in plain:
            break
    else:
        if _COLOR_MESSAGE not in extra:  # the one presentation extra we know
            return extra
    return {
        k: (v if type(v) in plain else freeze(v))
        for k, v in extra.items()
        if k not in _PRESENTATION_EXTRAS
    }


def _freeze_extras(state: dict[str, Any]) -> None:
    """For a record our makeRecord did not make (it freezes ``extra`` itself)."""
    extras = _extras(state)
    frozen = frozen_extra(extras)
    if frozen is not extras:
        for key in extras.keys() - frozen.keys():
            del state[key]
        state.update(frozen)


#: Extras that only repeat the message for a terminal (uvicorn's ANSI-coloured
#: copy of its message template): dropped, the message is in the record already.
_COLOR_MESSAGE: Final = "color_message"
_PRESENTATION_EXTRAS: Final = frozenset({_COLOR_MESSAGE})


def drop_presentation_extras(state: dict[str, Any]) -> None:
    """Remove extras that only repeat the message for a terminal (see above)."""
    for key in _PRESENTATION_EXTRAS:
        state.pop(key, None)


# The last context found to hold plain values only (bound contexts are immutable
# and shared by every record logged under them; holding it keeps its id unique).
_plain_context: list[Mapping[str, object] | None] = [None]


def _frozen_context(context: Mapping[str, object]) -> Mapping[str, object]:
    if all(type(v) in _PLAIN for v in context.values()):
        _plain_context[0] = context
        return context
    return {k: v if type(v) in _PLAIN else freeze(v) for k, v in context.items()}


def captured_message(record: Any) -> str:
    message = record.__dict__.get(F.CAPTURED_MESSAGE)
    return message if message is not None else render_message(record.msg, record.args)


# --- timestamps -------------------------------------------------------------------

_second_cache: tuple[int, str] = (-1, "")


def iso_utc(created: float) -> str:
    """ISO 8601 in UTC with microseconds, e.g. ``2026-11-27T02:16:25.123456+00:00``."""
    global _second_cache  # noqa: PLW0603 - a one-entry cache; tuple swap is atomic
    second = int(created)
    micros = int((created - second) * 1_000_000)
    cached_second, prefix = _second_cache
    if cached_second != second:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _second_cache = (second, prefix)
    return f"{prefix}.{micros:06d}+00:00"


# --- process identity ---------------------------------------------------------------


def process_identity() -> dict[str, object]:
    """Host and launcher fields, read once per pipeline (they do not change per record)."""
    identity: dict[str, object] = {F.HOSTNAME: socket.gethostname()}
    for key, variable in F.RANK_ENVIRONMENT:
        raw = os.environ.get(variable, "").strip()
        if raw.lstrip("-").isdigit():
            identity[key] = int(raw)
    return identity


# --- the document -------------------------------------------------------------------


def renamed_key(key: str, taken: set[str], reserved: frozenset[str] = F.RESERVED_KEYS) -> str:
    """Where a user key that collides with one of ours (``reserved``) is kept
    instead, ``extra_<key>`` (and mark it taken). The one renaming rule: for our
    document keys here, for LogRecord's attributes in makeRecord (hooks.py)."""
    renamed = F.COLLISION_PREFIX + key
    while renamed in reserved or renamed in taken:
        renamed = F.COLLISION_PREFIX + renamed
    taken.add(renamed)
    return renamed


def renamed_fields(items: list[tuple[str, object]]) -> dict[str, object]:
    """``items`` as a dict, keys that collide with ours renamed (see :func:`renamed_key`)."""
    taken = {key for key, _ in items}
    return {
        (renamed_key(key, taken) if key in F.RESERVED_KEYS else key): value for key, value in items
    }


# LogRecord.__init__ sets its attributes in a fixed order and makeRecord adds the
# extras right after, so a record's extras are among the keys past that point.
_LOGRECORD_OWN = list(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)
_FIRST_EXTRA = len(_LOGRECORD_OWN)
_LAST_OWN = _LOGRECORD_OWN[-1]


def first_extra_index() -> tuple[int, str]:
    """How many attributes LogRecord.__init__ sets, and the last one's name."""
    return _FIRST_EXTRA, _LAST_OWN


def _extras(state: dict[str, Any]) -> dict[str, Any]:
    items = iter(state.items())
    # Skip LogRecord's own attributes without building a list of every key.
    last_own = next(islice(items, _FIRST_EXTRA - 1, None), None)
    if last_own is None or last_own[0] != _LAST_OWN:  # a record built some other way
        items = iter(state.items())
    not_extra = F.NOT_EXTRA
    return {k: v for k, v in items if k not in not_extra}


def user_fields(record: Any, on_caller: bool = False) -> dict[str, object]:
    """Context fields, then ``extra`` fields (an explicit extra wins), renamed off our keys.

    The context is the one captured with the record, or with ``on_caller`` (the
    logging call's own thread, synchronously) the current one when none was.
    """
    state = record.__dict__
    found = _extras(state)
    context = state.get(F.CAPTURED_CONTEXT)
    if context is None and on_caller:
        context = current_fields()
    if not context:
        if not found or F.RESERVED_KEYS.isdisjoint(found):
            return found
        return renamed_fields(list(found.items()))
    if not F.RESERVED_KEYS.isdisjoint(found):
        found = renamed_fields(list(found.items()))
    merged = (
        dict(context)
        if F.RESERVED_KEYS.isdisjoint(context)
        else renamed_fields(list(context.items()))
    )
    merged.update(found)
    return merged


class Parts(NamedTuple):
    """What a record says, redacted: everything but the frame (time, level, place)."""

    message: str
    fields: dict[str, object]
    exception: dict[str, str] | None
    stack_info: str | None


def record_parts(record: Any, redactor: Redactor | None = None, on_caller: bool = False) -> Parts:
    """The message, user fields, exception and stack of a record, redacted if asked.

    ``on_caller``: we run on the logging call's thread, so what :func:`capture`
    would have frozen (message, context, exception) can be read now instead.
    """
    state = record.__dict__
    message = state.get(F.CAPTURED_MESSAGE)
    if message is None:
        message = render_message(record.msg, record.args)
    fields = user_fields(record, on_caller)
    exception = state.get(F.CAPTURED_EXCEPTION)
    exc_info = state.get("exc_info")
    if (
        exception is None
        and exc_info is not None
        and (exc_info := live_exc_info(exc_info)) is not None
    ):
        exception = exception_fields(exc_info)
    stack_info = state.get("stack_info")
    if redactor is not None:
        message = redactor.text(message)
        if fields:
            fields = redactor.mapping(fields)
        if exception is not None:
            exception = {k: redactor.text(v) for k, v in exception.items()}
        if stack_info:
            stack_info = redactor.text(stack_info)
    return Parts(message, fields, exception, stack_info)


def assemble(record: Any, parts: Parts, identity: Mapping[str, object]) -> dict[str, Any]:
    """The JSONL record, keys in the documented order."""
    state = record.__dict__
    # One dict display: much cheaper than a key at a time on the writer's hot path.
    document: dict[str, Any] = {
        F.TIMESTAMP: iso_utc(state["created"]),
        F.LEVEL: state["levelname"],
        F.LOGGER: state["name"],
        F.MESSAGE: parts.message,
        **parts.fields,
        F.MODULE: state["module"],
        F.FUNCTION: state["funcName"],
        F.LINE: state["lineno"],
        F.PROCESS: state["process"],
        F.PROCESS_NAME: state["processName"],
        F.THREAD_NAME: state["threadName"],
        **identity,
    }
    if parts.exception is not None:
        document[F.EXCEPTION] = parts.exception
    if parts.stack_info:
        document[F.STACK_INFO] = parts.stack_info
    return document


def build_document(
    record: Any, identity: Mapping[str, object], redactor: Redactor | None = None
) -> dict[str, Any]:
    """The JSONL record, redacted when a redactor is given."""
    return assemble(record, record_parts(record, redactor), identity)


def broken_record_document(
    record: Any, exc: Exception, redactor: Redactor | None
) -> dict[str, Any]:
    """What we can say about a record whose attributes could not be rendered."""
    try:
        timestamp = iso_utc(float(record.created))
    except Exception:
        timestamp = iso_utc(time.time())
    message = safe_str(captured_message(record))
    if redactor is not None:
        message = redactor.text(message)
    return {
        F.TIMESTAMP: timestamp,
        F.LEVEL: safe_str(getattr(record, "levelname", "ERROR")),
        F.LOGGER: safe_str(getattr(record, "name", "?")),
        F.MESSAGE: message,
        "log_error": f"record could not be rendered: {type(exc).__name__}: {safe_repr(exc)}",
    }
