"""The one pipeline: record -> document -> redaction -> file line and console line.

The synchronous handler calls :meth:`Pipeline.handle` with one record on the
caller's thread; the queue listener calls it with a batch on its own thread.
Nothing else differs between the two modes.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, Protocol, cast

from . import fields as F
from . import speedups
from .console import ConsoleRenderer
from .encode import line_of
from .files import RotatingJSONLWriter

if TYPE_CHECKING:
    from .otlp import OTLPExport
from .record import Parts, assemble, broken_record_document, record_parts
from .redact import Redactor


class ConsoleSink(Protocol):
    level: int

    def add(self, record: logging.LogRecord, parts: Parts, line: bytes) -> None:
        """Take one record (its redacted parts, and its JSON line if one was made)."""

    def flush(self) -> None:
        """Write what was added since the last flush."""


class TextConsole:
    """Human lines, or JSON lines with ``json=True``, written once per batch."""

    def __init__(self, stream: IO[str], level: int, renderer: ConsoleRenderer | None) -> None:
        self._stream = stream
        self.level = level
        self.renderer = renderer  # None: JSON lines
        self._pending: list[str] = []
        #: The stdlib handler other tools see as the console: its stream is ours
        #: (``setStream`` on it redirects these lines too).
        self.handler: logging.StreamHandler[IO[str]] | None = None

    @property
    def stream(self) -> IO[str]:
        return self.handler.stream if self.handler is not None else self._stream

    def add(self, record: logging.LogRecord, parts: Parts, line: bytes) -> None:
        if self.renderer is None:
            self._pending.append(line.decode("utf-8"))
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


class HandlerConsole:
    """A stdlib handler as the console (rich's RichHandler), fed redacted copies."""

    def __init__(self, handler: logging.Handler, level: int) -> None:
        self.handler = handler
        self.level = level

    def add(self, record: logging.LogRecord, parts: Parts, line: bytes) -> None:
        shown = copy.copy(record)
        shown.msg = parts.message
        shown.args = None
        try:
            self.handler.handle(shown)
        except Exception:  # noqa: S110 - the handler's own errors must not stop the file
            pass

    def flush(self) -> None:
        try:
            self.handler.flush()
        except Exception:  # noqa: S110
            pass


class Pipeline:
    """Formats and writes batches of records; never raises into its caller."""

    def __init__(
        self,
        *,
        writer: RotatingJSONLWriter | None,
        console: ConsoleSink | None,
        redactor: Redactor | None,
        identity: Mapping[str, object],
        max_record_bytes: int,
        otlp: OTLPExport | None = None,
    ) -> None:
        self.writer = writer
        self.console = console
        self.redactor = redactor
        self.identity = identity
        self.max_record_bytes = max_record_bytes
        self.otlp = otlp
        self._reported_export_drops = 0
        #: The console handler on the root logger (console_handler.py): while a
        #: tool such as tqdm or absl has taken it off, it prints and we don't.
        self.console_gate: logging.Handler | None = None
        # Reentrant: a value's __str__ that logs, in synchronous mode, re-enters here.
        self.lock = threading.RLock()
        self.console_written = 0
        self.closed = False
        self._plain_renderer = ConsoleRenderer(colors=False)
        # A JSON line is made only for the file or a JSON console.
        self.needs_line = writer is not None or (
            isinstance(console, TextConsole) and console.renderer is None
        )
        # Only a human console: one record needs no lists, no batch, no JSON.
        self.console_only: TextConsole | None = None
        if writer is None and otlp is None and isinstance(console, TextConsole):
            self.console_only = console if console.renderer is not None else None
        # The C hot path: file lines for records no console or collector sees.
        self._fast: speedups.Settings | None = None
        if writer is not None and otlp is None:
            console_level = console.level if console is not None else None
            self._fast = speedups.settings(identity, max_record_bytes, console_level, redactor)

    def handle(self, records: Sequence[logging.LogRecord]) -> None:
        if self.console_only is not None and len(records) == 1:
            self.console_line(records[0], self.console_only)  # the plain console, synchronously
            return
        with self.lock:
            fast = speedups.lines(records, self._fast) if self._fast is not None else None
            if fast is not None and None not in fast and self.writer is not None:
                self.writer.write(cast("list[bytes]", fast))  # no None in it
                return
            lines: list[bytes] = []
            console = self.console if self.console_shown() else None
            otlp = self.otlp
            for index, record in enumerate(records):
                if fast is not None and (known := fast[index]) is not None:
                    lines.append(known)  # below the console's level: the file only
                    continue
                parts, line = self._render(record)
                if line:
                    lines.append(line)
                if console is not None and record.levelno >= console.level:
                    try:
                        console.add(record, parts, line)
                    except Exception as exc:  # hostile content the renderer choked on
                        console.add(record, self._fallback(record, exc)[0], line)
                    self.console_written += 1
                if otlp is not None:
                    try:
                        otlp.emit(record, parts)
                    except Exception:  # noqa: S110 - the collector must never cost us the file
                        pass
            if otlp is not None and otlp.dropped > self._reported_export_drops:
                lines.append(self._export_drop_line(otlp))
            if self.writer is not None:
                self.writer.write(lines)
            if console is not None:
                console.flush()

    def console_line(
        self, record: logging.LogRecord, console: TextConsole, on_caller: bool = False
    ) -> None:
        """One record to a human console and nothing else: no lists, no batching.

        ``on_caller``: called synchronously from the logging call (see record_parts).
        """
        if record.levelno < console.level or not self.console_shown():
            return
        try:
            parts = record_parts(record, self.redactor, on_caller)
        except Exception as exc:
            parts, _ = self._fallback(record, exc)
        assert console.renderer is not None
        try:
            line = console.renderer.render(record, parts)
        except Exception as exc:  # hostile content the renderer choked on
            line = console.renderer.render(record, self._fallback(record, exc)[0])
        with self.lock:
            self.console_written += 1
            try:
                console.stream.write(line)
                console.stream.flush()
            except Exception:  # noqa: S110 - a closed or broken console
                pass

    def console_shown(self) -> bool:
        """Whether our console handler is still where we put it (on the root)."""
        gate = self.console_gate
        return gate is None or gate in logging.root.handlers

    def console_text(self, record: logging.LogRecord) -> str:
        """The console's text for one record, for the console handler's formatter."""
        parts, line = self._render(record)
        console = self.console
        if isinstance(console, TextConsole) and console.renderer is None:
            return (line or self._line_for(record, parts)).decode("utf-8").rstrip("\n")
        renderer = console.renderer if isinstance(console, TextConsole) else None
        if renderer is None:
            renderer = self._plain_renderer
        try:
            return renderer.render(record, parts).rstrip("\n")
        except Exception as exc:  # hostile content the renderer choked on
            return renderer.render(record, self._fallback(record, exc)[0]).rstrip("\n")

    def _line_for(self, record: logging.LogRecord, parts: Parts) -> bytes:
        return line_of(assemble(record, parts, self.identity), self.max_record_bytes)

    def flush(self) -> None:
        """Write what the console holds (the file is written as records come)."""
        with self.lock:
            if self.console is not None:
                self.console.flush()

    def _render(self, record: logging.LogRecord) -> tuple[Parts, bytes]:
        """The record's redacted parts, and its JSON line when a sink needs one."""
        try:
            parts = record_parts(record, self.redactor)
            if not self.needs_line:
                return parts, b""
            document = assemble(record, parts, self.identity)
            return parts, line_of(document, self.max_record_bytes)
        except Exception as exc:  # hostile extras (a mapping whose items() raises...)
            parts, document = self._fallback(record, exc)
            return parts, line_of(document, self.max_record_bytes)

    def _fallback(self, record: logging.LogRecord, exc: Exception) -> tuple[Parts, dict[str, Any]]:
        """A record that could not be rendered: its message and what went wrong."""
        document = broken_record_document(record, exc, self.redactor)
        parts = Parts(document[F.MESSAGE], {"log_error": document["log_error"]}, None, None)
        return parts, document

    def _export_drop_line(self, otlp: OTLPExport) -> bytes:
        """Drops on the way to the collector, reported in the file like the queue's."""
        count = otlp.dropped - self._reported_export_drops
        self._reported_export_drops = otlp.dropped
        record = logging.LogRecord(
            F.OWN_LOGGER, logging.WARNING, __file__, 0,
            "could not export %d log records to the OpenTelemetry collector", (count,), None,
            func="export",
        )  # fmt: skip
        record.otlp_dropped = count
        _, line = self._render(record)
        return line or b""

    @property
    def written(self) -> int:
        return self.writer.written if self.writer is not None else self.console_written

    @property
    def lost(self) -> int:
        return self.writer.errors.lost if self.writer is not None else 0

    def after_fork_in_child(self) -> None:
        self.lock = threading.RLock()
        if self.writer is not None:
            self.writer.after_fork_in_child()

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
            if self.console is not None:
                self.console.flush()
            otlp = self.otlp
            if otlp is not None:
                # First, so the export's last drops are known and reported in the file.
                otlp.close(F.OTLP_FLUSH_TIMEOUT_SECONDS)
                if otlp.dropped > self._reported_export_drops and self.writer is not None:
                    self.writer.write([self._export_drop_line(otlp)])
            if self.writer is not None:
                self.writer.close()
