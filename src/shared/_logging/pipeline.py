"""The one pipeline: record -> redacted parts and JSON line -> each sink (sinks.py).

The synchronous handler calls :meth:`Pipeline.handle` with one record on the
caller's thread; the queue listener calls it with a batch on its own thread.
Nothing else differs between the two modes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from . import fields as F
from . import speedups
from .console import ConsoleRenderer
from .encode import line_of
from .files import RotatingJSONLWriter
from .record import Parts, assemble, broken_record_document, record_parts
from .redact import Redactor
from .sinks import FileSink, HandlerConsole, OTLPSink, Sink, TextConsole, formatted_line

if TYPE_CHECKING:
    from .otlp import OTLPExport


class Pipeline:
    """Renders batches of records once and hands them to its sinks; never raises
    into its caller."""

    def __init__(
        self,
        *,
        writer: RotatingJSONLWriter | None,
        console: TextConsole | HandlerConsole | None,
        redactor: Redactor | None,
        identity: Mapping[str, object],
        max_record_bytes: int,
        otlp: OTLPExport | None = None,
    ) -> None:
        self.redactor = redactor
        self.identity = identity
        self.max_record_bytes = max_record_bytes
        self.file = FileSink(writer) if writer is not None else None
        self.console = console
        self.otlp = otlp
        self.sinks: list[Sink] = [
            s for s in (self.file, console, OTLPSink(otlp) if otlp else None) if s is not None
        ]
        self._reported_export_drops = 0
        #: Queue mode: whether the console prints a record was decided when it was
        #: logged (the CONSOLE_TAKEN mark), not when it is written.
        self.console_decided_at_call = False
        #: Set at exit (atexit): from then on the lock is waited for with a deadline.
        self.exiting = False
        # Reentrant: a value's __str__ that logs, in synchronous mode, re-enters here.
        self.lock = threading.RLock()
        self.closed = False
        self._plain_renderer = ConsoleRenderer(colors=False)
        # A JSON line is made only for a sink that reads it.
        self.needs_line = any(sink.needs_line for sink in self.sinks)
        # Only a human console: one record needs no lists, no batch, no JSON.
        self.console_only: TextConsole | None = None
        if self.sinks == [console] and isinstance(console, TextConsole) and console.renderer:
            self.console_only = console
        # The C hot path: file lines for records that no other sink sees.
        self._fast: speedups.Settings | None = None
        if writer is not None and otlp is None:
            console_level = console.level if console is not None else None
            self._fast = speedups.settings(identity, max_record_bytes, console_level, redactor)

    def handle_one(self, record: logging.LogRecord) -> None:
        """The synchronous path: one record, straight to the file's unlocked append
        when C renders it and no other sink sees it; else :meth:`handle`."""
        fast = self._fast
        if fast is not None and self.file is not None:
            found = speedups.lines((record,), fast)
            if found is not None and (line := found[0]) is not None:
                if not self._take_lock(1):
                    return
                try:
                    self.file.writer.write_line(line)
                finally:
                    self.lock.release()
                return
        self.handle((record,))

    def _take_lock(self, records: int = 0) -> bool:
        """The pipeline's lock. Once the process is exiting, for at most
        EXIT_LOCK_SECONDS: a daemon thread frozen mid-call by interpreter shutdown
        holds it for ever, and exit must still finish. ``records`` that could not
        wait are counted as lost."""
        if not self.exiting:
            self.lock.acquire()
            return True
        if self.lock.acquire(timeout=F.EXIT_LOCK_SECONDS):
            return True
        if self.file is not None:
            self.file.writer.errors.lost += records
        return False

    def handle(self, records: Sequence[logging.LogRecord]) -> None:
        if self.console_only is not None and len(records) == 1:
            self.console_line(records[0], self.console_only)  # the plain console, synchronously
            return
        if not self._take_lock(len(records)):
            return
        try:
            self._handle_locked(records)
        finally:
            self.lock.release()

    def _handle_locked(self, records: Sequence[logging.LogRecord]) -> None:
        file = self.file
        fast = speedups.lines(records, self._fast) if self._fast is not None else None
        if fast is not None and file is not None and None not in fast:
            file.add_lines(cast("list[bytes]", fast))
            file.flush()
            return
        at_call = self.console_decided_at_call
        sinks = [sink for sink in self.sinks if at_call or sink.shown()]
        console = self.console
        for index, record in enumerate(records):
            if fast is not None and file is not None and (known := fast[index]) is not None:
                file.add_line(known)  # below every other sink's level
                continue
            parts, line = self._render(record)
            # Printed by a tool that held our console, or meant for the file only.
            taken = F.CONSOLE_TAKEN in record.__dict__
            for sink in sinks:
                if (not taken or sink is not console) and sink.wants(record):
                    self._add(sink, record, parts, line)
        report = self._export_drops_line()
        if report and file is not None:
            file.add_line(report)
        self._add_summaries()
        for sink in sinks:
            sink.flush()

    def _add(self, sink: Sink, record: logging.LogRecord, parts: Parts, line: bytes) -> None:
        try:
            sink.add(record, parts, line)
        except Exception as exc:  # hostile content the sink's renderer choked on
            try:
                sink.add(record, self._fallback(record, exc)[0], line)
            except Exception:  # noqa: S110 - one sink's trouble must not stop the others
                pass

    def console_line(
        self, record: logging.LogRecord, console: TextConsole, on_caller: bool = False
    ) -> None:
        """One record to a human console and nothing else: no lists, no batching.

        ``on_caller``: called synchronously from the logging call (see record_parts).
        """
        if not console.shown():
            return
        with self.lock:
            wanted = console.wants(record)
            summaries = console.storms.summaries() if console.storms is not None else []
        if not wanted and not summaries:
            return
        text = "".join(self._console_text(r, console, on_caller) for r in summaries)
        if wanted:
            text += self._console_text(record, console, on_caller)
        with self.lock:
            console.added += 1 if wanted else 0
            try:
                console.stream.write(text)
                console.stream.flush()
            except Exception:  # noqa: S110 - a closed or broken console
                pass

    def _console_text(
        self, record: logging.LogRecord, console: TextConsole, on_caller: bool
    ) -> str:
        try:
            parts = record_parts(record, self.redactor, on_caller)
        except Exception as exc:
            parts, _ = self._fallback(record, exc)
        assert console.renderer is not None
        try:
            fmt = console.user_formatter()
            if fmt is not None:
                return formatted_line(fmt, record, parts)
            return console.renderer.render(record, parts)
        except Exception as exc:  # hostile content the renderer choked on
            return console.renderer.render(record, self._fallback(record, exc)[0])

    def _add_summaries(self, final: bool = False) -> None:
        """Storm summaries of windows that ended (all of them when ``final``) to the
        console; the caller holds the lock and flushes."""
        console = self.console
        if console is None or console.storms is None:
            return
        for summary in console.storms.summaries(final):
            parts, line = self._render(summary)
            self._add(console, summary, parts, line)

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

    def summary_due_in(self) -> float | None:
        """Seconds until the console owes a storm summary (None: it owes none)."""
        console = self.console
        if console is None or console.storms is None:
            return None
        return console.storms.due_in()

    def flush(self, final: bool = False) -> None:
        """Write what the console holds, storm summaries of ended windows included
        (of every window with ``final``: at exit); the file is written as records come."""
        if not self._take_lock():
            return
        try:
            if self.console is not None and self.console.shown():
                self._add_summaries(final)
                self.console.flush()
        finally:
            self.lock.release()

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

    def _export_drops_line(self) -> bytes:
        """Drops on the way to the collector since the last report, reported in the
        file like the queue's (b"" when there are none)."""
        otlp = self.otlp
        if otlp is None or otlp.dropped <= self._reported_export_drops:
            return b""
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
    def writer(self) -> RotatingJSONLWriter | None:
        return self.file.writer if self.file is not None else None

    @property
    def written(self) -> int:
        if self.file is not None:
            return self.file.writer.written
        return self.console.added if self.console is not None else 0

    @property
    def lost(self) -> int:
        return self.file.writer.errors.lost if self.file is not None else 0

    def after_fork_in_child(self) -> None:
        self.lock = threading.RLock()
        if self.file is not None:
            self.file.writer.after_fork_in_child()

    def close(self) -> None:
        """Close every sink; the file last, after the collector's final drops are
        known and reported in it."""
        if not self._take_lock():
            return
        try:
            self._close_locked()
        finally:
            self.lock.release()

    def _close_locked(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.console is not None and self.console.shown():
            self._add_summaries(final=True)  # a storm that was still going on
        for sink in self.sinks:
            if sink is not self.file:
                sink.close()
        if self.file is not None:
            report = self._export_drops_line()
            if report:
                self.file.add_line(report)
            self.file.close()
