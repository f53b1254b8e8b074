"""Hostile log calls in a process of their own, so that a crash names its example.

    python -m tests.hostile_worker LOG_FILE LAST_EXAMPLE_FILE SEED COUNT

Runs COUNT Hypothesis examples (seeded with SEED: the same examples every run)
through ``setup_logging(..., use_queue_handler=True, console=True)``. Before each
call it writes a description of the example to LAST_EXAMPLE_FILE, so a process
that dies (SIGABRT, SIGSEGV) leaves behind the example that killed it. Exits 0
with the number of calls on stdout; any exception from a log call fails it.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from hypothesis import HealthCheck, given, seed, settings

from shared.logging_config import setup_logging, shutdown_logging

from .strategies import describe, hostile_args, hostile_extras, hostile_messages


def main(log_file: str, last_example: str, run_seed: int, count: int) -> int:
    setup_logging(log_file=log_file, console=True, use_queue_handler=True)
    log = logging.getLogger("hostile")
    fd = os.open(last_example, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    calls = 0

    @seed(run_seed)
    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(msg=hostile_messages, args=hostile_args, extra=hostile_extras)
    def call(msg: object, args: tuple[Any, ...], extra: dict[str, Any]) -> None:
        nonlocal calls
        text = describe((msg, args, extra)).encode("utf-8", "backslashreplace")
        os.pwrite(fd, text.ljust(max(len(text), 4096)), 0)  # survives an abort: no buffer
        log.warning(msg, *args, extra=extra)
        calls += 1

    call()
    log.warning("%d", "not a number")  # the last record: a formatting mistake
    shutdown_logging()
    os.close(fd)
    print(calls)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
