"""CPython's own test_logging with a handler on the root during each test body.

    python -m tests.cpython_test_logging ours|stdlib LOG_DIR

``ours``: every test body runs with ``setup_logging`` active (queue mode, a
JSONL file, our console, our makeRecord and hooks), ``shutdown_logging`` after.
``stdlib``: the same with a plain ``logging.FileHandler`` on the root instead:
the baseline, since some tests assert the root has no handler at all (basicConfig,
lastResort, hasHandlers) and fail beside any handler. Prints one line per test
that failed or errored, then ``ran N``.
"""

from __future__ import annotations

import logging
import sys
import unittest
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared.logging_config import setup_logging, shutdown_logging


def _around_each_body(start: Callable[[Path], Callable[[], None]], log_dir: Path) -> None:
    # After the test's setUp (which asserts the root has no handlers) and before
    # its tearDown: the test body runs with our configuration in place.
    call_test_method = unittest.TestCase._callTestMethod  # type: ignore[attr-defined]
    count = [0]

    def wrapped(self: unittest.TestCase, method: Any) -> None:
        count[0] += 1
        stop = start(log_dir / f"test-{count[0]}.jsonl")
        try:
            call_test_method(self, method)
        finally:
            stop()

    unittest.TestCase._callTestMethod = wrapped  # type: ignore[attr-defined]


def _ours(path: Path) -> Callable[[], None]:
    # At the level the test set on the root: ours would otherwise hide its records.
    level = logging.getLogger().level or logging.DEBUG
    setup_logging(level, log_file=path, use_queue_handler=True)
    return shutdown_logging


def _stdlib(path: Path) -> Callable[[], None]:
    handler = logging.FileHandler(path)
    logging.getLogger().addHandler(handler)

    def stop() -> None:
        logging.getLogger().removeHandler(handler)
        handler.close()

    return stop


def main(mode: str, log_dir: str) -> int:
    _around_each_body(_ours if mode == "ours" else _stdlib, Path(log_dir))
    suite = unittest.defaultTestLoader.loadTestsFromName("test.test_logging")
    result = unittest.TestResult()
    suite.run(result)
    for test, _ in result.failures + result.errors:
        print(f"failed {test.id()}")
    print(f"ran {result.testsRun}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
