"""Library loggers brought into our configuration, and everything put back after.

A research job imports transformers, datasets, Lightning, mlflow and Hydra
before it logs anything, and each configures its own logger: a StreamHandler
on stderr (so its records print twice, once by it and once by us), often with
``propagate=False`` (so its records never reach the root logger, where our
file is), and a ``setLevel`` at import that undoes the level the user asked
for. None of this is a bug in the library: each assumes nobody else
configured logging. This module is the one place that fixes it, and the one
place that undoes what it did.

* **Terminal handlers.** A StreamHandler on stdout/stderr on a library logger
  is replaced, in that logger's handler list, by a :class:`Forwarder` that
  remembers it. The forwarder prints nothing; a record that would not reach
  the root logger (a logger on its way up has ``propagate=False``) is handed
  to the root's handlers by it, once, as if it had propagated. So the record
  reaches our file once, prints once in our format, and keeps its own logger
  name. Handlers that write elsewhere (a file, a socket) are never touched.
* **When.** At ``setup_logging`` every existing logger is looked at; after it,
  a logger is looked at again whenever ``addHandler`` or ``setLevel`` is
  called on it. Libraries configure their logger with one of the two, so a
  handler set by direct assignment (``logger.handlers = [h]``, as mlflow does)
  is found at the ``setLevel`` that follows it.
* **The root.** ``dictConfig`` (Hydra's job logging) takes our handlers off
  the root and adds its own: our file handler goes back beside them, so the
  run's file does not stop; the console is then the one dictConfig set.
  ``basicConfig(force=True)`` takes the root on purpose and is left to do so.
* **Levels.** A logger named in ``logger_levels`` keeps the user's level: a
  library's later ``setLevel`` is remembered (and restored at shutdown) but
  does not apply. Loggers not named there follow the library's own verbosity
  API as before.
* **Warnings.** ``warnings.showwarning`` logs to ``py.warnings`` with the
  category, file and line as fields; shutdown puts the previous one back.
* ``leave_loggers`` names loggers (and their children) to leave alone.
"""

from __future__ import annotations

import io
import logging
import logging.config
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO

from . import fields as F

_Logger = logging.Logger


def is_terminal_handler(handler: logging.Handler) -> bool:
    """A handler that prints to the terminal, which ours would duplicate. A
    StringIO standing in for stdout (a test capturing output) is not one."""
    if not isinstance(handler, logging.StreamHandler) or isinstance(handler, logging.FileHandler):
        return False
    stream = getattr(handler, "stream", None)
    if stream is None or isinstance(stream, io.StringIO):
        return False
    return stream in (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__)


def is_library_console(handler: logging.Handler) -> bool:
    """A library logger's handler that prints to the terminal: on stdout/stderr,
    or on a stand-in that writes to whatever ``sys.stderr`` is at the time
    (mlflow's ``MlflowLoggingStream``): an object that is no file at all (not
    ``io.IOBase``, no ``fileno``). Files, sockets and pipes are all IOBase."""
    if is_terminal_handler(handler):
        return True
    if type(handler) is not logging.StreamHandler:
        return False
    stream = getattr(handler, "stream", None)
    return (
        stream is not None
        and not isinstance(stream, io.IOBase)
        and not hasattr(stream, "fileno")
        and callable(getattr(stream, "write", None))
    )


class Forwarder(logging.Handler):
    """Stands in a library logger's handler list for the terminal handlers taken
    off it: hands our handlers each record that would not reach the root.

    Our file gets every such record; our console only those of a logger whose
    own terminal handler we took (the library meant them to be seen). Other
    handlers on the root are not ours to feed: code that set ``propagate=False``
    kept its records from them on purpose."""

    def __init__(self, logger: logging.Logger, neighbours: Neighbours) -> None:
        super().__init__()
        self.logger = logger
        self._neighbours = neighbours
        #: The library's own handlers, put back by :meth:`Neighbours.uninstall`.
        self.replaced: list[logging.Handler] = []

    def handle(self, record: logging.LogRecord) -> Any:
        state = record.__dict__
        if F.FORWARDED in state or _reaches_root(self.logger):
            return record  # the root gets it anyway, or a forwarder below us sent it
        state[F.FORWARDED] = True
        console = self._neighbours.console
        for handler in self._neighbours.ours():
            if handler is console and not self.replaced:
                continue
            if record.levelno >= handler.level:
                handler.handle(record)
        return record

    def emit(self, record: logging.LogRecord) -> None:  # pragma: no cover - handle() does it
        self.handle(record)

    def createLock(self) -> None:
        self.lock = None  # handle() takes no lock: the root's handlers take their own

    def __repr__(self) -> str:
        return f"<Forwarder {self.logger.name} ({len(self.replaced)} handler(s) kept aside)>"


