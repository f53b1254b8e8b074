"""The LogRecord every call makes, built for less than ``LogRecord.__init__`` costs.

A stdlib record costs about 4 µs, most of the price of any log call. Most of
that goes to work that gives the same answer every time for a call site: the
file name and module split out of the path, the level name, an ABC
``isinstance`` check on the arguments, and on 3.12+ an exception raised and
caught to learn that no asyncio task is running.

:func:`fast_record` sets the same attributes, in the same order, to the same
values as the running Python's ``LogRecord.__init__`` (a test compares the two
field by field on every supported version), and caches what depends only on
the call site. It is used only while stdlib's own factory is in place and the
``logging.log*`` switches are on; anything else gets the stdlib record.
"""

from __future__ import annotations

import collections.abc
import logging
import os
import sys
import threading
import time
from typing import Any, Final

#: The Python versions whose ``LogRecord.__init__`` this module mirrors.
SUPPORTED: Final = (3, 11) <= sys.version_info[:2] <= (3, 13)
_TASK_NAME: Final = sys.version_info >= (3, 12)
_TIME_NS: Final = sys.version_info >= (3, 13)
_MAX_CACHED_PATHS: Final = 4096

_LogRecord = logging.LogRecord
_new = object.__new__
_Mapping = collections.abc.Mapping
# The dict getLevelName reads; addLevelName updates it in place, so binding it is safe.
_level_names: dict[int, str] = logging._levelToName
_start_time: float = getattr(logging, "_startTime")  # noqa: B009 - private, and typeshed omits it
_time = time.time
_time_ns = time.time_ns
_get_ident = threading.get_ident
_current_thread = threading.current_thread
_getpid = os.getpid
_modules = sys.modules
_paths: dict[object, tuple[Any, str]] = {}
#: Argument types that are never a Mapping: skip the ABC check for them.
_PLAIN: Final = frozenset({int, str, float, bool, type(None), bytes})


def _file_and_module(pathname: Any) -> tuple[Any, str]:
    try:
        return _paths[pathname]
    except KeyError:
        pass
    except TypeError:  # an unhashable pathname: nothing to cache
        return _split(pathname)
    if len(_paths) >= _MAX_CACHED_PATHS:
        _paths.clear()
    found = _paths[pathname] = _split(pathname)
    return found


def _split(pathname: Any) -> tuple[Any, str]:
    try:
        filename = os.path.basename(pathname)
        return filename, os.path.splitext(filename)[0]
    except (TypeError, ValueError, AttributeError):
        return pathname, "Unknown module"


def _process_name() -> str | None:
    mp = _modules.get("multiprocessing")
    if mp is not None:
        try:
            return mp.current_process().name  # type: ignore[no-any-return]
        except Exception:  # noqa: S110 - stdlib swallows this too
            pass
    return "MainProcess"


def _task_name() -> str | None:
    asyncio = _modules.get("asyncio")
    if not asyncio:
        return None
    try:
        # No running loop is the common case: ask without raising and catching.
        if asyncio._get_running_loop() is None:
            return None
        return asyncio.current_task().get_name()  # type: ignore[no-any-return]
    except Exception:
        return None


def fast_record(  # noqa: PLR0917 - LogRecord's signature
    name: str,
    level: int,
    pathname: str,
    lineno: int,
    msg: object,
    args: Any,
    exc_info: Any,
    func: str | None = None,
    sinfo: str | None = None,
) -> logging.LogRecord | None:
    """``logging.LogRecord(...)`` as the running Python builds it, or None when
    it would not be the same: then make a stdlib one."""
    # Only while stdlib's own factory is in place (the attribute its makeRecord
    # reads, without a getLogRecordFactory() call) and every switch is on.
    if not (
        SUPPORTED
        and logging._logRecordFactory is _LogRecord  # type: ignore[attr-defined]
        and logging.logThreads
        and logging.logProcesses
        and logging.logMultiprocessing
        and (not _TASK_NAME or logging.logAsyncioTasks)  # type: ignore[attr-defined,unused-ignore]
    ):
        return None
    rv: Any = _new(_LogRecord)
    if _TIME_NS:
        ct_ns = _time_ns()
    else:
        ct = _time()
    rv.name = name
    rv.msg = msg
    if args and len(args) == 1:
        first = args[0]
        if type(first) not in _PLAIN and isinstance(first, _Mapping) and first:
            args = first
    rv.args = args
    levelname = _level_names.get(level)
    rv.levelname = levelname if levelname is not None else logging.getLevelName(level)
    rv.levelno = level
    rv.pathname = pathname
    rv.filename, rv.module = _file_and_module(pathname)
    rv.exc_info = exc_info
    rv.exc_text = None
    rv.stack_info = sinfo
    rv.lineno = lineno
    rv.funcName = func
    if _TIME_NS:
        rv.created = ct_ns / 1e9
        msecs = (ct_ns % 1_000_000_000) // 1_000_000 + 0.0
        if msecs == 999.0 and int(rv.created) != ct_ns // 1_000_000_000:
            msecs = 0.0
        rv.msecs = msecs
        rv.relativeCreated = (ct_ns - _start_time) / 1e6
    else:
        rv.created = ct
        rv.msecs = int((ct - int(ct)) * 1000) + 0.0
        rv.relativeCreated = (ct - _start_time) * 1000
    rv.thread = _get_ident()
    rv.threadName = _current_thread().name
    rv.processName = _process_name()
    rv.process = _getpid()
    if _TASK_NAME:
        rv.taskName = _task_name()
    return rv  # type: ignore[no-any-return]
