"""Process-level hooks: crashes, SIGTERM, and extras that stdlib would refuse.

Each hook remembers what it replaced and puts it back on uninstall, and only
takes itself out if nobody replaced it after us.
"""

from __future__ import annotations

import functools
import logging
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from types import FrameType, FunctionType, TracebackType
from typing import Any, Final, NoReturn

from . import fields as F
from .factory import fast_record
from .record import frozen_extra, renamed_key

CRASH_LOGGER = "uncaught"

Flush = Callable[[float], bool]


# --- extras that collide with LogRecord attributes ----------------------------------

_original_make_record = logging.Logger.makeRecord


def _is_stdlib_make_record(candidate: object) -> bool:
    """Whether ``candidate`` is stdlib's own ``Logger.makeRecord``. An APM agent
    (ddtrace-run) may have replaced it before this module was imported, so the
    class attribute we saw then proves nothing: the code object does
    (``functools.wraps`` copies names, not code)."""
    code = getattr(candidate, "__code__", None)
    return (
        isinstance(candidate, FunctionType)
        and code is not None
        and code.co_name == "makeRecord"
        and code.co_filename == logging.__file__
    )


_ATTRIBUTES = F.LOGRECORD_ATTRIBUTES
_FROZEN = F.FROZEN_EXTRAS


def _safe_extra(extra: object) -> dict[str, object]:
    """``extra`` with keys stdlib would refuse (``name``, ``msg``...) renamed, never raising."""
    if not isinstance(extra, Mapping):
        return {"extra": extra}
    taken = {k for k in extra if isinstance(k, str)}
    safe: dict[str, object] = {}
    for key, value in extra.items():
        if key not in F.LOGRECORD_ATTRIBUTES:
            safe[key] = value
        else:
            safe[renamed_key(key, taken, F.LOGRECORD_ATTRIBUTES)] = value
    return safe


MakeRecord = Callable[..., logging.LogRecord]

#: Keys structlog's ProcessorFormatter adds to an event dict for itself.
_STRUCTLOG_META: Final = frozenset({"_record", "_from_structlog", "exc_info", "event"})
_TRACEBACK_START: Final = "\nTraceback (most recent call last):"


def other_styles(
    msg: object, args: Any, exc_info: Any, extra: dict[str, Any]
) -> tuple[object, Any, dict[str, Any]]:
    """Records that other logging libraries hand to stdlib, made ordinary.

    * structlog's ``wrap_for_formatter``: ``msg`` is the event dict and
      ``extra`` holds ``_logger`` and ``_name``. The event becomes the message
      and its key-values top-level fields (a colliding key is renamed later,
      as any extra's).
    * loguru's propagate recipe (a ``logging.Handler`` sink): its bound values
      come as one ``extra`` dict, flattened into fields (none: no field), and
      the message already ends with loguru's traceback text, cut off here: the
      exception is written once, from ``exc_info``, like any other.
    """
    if type(msg) is dict and "_logger" in extra and "_name" in extra:
        event = msg.get("event", "")
        fields = {k: v for k, v in msg.items() if k not in _STRUCTLOG_META}
        fields.update((k, v) for k, v in extra.items() if k not in ("_logger", "_name"))
        return event, (), fields
    inner = extra.get("extra")
    if type(inner) is dict and len(extra) == 1:
        if exc_info and isinstance(msg, str) and _TRACEBACK_START in msg:
            msg = msg.partition(_TRACEBACK_START)[0]
        return msg, args, dict(inner)
    return msg, args, extra


