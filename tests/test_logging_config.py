"""setup_logging's contract: console, file, levels, queue, rich, re-runs, fail-fast."""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import logging.handlers
import re
import threading
from pathlib import Path

import pytest

from shared._logging.options import Options, build_options
from shared.logging_config import (
    flush_logging,
    init_rollout_logging,
    logging_stats,
    setup_logging,
    shutdown_logging,
)

from .conftest import read_jsonl, read_rotated, run_python

# --- console --------------------------------------------------------------------------


def test_console_is_human_readable_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """The default console line has time, level, logger, message and key=value extras."""
    setup_logging(level="INFO")
    logging.getLogger("bifrost.worker").warning("disk low", extra={"free_gb": 3, "host": "a b"})
    out, err = capsys.readouterr()
    assert out == ""
    line = err.strip()
    assert re.match(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} WARNING  bifrost\.worker: disk low"
        r" free_gb=3 host=\"a b\"$",
        line,
    ), line


def test_console_shows_everything_the_loggers_let_through_without_a_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With no file, DEBUG reaches the console when the level allows it."""
    setup_logging(level="DEBUG")
    logging.getLogger("x").debug("fine detail")
    assert "fine detail" in capsys.readouterr().err


def test_console_json_prints_jsonl(capsys: pytest.CaptureFixture[str]) -> None:
    """console_json=True prints one JSON object per line on stderr."""
    setup_logging(console_json=True)
    logging.getLogger("x").info("hi", extra={"n": 1})
    record = json.loads(capsys.readouterr().err)
    assert record["message"] == "hi"
    assert record["n"] == 1


def test_console_false_prints_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """console=False keeps the console out entirely; the file still gets the record."""
    setup_logging(log_file=tmp_path / "a.jsonl", console=False)
    logging.getLogger("x").error("quiet")
    shutdown_logging()
    assert capsys.readouterr().err == ""
    assert read_jsonl(tmp_path / "a.jsonl")[0]["message"] == "quiet"


@pytest.mark.parametrize(
    ("env", "colored"),
    [
        ({}, False),  # a pipe is not a TTY
        ({"FORCE_COLOR": "1"}, True),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
    ],
)
def test_colors_follow_tty_no_color_and_force_color(
    tmp_path: Path, env: dict[str, str], colored: bool
) -> None:
    """Colours only on a TTY, forced by FORCE_COLOR, always off with NO_COLOR."""
    result = run_python(
        """
        import logging
        from shared.logging_config import setup_logging
        setup_logging()
        logging.getLogger("x").warning("hello")
        """,
        tmp_path,
        env=env,
        check=True,
    )
    assert ("\x1b[" in result.stderr) is colored
    assert "hello" in result.stderr


# --- file and levels --------------------------------------------------------------------


def test_file_gets_debug_and_console_info_when_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The seed: console (INFO+) and file (DEBUG+)."""
    log_file = tmp_path / "logs" / "deep" / "app.jsonl"
    setup_logging(level="DEBUG", log_file=log_file)
    log = logging.getLogger("app")
    log.debug("only in the file")
    log.info("in both")
    shutdown_logging()
    err = capsys.readouterr().err
    assert "in both" in err
    assert "only in the file" not in err
    assert [r["message"] for r in read_jsonl(log_file)] == ["only in the file", "in both"]


def test_console_level_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """console_level sets the console's threshold on its own."""
    setup_logging(level="DEBUG", log_file=tmp_path / "a.jsonl", console_level="ERROR")
    logging.getLogger("app").warning("not shown")
    logging.getLogger("app").error("shown")
    err = capsys.readouterr().err
    assert "shown" in err
    assert "not shown" not in err


