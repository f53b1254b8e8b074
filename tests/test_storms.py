"""Error storms: storm control on the console, the run's first records kept through
rotation, and logview reading both."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from shared import logging_config
from shared._logging.storms import Storms
from shared.logging_config import init_rollout_logging, setup_logging, shutdown_logging

from .conftest import read_jsonl, read_rotated, run_python

_STORM = """
import logging, sys
from shared import logging_config
from shared._logging.storms import Storms
from shared.logging_config import init_rollout_logging, setup_logging, shutdown_logging
setup_logging(log_file="app.jsonl", use_queue_handler={queued}, repeat_limit={limit},
              repeat_window=3600)
log = logging.getLogger("rollout")
log.error("root cause: inference server refused the connection")
for i in range(3000):
    try:
        raise TimeoutError(f"request {{i}} timed out")
    except TimeoutError:
        log.exception("request %d failed", i)
    if i % 1000 == 500:
        log.warning("checkpoint %d saved", i)  # another kind, in the middle of the storm
{end}
"""


def _console_lines(stderr: str) -> list[str]:
    """The console's record lines (not the traceback lines indented under them)."""
    return [line for line in stderr.splitlines() if re.match(r"\d{4}-\d\d-\d\d ", line)]


@pytest.mark.parametrize("queued", [False, True])
@pytest.mark.parametrize("end", ["shutdown_logging()", "", "sys.exit(3)"])
def test_a_storm_prints_repeat_limit_lines_and_a_summary_and_the_file_keeps_all(
    tmp_path: Path, queued: bool, end: str
) -> None:
    """3,000 logger.exception calls of one kind: 5 console lines and one summary
    with the 2,995 left out (at shutdown_logging, at a normal exit, at sys.exit);
    the other kinds all print; the file has all 3,000 in order."""
    result = run_python(_STORM.format(queued=queued, limit=5, end=end), tmp_path)
    assert result.returncode == (3 if "exit" in end else 0), result.stderr
    lines = _console_lines(result.stderr)
    storm = [line for line in lines if "request" in line and "failed" in line]
    assert len(storm) == 5 + 1, lines
    assert "2995 more like this" in storm[-1]
    assert "TimeoutError" in storm[-1]
    assert "request %d failed" in storm[-1]
    assert sum("checkpoint" in line for line in lines) == 3
    assert "root cause" in lines[0]
    records = read_jsonl(tmp_path / "app.jsonl")
    failed = [r["message"] for r in records if r["message"].startswith("request")]
    assert failed == [f"request {i} failed" for i in range(3000)]
    assert all(r["exception"]["type"] == "TimeoutError" for r in records if "exception" in r)


def test_repeat_limit_none_prints_every_record(tmp_path: Path) -> None:
    result = run_python(_STORM.format(queued=True, limit=None, end=""), tmp_path, check=True)
    lines = _console_lines(result.stderr)
    assert sum("failed" in line for line in lines) == 3000
    assert not any("more like this" in line for line in lines)


def test_f_string_messages_of_one_kind_are_one_kind(tmp_path: Path) -> None:
    """f-strings have no template: numbers, hex ids and quoted values are masked."""
    code = """
        import logging
        from shared.logging_config import setup_logging
        setup_logging(repeat_limit=2, repeat_window=3600)
        log = logging.getLogger("w")
        for i in range(50):
            log.error(f"worker {i} lost connection to '10.0.0.{i}' after {i * 0.5}s")
        log.error("something else entirely")
    """
    lines = _console_lines(run_python(code, tmp_path, check=True).stderr)
    assert len(lines) == 2 + 1 + 1, lines
    assert "48 more like this" in lines[-1]
    assert "something else entirely" in lines[2]