def make_record_over(previous: Any) -> MakeRecord:
    """A ``Logger.makeRecord`` that renames colliding extras, then calls ``previous``
    (stdlib's, or whatever an APM agent wrapped around it before us).

    While ``previous`` is stdlib's own, the record is built by
    :func:`fast_record`, which makes the same record for less.
    """
    is_stdlib = _is_stdlib_make_record(previous)
    # A plain function takes the logger as its first argument; a descriptor
    # (a wrapt FunctionWrapper, a staticmethod...) is bound the way the class would.
    is_function = isinstance(previous, FunctionType)

    @functools.wraps(previous)
    def makeRecord(  # noqa: PLR0917 - stdlib's name and signature
        self: logging.Logger,
        name: str,
        level: int,
        fn: str,
        lno: int,
        msg: object,
        args: Any,
        exc_info: Any,
        func: str | None = None,
        extra: Mapping[str, object] | None = None,
        sinfo: str | None = None,
    ) -> logging.LogRecord:
        if type(extra) is dict and ("_name" in extra or "extra" in extra):
            msg, args, extra = other_styles(msg, args, exc_info, extra)
        # stdlib raises KeyError for extra={"name": ...} or {"message": ...}: a log
        # call that raises into the caller. Rename such keys instead.
        # An exact type check: an ABC isinstance() would cost more than the rest.
        if extra is not None and (type(extra) is not dict or not _ATTRIBUTES.isdisjoint(extra)):
            extra = _safe_extra(extra)
        if extra:  # frozen here, at the call: the writer never runs user code
            extra = frozen_extra(extra)
        if exc_info:
            _mark_logged(exc_info)
        if is_stdlib:
            record = fast_record(name, level, fn, lno, msg, args, exc_info, func, sinfo)
            if record is not None:
                if extra:
                    # Safe: no key of ``extra`` is a record attribute (checked
                    # above), which is all stdlib's per-key loop checks.
                    state = record.__dict__
                    state.update(extra)
                    # capture() need not look at them again, and the writer reads
                    # these keys instead of scanning every attribute (a tuple:
                    # ``extra`` may be the caller's own dict, free to change).
                    state[_FROZEN] = tuple(extra)
                return record
        if is_function:
            return previous(self, name, level, fn, lno, msg, args, exc_info, func, extra, sinfo)  # type: ignore[no-any-return]
        bound = previous.__get__(self, type(self))
        return bound(name, level, fn, lno, msg, args, exc_info, func, extra, sinfo)  # type: ignore[no-any-return]

    return makeRecord


# --- crashes ------------------------------------------------------------------------------


def _mark_logged(exc_info: Any) -> None:
    """Remember that this exception reached a log record (see Hooks._exit)."""
    try:
        exc = exc_info[1] if type(exc_info) is tuple else exc_info
        if isinstance(exc, BaseException):
            setattr(exc, F.LOGGED_EXCEPTION, True)
    except Exception:  # noqa: S110 - an exception type that refuses attributes
        pass