def test_logger_levels_are_per_logger(tmp_path: Path) -> None:
    """bifrost.* debug reaches the file; httpx is quieted to WARNING."""
    log_file = tmp_path / "a.jsonl"
    setup_logging(
        level="INFO",
        log_file=log_file,
        logger_levels={"bifrost": "DEBUG", "httpx": "WARNING"},
        console=False,
    )
    logging.getLogger("bifrost.ssh").debug("bifrost detail")
    logging.getLogger("httpx").info("httpx chatter")
    logging.getLogger("httpx").warning("httpx warning")
    logging.getLogger("other").debug("other detail")
    shutdown_logging()
    assert [r["message"] for r in read_jsonl(log_file)] == ["bifrost detail", "httpx warning"]


def test_logger_levels_reach_console_without_file(capsys: pytest.CaptureFixture[str]) -> None:
    """With no file, a per-logger DEBUG level shows on the console."""
    setup_logging(level="INFO", logger_levels={"bifrost": "DEBUG"})
    logging.getLogger("bifrost.x").debug("visible")
    assert "visible" in capsys.readouterr().err


def test_jsonl_schema(tmp_path: Path) -> None:
    """Every documented key is present, extras keep their JSON types."""
    log_file = tmp_path / "a.jsonl"
    setup_logging(log_file=log_file, console=False)
    logging.getLogger("bifrost").info(
        "step %d", 3, extra={"step": 100, "loss": 0.5, "ok": True, "tags": ["a"], "none": None}
    )
    shutdown_logging()
    (record,) = read_jsonl(log_file)
    assert record["message"] == "step 3"
    for key in (
        "timestamp", "level", "logger", "message", "module", "function", "line",
        "process", "thread_name", "process_name", "hostname",
    ):  # fmt: skip
        assert key in record, key
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", record["timestamp"]), (
        record["timestamp"]
    )
    assert record["function"] == "test_jsonl_schema"
    assert (record["step"], record["loss"], record["ok"], record["tags"], record["none"]) == (
        100, 0.5, True, ["a"], None,
    )  # fmt: skip


# --- rotation ------------------------------------------------------------------------------


@pytest.mark.parametrize("queued", [False, True])
def test_rotation_bounds_size_and_count(tmp_path: Path, queued: bool) -> None:
    """Files are app.jsonl, app.jsonl.1..N, each within max_log_bytes, at most N+1."""
    log_file = tmp_path / "app.jsonl"
    setup_logging(
        log_file=log_file,
        max_log_bytes=2000,
        backup_count=3,
        console=False,
        use_queue_handler=queued,
    )
    for i in range(300):
        logging.getLogger("r").info("record %d", i, extra={"pad": "x" * 50})
    shutdown_logging()
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert names == ["app.jsonl", "app.jsonl.1", "app.jsonl.2", "app.jsonl.3"]
    for name in names:
        assert (tmp_path / name).stat().st_size <= 2000
    messages = [r["message"] for r in read_rotated(log_file)]
    # The newest records survive, in order, with none missing among them.
    last = int(messages[-1].split()[1])
    first = int(messages[0].split()[1])
    assert last == 299
    assert messages == [f"record {i}" for i in range(first, 300)]


def test_backup_count_zero_keeps_one_file(tmp_path: Path) -> None:
    """backup_count=0 truncates the file instead of keeping old ones."""
    log_file = tmp_path / "app.jsonl"
    setup_logging(log_file=log_file, max_log_bytes=1000, backup_count=0, console=False)
    for i in range(100):
        logging.getLogger("r").info("record %d", i)
    shutdown_logging()
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == ["app.jsonl"]
    assert log_file.stat().st_size <= 1000
    assert read_jsonl(log_file)[-1]["message"] == "record 99"


# --- queue ----------------------------------------------------------------------------------


def test_queue_writes_on_a_background_thread(tmp_path: Path) -> None:
    """use_queue_handler=True: a QueueHandler on the root, one writer thread."""
    setup_logging(log_file=tmp_path / "a.jsonl", use_queue_handler=True, console=False)
    handlers = logging.getLogger().handlers
    assert any(isinstance(h, logging.handlers.QueueHandler) for h in handlers)
    writers = [t for t in threading.enumerate() if t.name == "shared-logging-writer"]
    assert len(writers) == 1
    logging.getLogger("q").info("queued")
    assert flush_logging()
    assert read_jsonl(tmp_path / "a.jsonl")[0]["message"] == "queued"
    shutdown_logging()
    assert not [t for t in threading.enumerate() if t.name == "shared-logging-writer"]