def _reaches_root(logger: logging.Logger) -> bool:
    """Whether stdlib's ``callHandlers`` walks from ``logger`` up to the root."""
    current: logging.Logger | None = logger
    root = logging.root
    while current is not None and current is not root:
        if not current.propagate:
            return False
        current = current.parent
    return current is root


class Neighbours:
    """What one configuration changed in other code's loggers, and how to undo it."""

    def __init__(
        self,
        ours: Callable[[], list[logging.Handler]],
        console: logging.Handler | None,
        pinned: Mapping[str, int],
        leave: Iterable[str],
        capture_warnings: bool,
    ) -> None:
        self.ours = ours
        self.console = console
        self._pinned = dict(pinned)
        self._leave = tuple(leave)
        self._capture_warnings = capture_warnings
        self._forwarders: dict[str, Forwarder] = {}
        #: Levels the libraries asked for while ours were pinned: shutdown restores them.
        self.library_levels: dict[str, int] = {}
        self._previous_add: Any = None
        self._previous_set_level: Any = None
        self._add_handler: Callable[..., None] | None = None
        self._set_level: Callable[..., None] | None = None
        self._previous_showwarning: Any = None
        self._installed = False

    # --- install / uninstall ---------------------------------------------------------

    def install(self) -> None:
        self._installed = True
        for _name, logger in list(_Logger.manager.loggerDict.items()):
            if isinstance(logger, _Logger):
                self.adopt(logger)
        self._previous_add = _Logger.__dict__["addHandler"]
        self._previous_set_level = _Logger.__dict__["setLevel"]
        self._add_handler = self._make_add_handler(self._previous_add)
        self._set_level = self._make_set_level(self._previous_set_level)
        _Logger.addHandler = self._add_handler  # type: ignore[method-assign]
        _Logger.setLevel = self._set_level  # type: ignore[method-assign]
        if self._capture_warnings:
            self._previous_showwarning = warnings.showwarning
            warnings.showwarning = self._showwarning

    def uninstall(self) -> None:
        if not self._installed:
            return
        self._installed = False
        if _Logger.__dict__.get("addHandler") is self._add_handler:
            _Logger.addHandler = self._previous_add  # type: ignore[method-assign]
        if _Logger.__dict__.get("setLevel") is self._set_level:
            _Logger.setLevel = self._previous_set_level  # type: ignore[method-assign]
        for forwarder in self._forwarders.values():
            handlers = forwarder.logger.handlers
            if forwarder in handlers:
                at = handlers.index(forwarder)
                kept = [h for h in forwarder.replaced if h not in handlers]
                handlers[at : at + 1] = kept
        self._forwarders.clear()
        if self._capture_warnings and warnings.showwarning == self._showwarning:
            warnings.showwarning = self._previous_showwarning

    def level_to_restore(self, name: str, saved: int) -> int:
        """The level ``name`` goes back to: the library's latest wish, else ``saved``."""
        return self.library_levels.get(name, saved)

    # --- library loggers -------------------------------------------------------------

    def _left_alone(self, name: str) -> bool:
        return any(name == left or name.startswith(left + ".") for left in self._leave)

    def adopt(self, logger: logging.Logger) -> None:
        """Take ``logger``'s terminal handlers aside behind one forwarder; add a
        forwarder to a logger that does not propagate, so its records reach us."""
        if logger is logging.root or not self._installed or self._left_alone(logger.name):
            return
        handlers = logger.handlers
        terminal = [h for h in handlers if is_library_console(h)]
        forwarder = self._forwarders.get(logger.name)
        if forwarder is not None and forwarder.logger is not logger:
            forwarder = None  # a logger made anew under the same name (tests do this)
        if not terminal and (logger.propagate or forwarder in handlers):
            return
        if forwarder is None:
            forwarder = self._forwarders[logger.name] = Forwarder(logger, self)
        elif forwarder not in handlers:
            # The library assigned a new handler list (mlflow does, on each
            # configure): what it set now is what shutdown gives back.
            forwarder.replaced = []
        forwarder.replaced += [h for h in terminal if h not in forwarder.replaced]
        if forwarder.replaced:
            # Code that reads ``logger.handlers[0].formatter`` (tqdm's redirect,
            # tests of a dictConfig) still finds the library's.
            forwarder.formatter = forwarder.replaced[0].formatter
        kept = [h for h in handlers if h not in terminal and h is not forwarder]
        # One assignment: a record being handled on another thread sees the old
        # list or the new one, never a half-changed one.
        logger.handlers = [forwarder, *kept]

    def _make_add_handler(self, previous: Any) -> Callable[..., None]:
        neighbours = self

        def addHandler(self: logging.Logger, hdlr: logging.Handler) -> None:
            if self is logging.root:
                neighbours._root_add(hdlr, previous)
                return
            _call(previous, self, hdlr)
            neighbours.adopt(self)

        return addHandler

    def _root_add(self, handler: logging.Handler, previous: Any) -> None:
        """A handler added to the root. Inside ``dictConfig`` (Hydra's job logging),
        which took our handlers off the root first, our file handler goes back:
        the run's file must not stop. The console is dictConfig's to set, as is
        everything else it configured."""
        root = logging.root
        if _called_from(logging.config.DictConfigurator.configure, depth=12):
            for mine in self.ours():
                if mine is not self.console and mine not in root.handlers:
                    _call(previous, root, mine)
        _call(previous, root, handler)

    def _make_set_level(self, previous: Any) -> Callable[..., None]:
        neighbours = self

        def setLevel(self: logging.Logger, level: int | str) -> None:
            pinned = neighbours._pinned.get(self.name)
            if pinned is not None and self is not logging.root:
                # The user's level for this logger wins over the library's; the
                # library's wish is what shutdown puts back.
                checked = logging._checkLevel(level)  # type: ignore[attr-defined]
                neighbours.library_levels[self.name] = checked
                _call(previous, self, pinned)
            else:
                _call(previous, self, level)
            neighbours.adopt(self)

        return setLevel

    # --- warnings --------------------------------------------------------------------

    def _showwarning(  # noqa: PLR0917 - warnings.showwarning's signature
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        """``warnings.warn`` as a WARNING record of ``py.warnings`` (stdlib's logger
        for them), located at the warning's file and line."""
        if file is not None:  # an explicit destination: as before
            previous = self._previous_showwarning
            if previous is not None:
                previous(message, category, filename, lineno, file, line)
            return
        logger = logging.getLogger("py.warnings")
        if not logger.isEnabledFor(logging.WARNING):
            return
        name = getattr(category, "__name__", str(category))
        line_number = lineno if isinstance(lineno, int) else 0
        record = logger.makeRecord(
            logger.name, logging.WARNING, str(filename), line_number,
            "%s: %s", (name, str(message)), None, func=None,
            extra={F.WARNING_CATEGORY: name, F.WARNING_FILE: str(filename), F.WARNING_LINE: lineno},
        )  # fmt: skip
        logger.handle(record)


def _called_from(function: Callable[..., object], depth: int = 8) -> bool:
    """Whether ``function`` is among the few callers above us (by code object)."""
    code = getattr(function, "__code__", None)
    frame = sys._getframe(1)
    for _ in range(depth):
        if frame is None:
            return False
        if frame.f_code is code:
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _call(method: Any, logger: logging.Logger, *args: object) -> None:
    """Call a class attribute we replaced (a plain function, or a descriptor)."""
    if hasattr(method, "__get__"):
        method.__get__(logger, type(logger))(*args)
    else:
        method(logger, *args)