def test_with_the_queue_a_summary_prints_when_its_window_ends_in_silence(
    tmp_path: Path,
) -> None:
    """The writer wakes for a summary that falls due while nothing is logged: it
    is on the console before the program's next line, seconds later."""
    code = """
        import logging, sys, time
        from shared.logging_config import setup_logging
        setup_logging(use_queue_handler=True, repeat_limit=2, repeat_window=0.2)
        for i in range(20):
            logging.getLogger("w").error("lost worker %d", i)
        time.sleep(3)  # the storm is over; nothing is logged
        sys.stderr.write("AFTER THE PAUSE\\n")
    """
    err = run_python(code, tmp_path, check=True).stderr
    assert "18 more like this in 0.2s not shown" in err
    assert err.index("18 more like this") < err.index("AFTER THE PAUSE")


def test_a_window_that_ended_prints_its_summary_with_the_next_line(tmp_path: Path) -> None:
    """Windows are per kind and end after repeat_window: the next console line
    brings the summary of one that ended, and the kind prints again."""
    clock = [1000.0]  # the clock is the one thing faked here
    storms = Storms(limit=2, window=10.0, clock=lambda: clock[0])
    record = logging.LogRecord("a", logging.ERROR, "", 0, "boom %d", (1,), None)
    assert [storms.admit(record) for _ in range(5)] == [True, True, False, False, False]
    assert storms.summaries() == []  # the window is still open
    clock[0] += 10.0
    summaries = storms.summaries()
    assert [s.getMessage() for s in summaries] == [
        "3 more like this in 10s not shown (repeat_limit=2): boom %d"
    ]
    assert storms.admit(record)  # a new window


def test_storm_control_leaves_the_file_and_other_loggers_alone(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    setup_logging(log_file=tmp_path / "a.jsonl", repeat_limit=1, repeat_window=3600)
    for name in ("a", "b"):
        for i in range(3):
            logging.getLogger(name).warning("retry %d", i)
    shutdown_logging()
    err = capfd.readouterr().err
    assert err.count("retry 0") == 2
    assert err.count("2 more like this") == 2
    assert len(read_jsonl(tmp_path / "a.jsonl")) == 6


@pytest.mark.parametrize("bad", [0, -1, 2.5, "5", True])
def test_a_bad_repeat_limit_fails_fast(bad: object) -> None:
    with pytest.raises((TypeError, ValueError), match="repeat_limit"):
        setup_logging(repeat_limit=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "10", None])
def test_a_bad_repeat_window_fails_fast(bad: object) -> None:
    with pytest.raises((TypeError, ValueError), match="repeat_window"):
        setup_logging(repeat_window=bad)  # type: ignore[arg-type]


# --- keep_first --------------------------------------------------------------------------


@pytest.mark.parametrize("queued", [False, True])
def test_the_root_cause_survives_a_storm_that_rotates_everything_else(
    tmp_path: Path, queued: bool
) -> None:
    """max_log_bytes=100_000, backup_count=2, keep_first=True, 2 MB of storm after
    a first "root cause" record: it is still in a file, the newest records are
    there, at most 4 files, each within the bound; logview reads them in order
    with a marker where files were rotated away."""
    log_file = tmp_path / "app.jsonl"
    setup_logging(
        log_file=log_file,
        max_log_bytes=100_000,
        backup_count=2,
        keep_first=True,
        use_queue_handler=queued,
        console=False,
    )
    log = logging.getLogger("rollout")
    log.error("root cause: inference server refused the connection")
    count = 0
    while count * 700 < 2_000_000:  # each record is about 700 bytes with its traceback
        try:
            raise TimeoutError("timed out")
        except TimeoutError:
            log.exception("request %d failed", count)
        count += 1
    log.info("the last record")
    shutdown_logging()
    files = sorted(p for p in tmp_path.iterdir() if p.name.startswith("app.jsonl"))
    assert [p.name for p in files] == ["app.jsonl", "app.jsonl.1", "app.jsonl.2", "app.jsonl.first"]
    assert all(p.stat().st_size <= 100_000 for p in files)
    written = sum(p.stat().st_size for p in files)
    assert written < 400_000  # so most of the 2 MB was rotated away
    first = read_jsonl(tmp_path / "app.jsonl.first")
    assert first[0]["message"] == "root cause: inference server refused the connection"
    assert read_jsonl(log_file)[-1]["message"] == "the last record"

    shown = subprocess.run(
        [sys.executable, "-m", "shared.logview", str(log_file), "--json"],
        capture_output=True,
        check=True,
    ).stdout.splitlines()
    records = [json.loads(line) for line in shown]
    assert records[0]["message"].startswith("root cause")
    marker = next(i for i, r in enumerate(records) if "rotated_away_files" in r)
    assert records[marker]["rotated_away_files"] > 5
    assert marker == len(first)  # right after the kept file
    assert records[-1]["message"] == "the last record"
    numbers = [int(r["message"].split()[1]) for r in records if r["message"].startswith("request")]
    assert numbers == sorted(numbers)  # in time order
    assert numbers[-1] == count - 1