def test_queue_renders_message_at_call_time(tmp_path: Path) -> None:
    """Mutating an argument after the call does not change the logged message."""
    log_file = tmp_path / "a.jsonl"
    setup_logging(log_file=log_file, use_queue_handler=True, console=False)
    items = [1, 2]
    logging.getLogger("q").info("items=%s", items)
    items.append(3)
    shutdown_logging()
    assert read_jsonl(log_file)[0]["message"] == "items=[1, 2]"


def test_queue_block_loses_nothing_under_many_threads(tmp_path: Path) -> None:
    """overflow='block' with a tiny queue: every record from 8 threads is written."""
    log_file = tmp_path / "a.jsonl"
    setup_logging(log_file=log_file, use_queue_handler=True, queue_size=4, console=False)

    def work(n: int) -> None:
        for i in range(500):
            logging.getLogger("t").info("r", extra={"t": n, "i": i})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shutdown_logging()
    got = {(r["t"], r["i"]) for r in read_jsonl(log_file)}
    assert len(got) == 8 * 500
    assert logging_stats() == (0, 0, 0, 0, 0)  # no configuration any more


def test_queue_drop_reports_dropped_and_adds_up(tmp_path: Path) -> None:
    """overflow='drop': kept records plus the reported `dropped` counts equal all calls."""
    log_file = tmp_path / "a.jsonl"
    setup_logging(
        log_file=log_file, use_queue_handler=True, queue_size=2, overflow="drop", console=False
    )
    total = 5000
    for i in range(total):
        logging.getLogger("d").info("r %d", i)
    assert flush_logging()
    stats = logging_stats()
    shutdown_logging()
    records = read_jsonl(log_file)
    kept = [r for r in records if r["logger"] == "d"]
    reports = [r for r in records if "dropped" in r]
    assert all(r["level"] == "WARNING" and isinstance(r["dropped"], int) for r in reports)
    dropped = sum(r["dropped"] for r in reports)
    assert dropped > 0
    assert len(kept) + dropped == total
    assert stats.dropped == dropped


def test_record_logged_from_the_writer_thread_does_not_deadlock(tmp_path: Path) -> None:
    """An extra whose __str__ logs (run on the writer thread) neither hangs nor is lost."""
    log_file = tmp_path / "a.jsonl"
    setup_logging(log_file=log_file, use_queue_handler=True, queue_size=1, console=False)

    class Chatty:
        def __str__(self) -> str:
            logging.getLogger("inner").warning("logged while writing")
            return "chatty"

    for _ in range(20):
        logging.getLogger("outer").info("x", extra={"obj": Chatty()})
    assert flush_logging(timeout=10)
    shutdown_logging()
    records = read_jsonl(log_file)
    assert sum(r["logger"] == "outer" for r in records) == 20
    assert sum(r["logger"] == "inner" for r in records) == 20


@pytest.mark.parametrize(
    ("ending", "code"),
    [
        ("normal", ""),
        ("sys.exit", "import sys; sys.exit(3)"),
        ("uncaught", "raise RuntimeError('boom')"),
    ],
)
def test_queue_drains_on_every_ending(tmp_path: Path, ending: str, code: str) -> None:
    """Queued records are all on disk after the process ends normally, by sys.exit,
    or by an uncaught exception."""
    result = run_python(
        f"""
        import logging
        from shared.logging_config import setup_logging
        setup_logging(log_file="app.jsonl", use_queue_handler=True, console=False)
        log = logging.getLogger("end")
        for i in range(20000):
            log.info("record %d", i)
        {code}
        """,
        tmp_path,
    )
    assert result.returncode == {"normal": 0, "sys.exit": 3, "uncaught": 1}[ending]
    records = read_jsonl(tmp_path / "app.jsonl")
    messages = [r["message"] for r in records if r["logger"] == "end"]
    assert messages == [f"record {i}" for i in range(20000)]
    if ending == "uncaught":
        crash = records[-1]
        assert crash["level"] == "CRITICAL"
        assert crash["exception"]["type"] == "RuntimeError"
        assert result.stderr.count("RuntimeError: boom") == 1