class _AsyncioCrashFilter(logging.Filter):
    """asyncio reports unhandled task errors as ERROR records that carry the
    exception ("Task exception was never retrieved"); they are crashes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.levelno < logging.CRITICAL:
            record.levelno = logging.CRITICAL
            record.levelname = logging.getLevelName(logging.CRITICAL)
        return True


class Hooks:
    """Installs and removes the process-level hooks of one configuration."""

    def __init__(
        self,
        flush: Flush,
        console_shows_crashes: bool,
        handle_sigterm: bool,
        file_handler: logging.Handler | None,
    ) -> None:
        self._flush = flush
        # Ours on the root, when records reach more than the console: the
        # sys.exit record goes to it alone. None: there is only the console.
        self._file_handler = file_handler
        self._console_shows_crashes = console_shows_crashes
        self._handle_sigterm = handle_sigterm
        self._previous_excepthook = sys.excepthook
        self._previous_threading_hook = threading.excepthook
        self._asyncio_filter = _AsyncioCrashFilter()
        self.sigterm_installed = False
        self._previous_make_record: Any = None
        self._previous_exit: Any = sys.exit
        self._make_record: MakeRecord | None = None

    def install(self) -> None:
        self._previous_excepthook = sys.excepthook
        self._previous_threading_hook = threading.excepthook
        sys.excepthook = self._excepthook
        threading.excepthook = self._threading_excepthook
        logging.getLogger("asyncio").addFilter(self._asyncio_filter)
        # Chain what is there now (an APM agent's wrapper), not stdlib's original.
        self._previous_make_record = logging.Logger.__dict__["makeRecord"]
        self._make_record = make_record_over(self._previous_make_record)
        logging.Logger.makeRecord = self._make_record  # type: ignore[method-assign]
        self._previous_exit = sys.exit
        sys.exit = self._exit
        if self._handle_sigterm and _can_take_sigterm():
            signal.signal(signal.SIGTERM, self._on_sigterm)
            self.sigterm_installed = True

    def uninstall(self) -> None:
        if sys.excepthook == self._excepthook:
            sys.excepthook = self._previous_excepthook
        if threading.excepthook == self._threading_excepthook:
            threading.excepthook = self._previous_threading_hook
        logging.getLogger("asyncio").removeFilter(self._asyncio_filter)
        if sys.exit == self._exit:
            sys.exit = self._previous_exit
        ours = self._make_record
        if ours is not None and logging.Logger.__dict__["makeRecord"] is ours:
            logging.Logger.makeRecord = self._previous_make_record  # type: ignore[method-assign]
        self._make_record = None
        if self.sigterm_installed and threading.current_thread() is threading.main_thread():
            if signal.getsignal(signal.SIGTERM) == self._on_sigterm:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self.sigterm_installed = False

    def after_fork_in_child(self) -> None:
        # A forked child writes synchronously and keeps SIGTERM's default: a
        # Python-level handler can hang Pool.terminate(), which SIGTERMs its workers.
        if self.sigterm_installed and signal.getsignal(signal.SIGTERM) == self._on_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        self.sigterm_installed = False

    # --- the hooks themselves ---------------------------------------------------------

    def _excepthook(
        self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if not issubclass(exc_type, KeyboardInterrupt):
            logging.getLogger(CRASH_LOGGER).critical(
                "uncaught exception: %s", exc_type.__name__, exc_info=(exc_type, exc, tb)
            )
        if _needs_previous(
            self._previous_excepthook, sys.__excepthook__, self._console_shows_crashes, exc_type
        ):
            self._previous_excepthook(exc_type, exc, tb)

    def _exit(self, status: str | int | None = None) -> NoReturn:
        """``sys.exit`` with a failure status while an exception that no record
        carries is being handled: a framework caught the job's exception, printed
        it its own way and exits (Hydra without HYDRA_FULL_ERROR). Log it first,
        so the run's file holds the structured exception; to the file only, as
        the program already said on the terminal what it wanted said."""
        exc = sys.exc_info()[1]
        if (
            exc is not None
            and status not in (None, 0)
            and not isinstance(exc, SystemExit | KeyboardInterrupt)
            and not getattr(exc, F.LOGGED_EXCEPTION, False)
        ):
            self._file_only("exiting with status %s after %s", (status, type(exc).__name__), exc)
        self._previous_exit(status)
        raise SystemExit(status)  # only if the previous sys.exit returned

    def _file_only(self, msg: str, args: tuple[object, ...], exc: BaseException) -> None:
        """A CRITICAL crash record for our handler alone, marked so that our
        console does not print it either; other handlers on the root (a
        framework's own console) never see it. With only a console, nothing:
        the program printed the error its own way."""
        handler = self._file_handler
        if handler is None:
            return
        logger = logging.getLogger(CRASH_LOGGER)
        try:
            caller = sys._getframe(2)  # who called sys.exit: _file_only <- _exit <- it
            record = logger.makeRecord(
                logger.name, logging.CRITICAL, caller.f_code.co_filename, caller.f_lineno,
                msg, args, (type(exc), exc, exc.__traceback__), caller.f_code.co_name,
                {F.CONSOLE_TAKEN: True},
            )  # fmt: skip
            handler.handle(record)
        except Exception:  # noqa: S110 - exiting: never raise from here
            pass

    def _threading_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:  # how threads end quietly; the default ignores it
            return
        name = args.thread.name if args.thread is not None else "?"
        exc_info = None
        if args.exc_value is not None:
            exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
        logging.getLogger(CRASH_LOGGER).critical(
            "uncaught exception in thread %s: %s", name, args.exc_type.__name__, exc_info=exc_info
        )
        if _needs_previous(
            self._previous_threading_hook,
            threading.__excepthook__,
            self._console_shows_crashes,
            args.exc_type,
        ):
            self._previous_threading_hook(args)

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        """Drain and flush; then, when ours is the process's own handler, die by
        SIGTERM exactly as before we were installed.

        A framework that installed its handler after ours and chains to it
        (Lightning's preemption checkpoint) has its own plan for the signal:
        then we only flush and return, and the framework decides how to end."""
        self._flush(F.FLUSH_TIMEOUT_SECONDS)
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except Exception:  # noqa: S110
                pass
        if signal.getsignal(signal.SIGTERM) != self._on_sigterm:
            return  # chained by the handler in charge: it decides
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.raise_signal(signal.SIGTERM)


def _needs_previous(
    previous: object, default: object, console_shows: bool, exc_type: type[BaseException]
) -> bool:
    """Chain to the previous hook, except the default one when our console already
    shows the traceback (the user should see it once, not twice)."""
    if previous is not default:
        return True
    return not console_shows or issubclass(exc_type, KeyboardInterrupt)


def _can_take_sigterm() -> bool:
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        return signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    except (ValueError, OSError):
        return False


def in_multiprocessing_child() -> bool:
    """True in a multiprocessing worker: it writes synchronously (see queue.py)."""
    mp = sys.modules.get("multiprocessing")
    if mp is None:
        return False
    return mp.parent_process() is not None
