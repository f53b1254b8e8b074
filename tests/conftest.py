"""Fixtures: every test leaves logging, hooks and signals as it found them."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from shared.logging_config import shutdown_logging
from shared.logging_context import clear_context

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=30, deadline=None)
# HYPOTHESIS_PROFILE=deep for a long hunt before a release.
settings.register_profile(
    "deep", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)


@contextlib.contextmanager
def without_pytest_handlers() -> Iterator[None]:
    """Detach pytest's capture handlers (they re-raise stdlib formatting errors).
    Used inside a test body: pytest adds its call-phase handler after fixtures run."""
    root = logging.getLogger()
    detached = [h for h in root.handlers if type(h).__module__.startswith("_pytest")]
    for handler in detached:
        root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in detached:
            root.addHandler(handler)


@pytest.fixture(autouse=True)
def _restore_logging_state() -> Iterator[None]:
    """Put back the root logger, logger levels, hooks, SIGTERM and makeRecord."""
    root = logging.getLogger()
    saved_handlers = [h for h in root.handlers if not type(h).__module__.startswith("_pytest")]
    saved_level = root.level
    saved_levels = {
        name: logger.level
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    saved_hooks = (sys.excepthook, threading.excepthook, logging.Logger.makeRecord)
    saved_logger_methods = (logging.Logger.addHandler, logging.Logger.setLevel)
    saved_showwarning = warnings.showwarning
    saved_sigterm = signal.getsignal(signal.SIGTERM)
    clear_context()
    yield
    shutdown_logging()
    clear_context()
    for handler in list(root.handlers):  # anything of ours that a test left behind
        if type(handler).__module__.startswith("shared."):
            root.removeHandler(handler)
    for handler in saved_handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(saved_level)
    for name, logger in logging.root.manager.loggerDict.items():
        if isinstance(logger, logging.Logger):
            logger.setLevel(saved_levels.get(name, logging.NOTSET))
    sys.excepthook, threading.excepthook, logging.Logger.makeRecord = saved_hooks  # type: ignore[method-assign]
    logging.Logger.addHandler, logging.Logger.setLevel = saved_logger_methods  # type: ignore[method-assign]
    warnings.showwarning = saved_showwarning
    signal.signal(signal.SIGTERM, saved_sigterm)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every record in one file, parsed strictly (NaN or invalid UTF-8 fail)."""
    data = path.read_bytes()
    records = []
    for line in data.decode("utf-8").split("\n")[:-1]:
        records.append(json.loads(line, parse_constant=_reject_constant))
    assert data == b"" or data.endswith(b"\n")
    return records


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def read_rotated(path: Path) -> list[dict[str, Any]]:
    """All records of a rotated set, oldest file first."""
    files = sorted(path.parent.glob(path.name + ".*"), key=lambda p: -int(p.suffix[1:]))
    records: list[dict[str, Any]] = []
    for file in [*files, path]:
        records.extend(read_jsonl(file))
    return records


def run_python(
    code: str,
    cwd: Path,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (the same venv) and capture its output."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    full_env.update(env or {})
    # A real file, not -c: spawn and forkserver children re-import __main__ from it.
    script = cwd / "script.py"
    script.write_text(textwrap.dedent(code))
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real 256 KiB tmpfs, for a disk that fills up (root can mount one here and
    in CI; elsewhere the test skips and says why)."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)