# --- rich --------------------------------------------------------------------------------------


def test_rich_console_uses_rich_handler(tmp_path: Path) -> None:
    """use_rich=True prints through rich's RichHandler, with rich tracebacks."""
    result = run_python(
        """
        import logging
        from shared.logging_config import setup_logging
        setup_logging(use_rich=True, rich_tracebacks=True)
        try:
            1 / 0
        except ZeroDivisionError:
            logging.getLogger("r").exception("failed with token sk-abcdefghijklmnopqrstuvwx")
        """,
        tmp_path,
        env={"COLUMNS": "120"},
        check=True,
    )
    assert "failed with token [REDACTED]" in result.stderr
    assert "Traceback" in result.stderr  # rich's own traceback box
    assert "ZeroDivisionError" in result.stderr


def test_rich_missing_fails_at_setup_with_install_command(tmp_path: Path) -> None:
    """Without rich, use_rich=True raises ImportError naming the extra to install."""
    result = run_python(
        """
        import sys
        sys.modules["rich"] = None  # as if rich were not installed
        sys.modules["rich.logging"] = None
        from shared.logging_config import setup_logging
        try:
            setup_logging(use_rich=True)
        except ImportError as error:
            print(error)
        """,
        tmp_path,
        check=True,
    )
    assert "pip install 'shared-logging[rich]'" in result.stdout


# --- re-running ----------------------------------------------------------------------------------


@pytest.mark.parametrize("queued", [False, True])
def test_rerunning_replaces_cleanly(tmp_path: Path, queued: bool) -> None:
    """A second setup_logging: no duplicate lines, old writer stopped, old file closed."""
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    setup_logging(log_file=first, use_queue_handler=queued, console=False)
    logging.getLogger("a").info("one")
    setup_logging(log_file=second, use_queue_handler=queued, console=False)
    setup_logging(log_file=second, use_queue_handler=queued, console=False)
    logging.getLogger("a").info("two")
    ours = [h for h in logging.getLogger().handlers if type(h).__module__.startswith("shared.")]
    assert len(ours) == 1
    writers = [t for t in threading.enumerate() if t.name == "shared-logging-writer"]
    assert len(writers) == (1 if queued else 0)
    shutdown_logging()
    assert [r["message"] for r in read_jsonl(first)] == ["one"]
    assert [r["message"] for r in read_jsonl(second)] == ["two"]
    open_files = {str(p.resolve()) for p in Path("/proc/self/fd").iterdir() if p.exists()}
    assert str(first) not in open_files
    assert str(second) not in open_files


def test_rerun_replaces_a_basicconfig_console_handler(capsys: pytest.CaptureFixture[str]) -> None:
    """A terminal handler left by logging.basicConfig would duplicate lines: it is replaced."""
    logging.basicConfig()
    setup_logging()
    logging.getLogger("a").warning("once")
    assert capsys.readouterr().err.count("once") == 1


