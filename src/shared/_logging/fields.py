"""The one source of truth for defaults, level names and JSONL field names."""

from __future__ import annotations

import logging
from typing import Final

DEFAULT_LEVEL: Final = "INFO"
DEFAULT_MAX_LOG_BYTES: Final = 100_000_000
DEFAULT_BACKUP_COUNT: Final = 5
DEFAULT_QUEUE_SIZE: Final = 10_000
#: The queue's byte budget for large records (see LARGE_RECORD_BYTES); small
#: ones are bounded by the queue's size: 10,000 x 4 KiB at most.
DEFAULT_QUEUE_BYTES: Final = 64 << 20
#: A record whose message and traceback reach this many characters counts
#: against the queue's byte budget.
LARGE_RECORD_BYTES: Final = 4096
#: Tiger Style: one serialized record may not grow without bound.
DEFAULT_MAX_RECORD_BYTES: Final = 1 << 20
#: Innermost frames kept per exception; the outer ones are rarely the story.
MAX_TRACEBACK_FRAMES: Final = 100
#: Containers nested deeper than this are written as a placeholder.
MAX_NESTING_DEPTH: Final = 32
#: How long exit, SIGTERM and shutdown wait for the writer thread to drain.
FLUSH_TIMEOUT_SECONDS: Final = 10.0
#: How long a write waits for another process's lock before it appends without
#: it (a process stopped while holding it); later writes do not wait again.
LOCK_WAIT_SECONDS: Final = 2.0
#: A write-error episode ends after writes have worked this long without a failure.
EPISODE_QUIET_SECONDS: Final = 1.0
#: How long the exit path waits for a lock that a thread frozen by interpreter
#: shutdown (a daemon thread mid-call) may hold for ever.
EXIT_LOCK_SECONDS: Final = 1.0
#: How long a flush or shutdown waits for the OpenTelemetry collector.
OTLP_FLUSH_TIMEOUT_SECONDS: Final = 5.0
#: Records the writer thread takes from the queue per write.
MAX_BATCH: Final = 1024
#: While callers are mid-burst the writer steps aside this long at a time, up to
#: the maximum, so it does not compete with them for the GIL (see queue.py).
LINGER_STEP_SECONDS: Final = 0.002
#: The writer formats this many records, then steps off the GIL for a moment if
#: callers are still logging (see Listener._write in queue.py).
WRITER_CHUNK: Final = 128
WRITER_YIELD_SECONDS: Final = 0.00005
MAX_LINGER_SECONDS: Final = 0.05
#: A caller whose record the full queue drops (overflow="drop") sleeps this long,
#: so that the writer gets the GIL among many callers (issue 23, row 11).
DROP_YIELD_SECONDS: Final = 0.0002

#: Storm control on the console: records of one kind printed per window.
DEFAULT_REPEAT_LIMIT: Final = 5
DEFAULT_REPEAT_WINDOW_SECONDS: Final = 10.0
#: The lowest level storm control applies to: INFO progress lines always print.
STORM_LEVEL: Final = logging.WARNING

OVERFLOW_POLICIES: Final = ("block", "drop")
STANDARD_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

#: The name our own notices (dropped records, write errors) are logged under.
OWN_LOGGER: Final = "shared.logging"

# JSONL keys we own, in the order they are written.
TIMESTAMP: Final = "timestamp"
LEVEL: Final = "level"
LOGGER: Final = "logger"
MESSAGE: Final = "message"
MODULE: Final = "module"
FUNCTION: Final = "function"
LINE: Final = "line"
PROCESS: Final = "process"
PROCESS_NAME: Final = "process_name"
THREAD_NAME: Final = "thread_name"
HOSTNAME: Final = "hostname"
RANK: Final = "rank"
LOCAL_RANK: Final = "local_rank"
WORLD_SIZE: Final = "world_size"
EXCEPTION: Final = "exception"
# Keys inside ``exception``.
EXCEPTION_TYPE: Final = "type"
EXCEPTION_MESSAGE: Final = "message"
EXCEPTION_TRACEBACK: Final = "traceback"
STACK_INFO: Final = "stack_info"
#: Only in the notice that starts each file after the first, with keep_first.
LOG_FILE_INDEX: Final = "log_file_index"
#: keep_first keeps the run's first file as ``app.jsonl.first``.
KEPT_FILE_SUFFIX: Final = ".first"

