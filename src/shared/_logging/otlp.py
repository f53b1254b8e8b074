"""Every record that reaches the file also goes to an OpenTelemetry collector.

Imported only when ``setup_logging(otlp_endpoint=...)`` is used; needs the
``[otlp]`` extra (opentelemetry-sdk and the OTLP/HTTP exporter). Records are
handed to the SDK's batch processor, which exports them on its own thread, so
a collector that is down or slow never blocks the caller or our file writer.

What the SDK does not do for us, and we do here:

* bound what is in flight and count what is dropped (its queue silently drops
  the oldest record when full);
* keep its own log records, and urllib3's, out of the export (a feedback loop);
* bound flush and shutdown: ``force_flush`` ignores its timeout, and a helper
  thread is no way out (Python 3.12+ refuses new threads at exit), so flush and
  close set a deadline past which our exporter fails batches at once, counting
  them as dropped;
* shut down after our queue drained, not at its own exit hook
  (``shutdown_on_exit=False``), which would run before our drain.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from . import fields as F
from .record import Parts

#: Records handed to the SDK and not yet exported (or failed) at most.
MAX_IN_FLIGHT: Final = 8192
EXPORT_BATCH: Final = 512
SCHEDULE_DELAY_MILLIS: Final = 500
#: Per export request: a dead or slow collector costs the SDK thread this long.
EXPORT_TIMEOUT_SECONDS: Final = 3.0
#: Loggers whose records would feed back into the export itself.
_NOT_EXPORTED: Final = ("opentelemetry", "urllib3", "requests", "shared.logging")

_INSTALL = "pip install 'shared-logging[otlp]'"


def logs_url(endpoint: str) -> str:
    """``http://collector:4318`` -> ``http://collector:4318/v1/logs`` (a full URL is kept)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/logs") else f"{endpoint}/v1/logs"


def default_service_name() -> str:
    """The script's name, as OpenTelemetry's own default would say ``unknown_service``."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] not in ("", "-c", "-m") else ""
    return Path(argv0).stem or "python"


def severity_number(levelno: int) -> int:
    """stdlib level -> OTLP SeverityNumber (DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21)."""
    if levelno >= logging.CRITICAL:
        return 21
    if levelno >= logging.ERROR:
        return 17
    if levelno >= logging.WARNING:
        return 13
    if levelno >= logging.INFO:
        return 9
    if levelno >= logging.DEBUG:
        return 5
    return 1


_PRIMITIVES: Final = (str, bool, int, float)


def attribute_value(value: object) -> Any:
    """A value OTLP attributes accept: a primitive or a homogeneous list of them."""
    if isinstance(value, bool | float | str):
        return value
    if isinstance(value, int):
        return value if -(1 << 63) <= value < (1 << 63) else str(value)
    if isinstance(value, list | tuple) and value:
        kinds = {type(v) for v in value}
        if len(kinds) == 1 and kinds.pop() in _PRIMITIVES:
            return list(value)
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except Exception:
        return repr(value)


def flatten(fields: Mapping[str, object], prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """Nested mappings become dotted keys (``headers.host``); None values are left out."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and depth < 4:
            out.update(flatten(value, f"{name}.", depth + 1))
        elif value is not None:
            out[name] = attribute_value(value)
    return out