def test_caplog_keeps_capturing(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    """pytest's caplog still sees records of code that calls setup_logging."""
    setup_logging(log_file=tmp_path / "a.jsonl", use_queue_handler=True, console=False)
    logging.getLogger("app").warning("seen by caplog", extra={"k": 1})
    assert [r.getMessage() for r in caplog.records] == ["seen by caplog"]


def test_shutdown_is_idempotent_and_restores_the_root(tmp_path: Path) -> None:
    """shutdown_logging twice is fine; the root gets its level and handlers back."""
    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    setup_logging(level="DEBUG", log_file=tmp_path / "a.jsonl", logger_levels={"z": "ERROR"})
    shutdown_logging()
    shutdown_logging()
    assert (root.level, list(root.handlers)) == before
    assert logging.getLogger("z").level == logging.NOTSET


# --- fail fast ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"level": "VERBOSE"}, ValueError, ["'VERBOSE'", "DEBUG, INFO"]),
        ({"console_level": "LOUD"}, ValueError, ["'LOUD'", "console_level"]),
        ({"logger_levels": {"httpx": "QUIET"}}, ValueError, ["'QUIET'", "'httpx'"]),
        ({"max_log_bytes": 0}, ValueError, ["max_log_bytes", "0"]),
        ({"max_log_bytes": -5}, ValueError, ["max_log_bytes", "-5"]),
        ({"backup_count": -1}, ValueError, ["backup_count", "-1"]),
        ({"queue_size": 0}, ValueError, ["queue_size", "0"]),
        ({"overflow": "spill"}, ValueError, ["'spill'", "'block'", "'drop'"]),
        ({"level": 3.5}, TypeError, ["3.5"]),
        ({"redact_patterns": ["("]}, ValueError, ["'('"]),
    ],
)
def test_bad_options_fail_fast_and_keep_previous_config(
    tmp_path: Path, kwargs: dict[str, object], error: type[Exception], words: list[str]
) -> None:
    """A bad value raises an error naming it and the valid ones; the old config stays."""
    log_file = tmp_path / "a.jsonl"
    setup_logging(log_file=log_file, console=False)
    with pytest.raises(error) as caught:
        setup_logging(log_file=tmp_path / "b.jsonl", **kwargs)  # type: ignore[arg-type]
    for word in words:
        assert word in str(caught.value)
    logging.getLogger("still").warning("here")
    shutdown_logging()
    assert read_jsonl(log_file)[0]["message"] == "here"
    assert not (tmp_path / "b.jsonl").exists()


def test_unwritable_log_file_fails_fast(tmp_path: Path) -> None:
    """A log_file that cannot be created raises OSError naming the path."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError, match="cannot open log_file") as caught:
        setup_logging(log_file=blocker / "sub" / "app.jsonl")
    assert str(blocker) in str(caught.value)
    assert not [h for h in logging.getLogger().handlers if type(h).__module__.startswith("shared.")]


# --- init_rollout_logging ----------------------------------------------------------------------


def test_init_rollout_logging_creates_a_timestamped_run_dir(tmp_path: Path) -> None:
    """results/<name>_YYYYMMDD-HHMMSS/error_log.jsonl, returned as a Path."""
    run_dir = init_rollout_logging("my_experiment", results_dir=tmp_path / "results")
    assert isinstance(run_dir, Path)
    assert run_dir.parent == tmp_path / "results"
    assert re.fullmatch(r"my_experiment_\d{8}-\d{6}", run_dir.name)
    logging.getLogger("rollouts").error("failed rollout", extra={"rollout_id": 7})
    again = init_rollout_logging("my_experiment", results_dir=tmp_path / "results")
    assert again != run_dir  # same second, distinct directory
    shutdown_logging()
    (record,) = read_jsonl(run_dir / "error_log.jsonl")
    assert record["rollout_id"] == 7


def test_init_rollout_logging_rejects_path_names(tmp_path: Path) -> None:
    """A name with a slash would escape results_dir: refused."""
    with pytest.raises(ValueError, match="'a/b'"):
        init_rollout_logging("a/b", results_dir=tmp_path)


def test_every_option_is_named_the_same_everywhere() -> None:
    """setup_logging's signature is the contract (what IDEs and type checkers read),
    so it stays written out; the validation, the settings, the docstring and the
    README's table must list the same options in the same order."""
    names = list(inspect.signature(setup_logging).parameters)
    assert list(inspect.signature(build_options).parameters) == names
    assert [f.name for f in dataclasses.fields(Options)] == names
    doc = setup_logging.__doc__ or ""
    assert [n for n in names if f"**{n}**" in doc] == names
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    table = re.findall(r"^\| `(\w+)` \| ", readme.split("## Options", 1)[1], re.M)
    assert table[: len(names)] == names
