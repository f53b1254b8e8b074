"""Queue mode in three parts, as stdlib's ``logging.handlers`` splits it:

* :class:`BoundedBuffer`, the records between callers and writer, with the
  bound and the overflow policy;
* :class:`BoundedQueueHandler`, the caller's side (``prepare``/``enqueue``):
  capture the record, append it (no lock on the fast path: ``deque.append`` and
  ``len`` are atomic under the GIL), and wake the writer only when it is idle;
* :class:`Listener`, the one writer thread (``dequeue``, then the pipeline),
  which takes batches.

What stdlib's QueueHandler/QueueListener does differently, and why we don't:

* ``prepare()`` formats and copies every record on the caller (≈3 µs); we
  only render the message and take the context.
* a full ``queue.Queue`` makes ``put_nowait`` call ``handleError`` for every
  record; we block for room (``overflow="block"``) or count the drop and
  report it as one WARNING record with an integer ``dropped`` field.
* the wake-up is a byte on a pipe, not a ``threading.Event``: writing to a pipe
  takes no lock, so the SIGTERM handler can wake the writer even when it
  interrupted the main thread inside our own code.
* flushing waits on a fresh lock with a deadline and never joins a thread
  (a signal handler that joins can deadlock: it may have interrupted the thread it joins).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import select
import signal
import threading
import time
from collections import deque
from typing import Any

from . import fields as F
from .pipeline import Pipeline
from .record import capture, drop_presentation_extras

_get_ident = threading.get_ident  # read on every queued record
_root = logging.root  # dictConfig and tqdm replace its handlers, never the logger
_CONSOLE_TAKEN = F.CONSOLE_TAKEN
_MESSAGE = F.CAPTURED_MESSAGE
_EXCEPTION = F.CAPTURED_EXCEPTION
_LARGE = F.LARGE_RECORD_BYTES

# Delivered to the main thread only: a background thread must not be the one
# whose system call a SIGTERM/SIGINT interrupts while the main thread waits.
_ASYNC_SIGNALS = {
    signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
    signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM, signal.SIGCHLD,
}  # fmt: skip


def start_thread_without_signals(thread: threading.Thread) -> None:
    """Start ``thread`` with asynchronous signals blocked (it inherits our mask)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _ASYNC_SIGNALS)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def flush_export(pipeline: Pipeline, timeout: float) -> bool:
    """After the file: export what the collector has not received yet (bounded)."""
    if pipeline.otlp is None:
        return True
    return pipeline.otlp.flush(min(timeout, F.OTLP_FLUSH_TIMEOUT_SECONDS))


def _writer_failed(count: int, exc: Exception) -> None:
    from .files import notice  # noqa: PLC0415 - only on this path

    notice(f"lost {count} records to an internal error ({type(exc).__name__}: {exc!r:.200}); "
            "the writer goes on")  # fmt: skip


class RefusesFormatterMixin:
    """Our record handlers write a fixed JSONL schema (and the console through its
    own handler): a formatter set on them would be ignored, so it is refused."""

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        if fmt is None:
            return
        raise TypeError(
            f"{type(self).__name__} writes shared-logging's JSONL schema and cannot use "
            f"the formatter {fmt!r}; format the console with setFormatter() on its "
            "ConsoleHandler, or pass console_json=True to setup_logging()"
        )


class NoLockHandleMixin:
    """``Handler.handle`` without the handler lock: the pipeline has its own."""

    def handle(self, record: logging.LogRecord) -> Any:
        if self.filters:  # type: ignore[attr-defined]
            result = self.filter(record)  # type: ignore[attr-defined]
            if not result:
                return False
            if isinstance(result, logging.LogRecord):  # 3.12+: a filter may swap the record
                record = result
        self.emit(record)  # type: ignore[attr-defined]
        return record


