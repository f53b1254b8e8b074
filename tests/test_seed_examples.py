"""The seed's Quick Start and each Configuration example, run verbatim."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import read_jsonl, read_rotated, run_python

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

QUICK_START = (EXAMPLES / "quick_start.py").read_text()

# Each block below is the seed's code as written, then a few log calls to observe it.
BASIC = """
setup_logging(level="INFO")
# Logs to console only, human-readable
"""
WITH_FILE = """
setup_logging(
    level="DEBUG",
    log_file="logs/app.jsonl",
)
# Logs to console (INFO+) and file (DEBUG+) in JSONL
"""
ASYNC = """
setup_logging(
    level="INFO",
    log_file="logs/app.jsonl",
    use_queue_handler=True,  # Non-blocking logging!
)
"""
RICH = """
setup_logging(
    level="INFO",
    use_rich=True,  # Pretty colors and formatting
    rich_tracebacks=True,  # Beautiful exception formatting
)
"""
ROTATION = """
setup_logging(
    log_file="logs/app.jsonl",
    max_log_bytes=10_000_000,  # 10MB max
    backup_count=3,  # Keep 3 old files
)
"""
PER_LOGGER = """
setup_logging(
    level="INFO",
    logger_levels={
        "bifrost": "DEBUG",      # Verbose for my code
        "httpx": "WARNING",      # Quiet for HTTP client
        "paramiko": "ERROR",     # Very quiet for SSH
    }
)
"""
STRUCTURED = """
logger.info(
    "Training step completed",
    extra={
        "step": 100,
        "loss": 0.5,
        "reward": 0.3,
    }
)
"""

PRELUDE = "from shared.logging_config import setup_logging\nimport logging\n"
PROBE = """
logging.getLogger("app").debug("probe debug")
logging.getLogger("app").info("probe info")
logging.getLogger("bifrost.ssh").debug("bifrost debug")
logging.getLogger("httpx").info("httpx info")
logging.getLogger("paramiko").warning("paramiko warning")
"""


def _run(tmp_path: Path, code: str) -> str:
    result = run_python(code, tmp_path, env={"COLUMNS": "200"}, check=True)
    return result.stderr


def test_quick_start(tmp_path: Path) -> None:
    """Quick Start: both lines on the console, both in logs/app.jsonl with user_id=123."""
    err = _run(tmp_path, QUICK_START)
    assert "Application started" in err
    assert "Something went wrong user_id=123" in err
    started, failed = read_jsonl(tmp_path / "logs" / "app.jsonl")
    assert (started["level"], started["message"]) == ("INFO", "Application started")
    assert (failed["level"], failed["user_id"]) == ("ERROR", 123)


def test_basic(tmp_path: Path) -> None:
    """Basic: console only, human-readable, INFO and up."""
    err = _run(tmp_path, PRELUDE + BASIC + PROBE)
    assert re.search(r" INFO     app: probe info$", err, re.M)
    assert "probe debug" not in err
    assert not (tmp_path / "logs").exists()


def test_with_file_output(tmp_path: Path) -> None:
    """With File Output: console INFO+, file DEBUG+ in JSONL."""
    err = _run(tmp_path, PRELUDE + WITH_FILE + PROBE)
    assert "probe info" in err
    assert "probe debug" not in err
    messages = [r["message"] for r in read_jsonl(tmp_path / "logs" / "app.jsonl")]
    assert "probe debug" in messages
    assert "probe info" in messages


def test_for_async_code(tmp_path: Path) -> None:
    """For Async Code: queued, everything on disk at exit."""
    err = _run(tmp_path, PRELUDE + ASYNC + PROBE * 50)
    # INFO is progress: every line prints. A WARNING storm: 5 of one kind, then
    # a summary (repeat_limit).
    assert err.count("INFO     app: probe info\n") == 50
    assert err.count("WARNING  paramiko: paramiko warning\n") == 5
    assert "45 more like this in 10s not shown (repeat_limit=5): paramiko warning" in err
    records = read_jsonl(tmp_path / "logs" / "app.jsonl")
    assert sum(r["message"] == "probe info" for r in records) == 50


def test_with_rich_console_output(tmp_path: Path) -> None:
    """With Rich: the console goes through rich; tracebacks are rich's."""
    code = (
        PRELUDE
        + RICH
        + PROBE
        + (
            "try:\n    1/0\nexcept ZeroDivisionError:\n"
            "    logging.getLogger('app').exception('rich failure')\n"
        )
    )
    err = _run(tmp_path, code)
    assert "probe info" in err
    assert "rich failure" in err
    assert "ZeroDivisionError" in err
    assert "╭" in err  # rich's traceback panel


def test_custom_log_rotation(tmp_path: Path) -> None:
    """Custom Log Rotation: 10 MB files, 3 backups; the file gets the records."""
    _run(tmp_path, PRELUDE + ROTATION + PROBE)
    messages = [r["message"] for r in read_rotated(tmp_path / "logs" / "app.jsonl")]
    assert messages == ["probe info", "httpx info", "paramiko warning"]


def test_per_logger_levels(tmp_path: Path) -> None:
    """Per-Logger Levels: bifrost DEBUG shows, httpx INFO is quiet, paramiko WARNING too."""
    err = _run(tmp_path, PRELUDE + PER_LOGGER + PROBE)
    assert "bifrost debug" in err
    assert "httpx info" not in err
    assert "paramiko warning" not in err
    assert "probe info" in err


@pytest.mark.parametrize("console_json", [False, True])
def test_structured_logging(tmp_path: Path, console_json: bool) -> None:
    """Structured Logging: the extras land as top-level JSONL keys with their types."""
    setup = f'setup_logging(log_file="logs/app.jsonl", console_json={console_json})\n'
    err = _run(tmp_path, PRELUDE + setup + "logger = logging.getLogger(__name__)\n" + STRUCTURED)
    (record,) = read_jsonl(tmp_path / "logs" / "app.jsonl")
    assert record["message"] == "Training step completed"
    assert (record["step"], record["loss"], record["reward"]) == (100, 0.5, 0.3)
    if console_json:
        assert json.loads(err)["step"] == 100
    else:
        assert "step=100 loss=0.5 reward=0.3" in err


def test_async_demo_runs(tmp_path: Path) -> None:
    """The README's demo runs and writes a redacted, context-rich error log."""
    code = (EXAMPLES / "async_demo.py").read_text()
    result = run_python(code, tmp_path, check=True)
    (run_dir,) = (tmp_path / "results").iterdir()
    records = read_jsonl(run_dir / "error_log.jsonl")
    text = (run_dir / "error_log.jsonl").read_text() + result.stderr
    assert "sk-demo-" not in text
    failures = [r for r in records if r["message"] == "rollout failed"]
    assert failures
    assert all("rollout_id" in r and r["exception"]["type"] == "TimeoutError" for r in failures)