class OTLPExport:
    """One configuration's link to a collector."""

    def __init__(
        self,
        endpoint: str,
        service_name: str | None,
        headers: Mapping[str, str] | None,
        identity: Mapping[str, object],
    ) -> None:
        try:
            from opentelemetry.exporter.otlp.proto.http._log_exporter import (  # noqa: PLC0415
                OTLPLogExporter,
            )
            from opentelemetry.sdk._logs import LoggerProvider  # noqa: PLC0415
            from opentelemetry.sdk._logs.export import BatchLogRecordProcessor  # noqa: PLC0415
            from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
        except ImportError:
            raise ImportError(
                f"otlp_endpoint needs the OpenTelemetry SDK; install it with {_INSTALL}"
            ) from None
        resource: dict[str, Any] = {
            "service.name": service_name or default_service_name(),
            "host.name": identity.get(F.HOSTNAME, socket.gethostname()),
            "process.pid": _pid(),
        }
        for key in (F.RANK, F.LOCAL_RANK, F.WORLD_SIZE):
            if key in identity:
                resource[key] = identity[key]
        self.exported = 0
        self.failed = 0
        self.overflowed = 0
        self.emitted = 0
        self._lock = threading.Lock()
        exporter = _counting_exporter(
            OTLPLogExporter(
                endpoint=logs_url(endpoint),
                headers=dict(headers or {}),
                timeout=EXPORT_TIMEOUT_SECONDS,
            ),
            self,
        )
        self._provider = LoggerProvider(resource=Resource.create(resource), shutdown_on_exit=False)
        self._provider.add_log_record_processor(
            BatchLogRecordProcessor(
                exporter,
                max_queue_size=MAX_IN_FLIGHT,
                max_export_batch_size=EXPORT_BATCH,
                schedule_delay_millis=SCHEDULE_DELAY_MILLIS,
            )
        )
        self._loggers: dict[str, Any] = {}
        self._closed = False
        #: monotonic time after which exports fail at once (during a flush or close)
        self.deadline: float | None = None

    # --- emitting (our writer thread, or the caller in synchronous mode) ----------------

    def emit(self, record: logging.LogRecord, parts: Parts) -> None:
        if self._closed or record.name.startswith(_NOT_EXPORTED):
            return
        with self._lock:
            in_flight = self.emitted - self.exported - self.failed - self.overflowed
            if in_flight >= MAX_IN_FLIGHT:  # count it, instead of the SDK dropping silently
                self.overflowed += 1
                self.emitted += 1
                return
            self.emitted += 1
        attributes = flatten(parts.fields)
        attributes["code.function.name"] = record.funcName
        attributes["code.line.number"] = record.lineno
        attributes["code.file.path"] = record.pathname
        attributes["thread.name"] = record.threadName or ""
        if parts.exception is not None:
            attributes["exception.type"] = parts.exception.get(F.EXCEPTION_TYPE, "")
            attributes["exception.message"] = parts.exception.get(F.EXCEPTION_MESSAGE, "")
            attributes["exception.stacktrace"] = parts.exception.get(F.EXCEPTION_TRACEBACK, "")
        logger = self._loggers.get(record.name)
        if logger is None:  # the logger name is the instrumentation scope
            logger = self._loggers[record.name] = self._provider.get_logger(record.name)
        logger.emit(
            timestamp=int(record.created * 1e9),
            severity_number=_severity(severity_number(record.levelno)),
            severity_text=record.levelname,
            body=parts.message,
            attributes=attributes,
        )

    # --- flushing, bounded ---------------------------------------------------------------

    def flush(self, timeout: float) -> bool:
        """Export what is in flight; batches still waiting after ``timeout`` are dropped."""
        if self._closed:
            return True
        self.deadline = time.monotonic() + timeout
        try:
            return bool(self._provider.force_flush())
        except Exception:
            return False
        finally:
            self.deadline = None

    def close(self, timeout: float) -> None:
        """Flush within ``timeout`` and stop the SDK's thread."""
        if self._closed:
            return
        self._closed = True
        self.deadline = time.monotonic() + timeout
        try:
            self._provider.shutdown()
        except Exception:  # noqa: S110 - nothing more to deliver to
            pass

    @property
    def dropped(self) -> int:
        return self.failed + self.overflowed


def _pid() -> int:
    import os  # noqa: PLC0415

    return os.getpid()


def _severity(number: int) -> Any:
    from opentelemetry._logs import SeverityNumber  # noqa: PLC0415

    return SeverityNumber(number)


def _counting_exporter(inner: Any, owner: OTLPExport) -> Any:
    """Wraps the OTLP exporter to count exported and failed records."""
    from opentelemetry.sdk._logs.export import (  # noqa: PLC0415
        LogRecordExporter,
        LogRecordExportResult,
    )

    class CountingExporter(LogRecordExporter):
        def export(self, batch: Any) -> Any:
            deadline = owner.deadline
            if deadline is not None and time.monotonic() > deadline:
                result = LogRecordExportResult.FAILURE  # out of time: drop, counted
            else:
                try:
                    result = inner.export(batch)
                except Exception:
                    result = LogRecordExportResult.FAILURE
            with owner._lock:
                if result == LogRecordExportResult.SUCCESS:
                    owner.exported += len(batch)
                else:
                    owner.failed += len(batch)
            return result

        def shutdown(self) -> None:
            inner.shutdown()

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return bool(inner.force_flush(timeout_millis))

    return CountingExporter()