class PipelineHandler(RefusesFormatterMixin, NoLockHandleMixin, logging.Handler):
    """Synchronous mode: the whole pipeline runs on the caller's thread."""

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__()
        self.pipeline = pipeline

    def emit(self, record: logging.LogRecord) -> None:
        try:
            console = self.pipeline.console_only
            if console is not None:
                # On the caller's thread, at once: nothing to freeze for later.
                drop_presentation_extras(record.__dict__)
                self.pipeline.console_line(record, console, on_caller=True)
            else:
                capture(record)
                self.pipeline.handle_one(record)
        except Exception:
            self.handleError(record)

    def stats(self) -> tuple[int, int, int]:
        return self.pipeline.written, 0, self.pipeline.lost

    def start(self) -> None:
        """Nothing to start: there is no writer thread."""

    def flush_records(self, timeout: float) -> bool:
        """Every record is on disk when its call returns; only the collector may lag."""
        return flush_export(self.pipeline, timeout)

    def stop(self, timeout: float) -> bool:
        return True

    def after_fork_in_child(self) -> None:
        self.pipeline.after_fork_in_child()

    def close(self) -> None:
        """What other code's ``close()`` (dictConfig, ``logging.shutdown()``) does:
        nothing to lose, so nothing ends: only :meth:`shutdown` ends this handler,
        as a stdlib FileHandler reopens on the next record after ``close()``."""
        self.flush()

    def flush(self) -> None:
        self.pipeline.flush()

    def shutdown(self) -> None:
        """The end of this configuration (shutdown_logging): close the file."""
        self.pipeline.close()
        logging.Handler.close(self)


class BoundedBuffer:
    """The records between the callers and the writer: a deque with a bound and
    the overflow policy (wait for room, or count the drop).

    ``deque.append``, ``popleft`` and ``len`` are atomic under the GIL, so the
    callers' fast path takes no lock; the locks here serve only a full buffer.
    """

    def __init__(self, size: int, block: bool, max_bytes: int = F.DEFAULT_QUEUE_BYTES) -> None:
        self.records: deque[logging.LogRecord] = deque()
        self.size = size
        self.block = block
        self.dropped = 0
        #: The byte budget: large records (LARGE_RECORD_BYTES and up, by their
        #: message and traceback) held at once may not pass it.
        self.max_bytes = max_bytes
        #: Bytes of the large records held now (small ones are bounded by ``size``).
        self.large_bytes = 0
        self._init_locks()

    def _init_locks(self) -> None:
        self._drop_lock = threading.Lock()
        self._bytes_lock = threading.Lock()
        self._room = threading.Condition(threading.Lock())
        self._waiting = 0
        self._unreported_drops = 0
        self.large_bytes = 0

    def full(self) -> bool:
        return len(self.records) >= self.size or self.large_bytes > self.max_bytes

    def weigh(self, record: logging.LogRecord) -> int:
        """The bytes a record's message and traceback hold, if that makes it large
        (else 0). Large ones are counted until the writer takes them."""
        state = record.__dict__
        message = state.get(F.CAPTURED_MESSAGE)
        weight = len(message) if type(message) is str else 0
        exception = state.get(F.CAPTURED_EXCEPTION)
        if exception is not None:
            weight += len(exception.get(F.EXCEPTION_TRACEBACK, ""))
        if weight < F.LARGE_RECORD_BYTES:
            return 0
        state[F.QUEUED_BYTES] = weight
        return weight

    def hold(self, weight: int) -> None:
        with self._bytes_lock:
            self.large_bytes += weight

    def take(self, limit: int) -> list[logging.LogRecord]:
        records = self.records
        taken = [records.popleft() for _ in range(min(len(records), limit))]
        if self.large_bytes:
            released = sum(r.__dict__.pop(F.QUEUED_BYTES, 0) for r in taken)
            if released:
                with self._bytes_lock:
                    self.large_bytes -= released
        return taken

    def wait_for_room(self, listener: Listener) -> bool:
        """On a full buffer: True once there is room, False if the record is dropped."""
        if not self.block:
            with self._drop_lock:
                self.dropped += 1
                self._unreported_drops += 1
            # Step off the GIL for a moment: with many callers the writer would
            # otherwise rarely get it, and the drop rate would measure GIL
            # contention, not the disk. A dropped call costs its caller this much.
            listener.wake()
            time.sleep(F.DROP_YIELD_SECONDS)
            return False
        listener.wake()
        with self._room:
            self._waiting += 1
            try:
                while self.full() and listener.running:
                    self._room.wait(0.05)  # a deadline, in case the writer died
            finally:
                self._waiting -= 1
        return True

    def waiting_for_room(self) -> bool:
        return self._waiting > 0

    def room_made(self) -> None:
        if self._waiting:
            with self._room:
                self._room.notify_all()

    def take_unreported_drops(self) -> int:
        if not self._unreported_drops:
            return 0
        with self._drop_lock:
            count, self._unreported_drops = self._unreported_drops, 0
        return count

    def after_fork_in_child(self) -> None:
        """The parent writes what it queued; no other thread holds these locks here."""
        self.records.clear()
        self._init_locks()