def test_without_keep_first_the_root_cause_is_rotated_away(tmp_path: Path) -> None:
    """The control: the same storm without keep_first loses the first record."""
    log_file = tmp_path / "app.jsonl"
    setup_logging(log_file=log_file, max_log_bytes=100_000, backup_count=2, console=False)
    log = logging.getLogger("rollout")
    log.error("root cause")
    for i in range(3000):
        log.error("request %d failed", i, extra={"pad": "x" * 500})
    shutdown_logging()
    assert "root cause" not in [r["message"] for r in read_rotated(log_file)]
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("app.jsonl")]) == 3


def test_init_rollout_logging_keeps_the_first_file(tmp_path: Path) -> None:
    run_dir = init_rollout_logging("storm", results_dir=tmp_path)
    try:
        assert logging_config._current is not None
        assert logging_config._current.options.keep_first
    finally:
        shutdown_logging()
    assert run_dir.is_dir()


def test_logview_stats_groups_a_storm_as_one_kind(tmp_path: Path) -> None:
    """--stats shows the storm as one kind with its count, like the console's summary."""
    run_python(_STORM.format(queued=False, limit=5, end=""), tmp_path, check=True)
    out = subprocess.run(
        [sys.executable, "-m", "shared.logview", str(tmp_path / "app.jsonl"), "--stats"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(r"\b3000  ERROR rollout: TimeoutError: request <n> failed", out), out
    assert re.search(r"\b3  WARNING rollout: checkpoint <n> saved", out), out


# --- the caller's cost in a storm: one traceback formatted once ----------------------------


def _fail(kind: int, detail: str) -> None:
    values = {"a": 1}
    if kind == 0:
        raise TimeoutError(detail)
    _ = values["b"] if kind == 1 else values["a"] + values["b"]  # KeyError('b') twice


def test_repeated_tracebacks_are_the_same_text_stdlib_formats(tmp_path: Path) -> None:
    """The storm cache gives each record the text traceback.format_exception
    gives it: same place twice, another message, another line, another column of
    the same line (the 3.11+ carets), a chained exception."""
    setup_logging(log_file=tmp_path / "a.jsonl", console=False)
    expected = []
    cases = [(0, "x"), (0, "x"), (0, "y"), (1, ""), (2, ""), (1, ""), (2, ""), (0, "x")]
    for kind, detail in cases:
        try:
            _fail(kind, detail)
        except Exception as error:
            expected.append("".join(traceback.format_exception(error)).rstrip("\n"))
            logging.getLogger("t").exception("failed")
    try:
        try:
            _fail(0, "inner")
        except TimeoutError as inner:
            raise RuntimeError("outer") from inner
    except RuntimeError as error:
        expected.append("".join(traceback.format_exception(error)).rstrip("\n"))
        logging.getLogger("t").exception("chained")
    shutdown_logging()
    found = [r["exception"]["traceback"] for r in read_jsonl(tmp_path / "a.jsonl")]
    assert found == expected
    assert found[3] != found[4]  # the same error on the same line, another column
    assert "^^^" in found[3] or sys.version_info < (3, 11)