RESERVED_KEYS: Final = frozenset(
    {
        TIMESTAMP, LEVEL, LOGGER, MESSAGE, MODULE, FUNCTION, LINE, PROCESS,
        PROCESS_NAME, THREAD_NAME, HOSTNAME, RANK, LOCAL_RANK, WORLD_SIZE,
        EXCEPTION, STACK_INFO,
    }
)  # fmt: skip
#: The record's frame: every key of ours but the launcher's ranks, which a reader
#: shows beside the extras (logview).
FRAME_KEYS: Final = RESERVED_KEYS - {RANK, LOCAL_RANK, WORLD_SIZE}
#: An ``extra`` or context key that collides with one of ours is kept under this prefix.
COLLISION_PREFIX: Final = "extra_"

#: Levels for a run whose code you cannot edit; they override what the code passed.
LEVEL_VARIABLE: Final = "SHARED_LOGGING_LEVEL"
LOGGER_LEVELS_VARIABLE: Final = "SHARED_LOGGING_LOGGER_LEVELS"

#: Launcher variables (torchrun, accelerate) copied into every record as integers.
RANK_ENVIRONMENT: Final = ((RANK, "RANK"), (LOCAL_RANK, "LOCAL_RANK"), (WORLD_SIZE, "WORLD_SIZE"))

# Attributes every LogRecord has; anything else on a record came from ``extra``.
LOGRECORD_ATTRIBUTES: Final = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__
) | {"message", "asctime", "taskName"}

# Private attributes our capture step puts on a record.
CAPTURED_MESSAGE: Final = "_shared_logging_message"
CAPTURED_CONTEXT: Final = "_shared_logging_context"
CAPTURED_EXCEPTION: Final = "_shared_logging_exception"
#: Set by our makeRecord on a record whose extras it froze already (capture skips
#: them): the extras' keys, a tuple, so the writer can read just those.
FROZEN_EXTRAS: Final = "_shared_logging_frozen"
#: Set in queue mode on a record logged while another tool had our console (tqdm's
#: redirect): that tool printed it, so the writer must not, whoever owns the
#: console when the record is written.
CONSOLE_TAKEN: Final = "_shared_logging_console_taken"
#: The weight a large record holds in the queue's byte budget while queued.
QUEUED_BYTES: Final = "_shared_logging_queued_bytes"
#: Set on a record a library logger's forwarder handed to the root (neighbours.py),
#: so that a second forwarder up the same chain does not hand it over again.
FORWARDED: Final = "_shared_logging_forwarded"
PRIVATE_ATTRIBUTES: Final = frozenset(
    {
        CAPTURED_MESSAGE,
        CAPTURED_CONTEXT,
        CAPTURED_EXCEPTION,
        FROZEN_EXTRAS,
        CONSOLE_TAKEN,
        FORWARDED,
    }
)
#: Ray's identity of a worker, as Ray's own JSON logging names it (ray_workers.py).
RAY_IDENTITY: Final = (
    "job_id",
    "node_id",
    "worker_id",
    "actor_id",
    "actor_name",
    "task_id",
    "task_name",
)
#: The attribute Ray puts on every record of its processes (driver and workers).
RAY_TIMESTAMP: Final = "_ray_timestamp_ns"
#: Fields the console leaves out of a record that carries RAY_TIMESTAMP: Ray's
#: prefix names the actor already, and the file keeps them all.
RAY_CONSOLE_HIDDEN: Final = frozenset({RAY_TIMESTAMP, *RAY_IDENTITY})
#: Set on an exception once a record carries it (hooks.py): sys.exit inside its
#: handler then knows it is in the file already.
LOGGED_EXCEPTION: Final = "_shared_logging_logged"
#: Fields of a ``warnings.warn`` record (logger ``py.warnings``).
WARNING_CATEGORY: Final = "category"
WARNING_FILE: Final = "warning_file"
WARNING_LINE: Final = "warning_line"

NOT_EXTRA: Final = LOGRECORD_ATTRIBUTES | PRIVATE_ATTRIBUTES
#: The smallest per-record (and so per-file) bound we accept: a truncated
#: record still needs room for its timestamp, level, logger and marker.
MIN_RECORD_BYTES: Final = 512
#: Room kept at the start of each file after the first for its notice (keep_first).
NOTICE_BYTES: Final = 256