class Listener:
    """The one writer thread: takes batches off the buffer and runs the pipeline."""

    def __init__(self, handler: BoundedQueueHandler) -> None:
        self.handler = handler
        self.buffer = handler.buffer
        self.running = False
        self.idle = False
        self.ident: int | None = None
        self.pending: list[logging.LogRecord] = []  # records the writer thread logged itself
        self._stopping = False
        self._flush_waiters: list[threading.Lock] = []
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
        self._thread = threading.Thread(target=self._run, name="shared-logging-writer", daemon=True)

    def start(self) -> None:
        self.running = True
        start_thread_without_signals(self._thread)

    def wake(self) -> None:
        try:
            os.write(self._wake_write, b"\0")
        except OSError:  # pipe full (it will wake anyway) or already closed
            pass

    def _run(self) -> None:
        self.ident = threading.get_ident()
        records = self.buffer.records
        try:
            while True:
                if records and not self.pending:
                    self._linger(records)
                batch = self.dequeue()
                if batch:
                    self.buffer.room_made()
                    try:
                        self._write(batch, records)
                    except Exception as exc:  # a bug must cost this batch, not the thread
                        _writer_failed(len(batch), exc)
                    self.handler.report_drops()
                    continue
                self._release_flush_waiters()
                if self._stopping:
                    break
                self.idle = True
                if not records and not self._stopping:
                    self._sleep_until_woken()
                self.idle = False
        finally:
            self.running = False
            # Anything a caller appended while we stopped is written by it or by us.
            self.handler.drain_synchronously()
            self._release_flush_waiters()
            self.buffer.room_made()

    def _sleep_until_woken(self) -> None:
        """Wait for a caller's wake-up; or, when a storm summary falls due first
        (a window that left records out has ended), print it, even if nothing
        else is logged: a storm that stops still gets its last summary now."""
        pipeline = self.handler.pipeline
        due = pipeline.summary_due_in()
        if due is None:
            os.read(self._wake_read, 4096)
            return
        ready, _, _ = select.select([self._wake_read], [], [], due)
        if ready:
            os.read(self._wake_read, 4096)
        else:
            try:
                pipeline.flush()  # adds the summaries of the windows that ended
            except Exception as exc:  # the console's trouble must not stop the writer
                _writer_failed(0, exc)

    def dequeue(self) -> list[logging.LogRecord]:
        """The next batch: the records logged on this thread since the last batch
        first (they were logged while the batch before this one was written),
        then up to MAX_BATCH from the queue."""
        batch, self.pending = self.pending, []
        batch += self.buffer.take(F.MAX_BATCH)
        return batch

    def _write(self, batch: list[logging.LogRecord], records: deque[logging.LogRecord]) -> None:
        """Write in chunks, and between chunks step off the GIL while callers are active.

        A CPU-bound thread keeps the GIL for the whole switch interval (5 ms) once
        another thread asks for it; a short real sleep hands it over at once, so a
        caller waits at most one chunk, not 5 ms. ``sleep(0)`` would not: it need
        not hand the GIL to the waiting thread.
        """
        handler = self.handler
        pipeline = handler.pipeline
        chunk = F.WRITER_CHUNK
        for start in range(0, len(batch), chunk):
            pipeline.handle(batch[start : start + chunk])
            # Not while callers wait for room: they need us, not the GIL, and the
            # sleep would be time in which no thread runs.
            if records and not self.buffer.waiting_for_room() and start + chunk < len(batch):
                time.sleep(F.WRITER_YIELD_SECONDS)

    def _linger(self, records: deque[logging.LogRecord]) -> None:
        """Wait while callers are still adding records and the queue has room.

        With one GIL, every moment the writer formats is a moment an event loop
        that is logging a burst cannot run. So while the queue keeps growing and
        is under half full, step aside in short sleeps (which release the GIL);
        a lone record waits one step, a burst is written in one large batch when
        it ends. A flush, a stop or a half-full queue ends the wait at once.
        """
        high_water = self.buffer.size // 2
        deadline = time.monotonic() + F.MAX_LINGER_SECONDS
        seen = len(records)
        while seen < high_water and not self._stopping and not self._flush_waiters:
            time.sleep(F.LINGER_STEP_SECONDS)
            now = len(records)
            if now == seen or time.monotonic() >= deadline:
                return
            seen = now

    def _release_flush_waiters(self) -> None:
        waiters, self._flush_waiters = self._flush_waiters, []
        for waiter in waiters:
            waiter.release()

    def flush(self, timeout: float, stop: bool = False) -> bool:
        """Wait until everything queued before this call is written (or ``timeout``)."""
        if stop:
            self._stopping = True
        if not self.running or threading.get_ident() == self.ident:
            return not self.running
        done = threading.Lock()  # fresh: no code we may have interrupted can hold it
        done.acquire()
        self._flush_waiters.append(done)
        self.wake()
        return done.acquire(timeout=timeout)

    def close_pipe(self) -> None:
        """Close the wake-up pipe once: a descriptor number closed twice may by
        then belong to a file the application opened."""
        fds, self._wake_read, self._wake_write = (self._wake_read, self._wake_write), -1, -1
        for fd in fds:
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass


class BoundedQueueHandler(RefusesFormatterMixin, NoLockHandleMixin, logging.handlers.QueueHandler):
    """Queue mode: capture on the caller, format and write on the listener."""

    def __init__(
        self,
        pipeline: Pipeline,
        queue_size: int,
        overflow: str,
        queue_bytes: int = F.DEFAULT_QUEUE_BYTES,
    ) -> None:
        self.buffer = BoundedBuffer(queue_size, block=overflow == "block", max_bytes=queue_bytes)
        #: The buffer's deque, bound here too: the callers' path reads it on every record.
        self.records = self.buffer.records
        super().__init__(self.records)  # type: ignore[arg-type]
        self.pipeline = pipeline
        self.queue_size = queue_size
        self.listener: Listener = Listener(self)
        #: Our console handler on the root logger (console_handler.py), if any.
        self.console_gate: logging.Handler | None = None
        # Who prints a record is decided at the call (see _mark_console).
        pipeline.console_decided_at_call = True

    # --- the caller's side ------------------------------------------------------------

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        capture(record)
        return record

    def handle(self, record: logging.LogRecord) -> Any:
        """The caller's whole cost: filters, capture, one append (no handler lock)."""
        if self.filters:
            return super().handle(record)
        try:
            capture(record)
            # A tool that holds our console now (tqdm's redirect) prints this
            # record itself: marked, the writer does not print it again later,
            # after the tool has given the console back.
            gate = self.console_gate
            if gate is not None and gate not in _root.handlers:
                record.__dict__[_CONSOLE_TAKEN] = True
            self.enqueue(record)
        except Exception:
            self.handleError(record)
        return record

    def emit(self, record: logging.LogRecord) -> None:
        try:
            capture(record)
            gate = self.console_gate
            if gate is not None and gate not in _root.handlers:
                record.__dict__[_CONSOLE_TAKEN] = True
            self.enqueue(record)
        except Exception:
            self.handleError(record)

    def enqueue(self, record: logging.LogRecord) -> None:
        records = self.records
        listener = self.listener
        buffer = self.buffer
        state = record.__dict__
        message = state.get(_MESSAGE)
        weight = 0
        if _EXCEPTION in state or (type(message) is str and len(message) >= _LARGE):
            weight = buffer.weigh(record)  # a large record: counted in the byte budget
        if len(records) >= self.queue_size or not listener.running or buffer.large_bytes:
            if not listener.running:  # stopped at exit, or in a forked child: write now
                self.pipeline.handle((record,))
                return
            if (
                buffer.full()
                and listener.ident != _get_ident()
                and not buffer.wait_for_room(listener)
            ):
                return  # dropped (overflow="drop"), counted
        if listener.ident == _get_ident():
            self._from_writer_thread(record)
            return
        if weight:
            buffer.hold(weight)
        records.append(record)
        if listener.idle:
            listener.wake()
        if not listener.running:  # it stopped between our check and the append
            self.drain_synchronously()

    def _from_writer_thread(self, record: logging.LogRecord) -> None:
        # Code the writer runs logged this (a console stream that logs, an
        # exporter's own warnings). The writer cannot wait for room that only it
        # makes, and dropping would lose records the "block" policy promises to
        # keep: it goes first into the next batch, whatever the queue holds.
        self.listener.pending.append(record)

    # --- the writer's side -------------------------------------------------------------

    def report_drops(self) -> None:
        """The drops since the last report, as one WARNING record (writer's side)."""
        count = self.buffer.take_unreported_drops()
        if not count:
            return
        record = logging.LogRecord(
            F.OWN_LOGGER, logging.WARNING, __file__, 0,
            "dropped %d log records: the queue was full (queue_size=%d, overflow='drop')",
            (count, self.queue_size), None, func="report_drops",
        )  # fmt: skip
        record.dropped = count
        capture(record)
        self.pipeline.handle((record,))

    def drain_synchronously(self) -> None:
        listener = self.listener
        while self.records or listener.pending:
            self.pipeline.handle(listener.dequeue())
        self.report_drops()

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self.listener.start()

    def flush_records(self, timeout: float) -> bool:
        flushed = self.listener.flush(timeout)
        return flush_export(self.pipeline, timeout) and flushed

    def stop(self, timeout: float) -> bool:
        return self.listener.flush(timeout, stop=True)

    def stats(self) -> tuple[int, int, int]:
        return self.pipeline.written, self.buffer.dropped, self.pipeline.lost

    def after_fork_in_child(self) -> None:
        """The child has no writer thread: it writes synchronously from now on.
        A child can end by os._exit or SIGTERM at any moment, and synchronous
        writes are the only way its last records are not lost."""
        self.buffer.after_fork_in_child()
        self.listener.close_pipe()
        self.listener = Listener(self)  # never started: running is False
        self.pipeline.after_fork_in_child()

    def close(self) -> None:
        """What other code's ``close()`` (dictConfig, ``logging.shutdown()``,
        ``basicConfig(force=True)``) does: write out what is queued and go on.
        The writer keeps running, so records logged afterwards are not lost;
        only :meth:`shutdown` (shutdown_logging, exit) ends this handler."""
        self.flush()

    def flush(self) -> None:
        self.flush_records(F.FLUSH_TIMEOUT_SECONDS)

    def shutdown(self) -> None:
        """The end of this configuration: drain, stop the writer, close the file."""
        self.stop(F.FLUSH_TIMEOUT_SECONDS)
        self.pipeline.close()
        self.listener.close_pipe()
        logging.Handler.close(self)
