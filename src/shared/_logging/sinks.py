"""Where records go once rendered: the file, the console, the collector.

Each sink takes a record with :meth:`Sink.add` (its redacted parts, and its
JSON line when one was made), writes what it holds on :meth:`Sink.flush`, once
per batch, and lets go of its resources on :meth:`Sink.close`. The pipeline
holds a list of them; a sink's errors never reach the others.
"""

from __future__ import annotations

import copy
import logging
from typing import IO, TYPE_CHECKING, Protocol

from . import fields as F
from .console import ConsoleRenderer, escape_block, escape_controls
from .files import RotatingJSONLWriter
from .record import Parts
from .storms import Storms

if TYPE_CHECKING:
    from .otlp import OTLPExport


class Sink(Protocol):
    #: Records below this level are not added.
    level: int
    #: Whether :meth:`add` reads the JSON line (else it may be left unmade).
    needs_line: bool

    def wants(self, record: logging.LogRecord) -> bool:
        """Whether to add ``record`` (its level, and for a console its storm control)."""

    def add(self, record: logging.LogRecord, parts: Parts, line: bytes) -> None:
        """Take one record (its redacted parts, and its JSON line if one was made)."""

    def flush(self) -> None:
        """Write what was added since the last flush."""

    def close(self) -> None:
        """Write what is left and release the sink's resources; idempotent."""

    def shown(self) -> bool:
        """Whether it takes records now (a console another tool took over does not)."""


class FileSink:
    """The rotated JSONL file: every record's line, one write per batch."""

    level = 0
    needs_line = True

    def __init__(self, writer: RotatingJSONLWriter) -> None:
        self.writer = writer
        self._lines: list[bytes] = []

    def wants(self, record: logging.LogRecord) -> bool:
        return True

    def add(self, record: logging.LogRecord, parts: Parts, line: bytes) -> None:
        self._lines.append(line)

    def add_line(self, line: bytes) -> None:
        """A line rendered without parts (the C path, our own notices)."""
        self._lines.append(line)

    def add_lines(self, lines: list[bytes]) -> None:
        """A batch the C path rendered whole."""
        self._lines += lines

    def flush(self) -> None:
        lines, self._lines = self._lines, []
        self.writer.write(lines)

    def close(self) -> None:
        self.flush()
        self.writer.close()

    def shown(self) -> bool:
        return True


class _Console:
    """What both consoles share: a level, storm control (storms.py), a count, and
    the gate of the console handler on the root logger (console_handler.py):
    while a tool such as tqdm or absl has taken that handler off, the tool
    prints and we don't."""

    level: int
    needs_line = False

    def __init__(self, level: int, storms: Storms | None = None) -> None:
        self.level = level
        self.storms = storms
        self.added = 0
        self.gate: logging.Handler | None = None

    def wants(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level:
            return False
        return self.storms is None or self.storms.admit(record)

    def shown(self) -> bool:
        gate = self.gate
        return gate is None or gate in logging.root.handlers

    def user_formatter(self) -> logging.Formatter | None:
        """A formatter the user set on the console handler (setFormatter), if any."""
        ask = getattr(self.gate, "user_formatter", None)
        return ask() if ask is not None else None

    def close(self) -> None:
        self.flush()

    def flush(self) -> None:
        raise NotImplementedError


def _has_controls(exception: dict[str, str]) -> bool:
    """Whether the exception's text holds a character the console would escape."""
    text = f"{exception.get(F.EXCEPTION_MESSAGE, '')}{exception.get(F.EXCEPTION_TRACEBACK, '')}"
    return escape_block(text) != text


def formatted_line(fmt: logging.Formatter, record: logging.LogRecord, parts: Parts) -> str:
    """One console line by the user's own formatter: from the redacted parts,
    with control characters escaped as in our own lines."""
    shown = copy.copy(record)
    shown.msg = parts.message
    shown.args = None
    shown.exc_info = None
    exception = parts.exception
    shown.exc_text = exception.get(F.EXCEPTION_TRACEBACK) if exception is not None else None
    shown.stack_info = parts.stack_info
    return escape_block(fmt.format(shown).rstrip("\n")) + "\n"


class TextConsole(_Console):
    """Human lines, or JSON lines with ``json=True``, written once per batch."""

    def __init__(
        self,
        stream: IO[str],
        level: int,
        renderer: ConsoleRenderer | None,
        storms: Storms | None = None,
    ) -> None:
        super().__init__(level, storms)
        self._stream = stream
        self.renderer = renderer  # None: JSON lines
        self.needs_line = renderer is None
        self._pending: list[str] = []

    @property
    def stream(self) -> IO[str]:
        """The console handler's stream (``setStream`` on it redirects us too)."""
        gate = self.gate
        return gate.stream if isinstance(gate, logging.StreamHandler) else self._stream

    def add(self, record: logging.LogRecord, parts: Parts, line: bytes) -> None:
        self.added += 1
        if self.renderer is None:
            self._pending.append(line.decode("utf-8"))
        elif (fmt := self.user_formatter()) is not None:
            self._pending.append(formatted_line(fmt, record, parts))
        else:
            self._pending.append(self.renderer.render(record, parts))

    def flush(self) -> None:
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception:  # noqa: S110 - a closed or broken console must not stop the file
            pass


class HandlerConsole(_Console):
    """A stdlib handler as the console (rich's RichHandler), fed redacted copies."""

    def __init__(self, handler: logging.Handler, level: int, storms: Storms | None = None) -> None:
        super().__init__(level, storms)
        self.handler = handler

    def add(self, record: logging.LogRecord, parts: Parts, line: bytes) -> None:
        self.added += 1
        shown = copy.copy(record)
        # Escaped before rich sees it: rich strips only a few control characters,
        # and a logged string must not clear the screen or retitle the terminal.
        shown.msg = escape_block(parts.message)
        shown.args = None
        shown.name = escape_controls(str(record.name))
        exception = parts.exception
        if exception is not None and _has_controls(exception):
            # rich would render the live exception's own text: give it ours, escaped.
            shown.exc_info = None
            shown.exc_text = escape_block(str(exception.get(F.EXCEPTION_TRACEBACK, "")))
        try:
            self.handler.handle(shown)
        except Exception:  # noqa: S110 - the handler's own errors must not stop the file
            pass

    def flush(self) -> None:
        try:
            self.handler.flush()
        except Exception:  # noqa: S110
            pass


class OTLPSink:
    """Every record to an OpenTelemetry collector (the SDK batches and sends)."""

    level = 0
    needs_line = False

    def __init__(self, export: OTLPExport) -> None:
        self.export = export

    def wants(self, record: logging.LogRecord) -> bool:
        return True

    def add(self, record: logging.LogRecord, parts: Parts, line: bytes) -> None:
        try:
            self.export.emit(record, parts)
        except Exception:  # noqa: S110 - the collector must never cost us the file
            pass

    def flush(self) -> None:
        """Nothing to do per batch: the SDK's own thread sends (flush_logging waits)."""

    def close(self) -> None:
        self.export.close(F.OTLP_FLUSH_TIMEOUT_SECONDS)

    def shown(self) -> bool:
        return True
