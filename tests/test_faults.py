"""Faults from outside: a torn tail after kill -9, a peer stopped while it holds
the lock, a planted symlink, another user's lock file, escapes through rich and
logview, blank-line bombs, large records in the queue, write-error episodes.

Each test reproduces the fault with the real mechanism (SIGKILL, SIGSTOP on a
process holding ``flock``, a symlink, another uid, rich, logview on crafted
input) in sync and queue mode where both apply.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared._logging.files import lock_path_for
from shared.logging_config import flush_logging, logging_stats, setup_logging, shutdown_logging
from shared.logview._sources import Counters, blocks, expand

from .conftest import read_jsonl, run_python

MODES = [False, True]
MODE_IDS = ["sync", "queue"]


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def _parsed(path: Path) -> tuple[list[dict[str, object]], int]:
    """The records that parse, and how many lines did not."""
    good, bad = [], 0
    for line in _lines(path):
        try:
            good.append(json.loads(line))
        except ValueError:
            bad += 1
    return good, bad


# --- 1: a torn tail ------------------------------------------------------------------------


@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
def test_the_next_run_starts_on_a_fresh_line_after_a_torn_tail(
    tmp_path: Path, queued: bool
) -> None:
    log_file = tmp_path / "app.jsonl"
    log_file.write_bytes(b'{"timestamp":"2026-01-01T00:00:00.000000+00:00","message":"whole"}\n'
                         b'{"timestamp":"2026-01-01T00:00:01.0')  # fmt: skip
    setup_logging(log_file=log_file, console=False, use_queue_handler=queued)
    logging.getLogger("app").warning("first of the new run")
    shutdown_logging()
    good, bad = _parsed(log_file)
    assert bad == 1  # only the torn fragment
    assert [r["message"] for r in good] == ["whole", "first of the new run"]


KILLED_WRITER = """
    import logging, sys
    from shared.logging_config import setup_logging
    setup_logging(log_file="app.jsonl", console=False, use_queue_handler={queued})
    print("ready", flush=True)
    log = logging.getLogger("big")
    while True:
        log.info("x" * 50_000)
"""


@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
def test_a_writer_killed_mid_line_costs_the_next_run_nothing(tmp_path: Path, queued: bool) -> None:
    """SIGKILL a process writing 50 KB records, three times, and start a new run
    on the same file after each: every new run's record is readable."""
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(KILLED_WRITER.format(queued=queued)))
    log_file = tmp_path / "app.jsonl"
    for round_ in range(3):
        writer = subprocess.Popen(
            [sys.executable, str(script)], cwd=tmp_path, stdout=subprocess.PIPE
        )
        assert writer.stdout is not None
        assert writer.stdout.readline() == b"ready\n"
        size = log_file.stat().st_size
        while log_file.stat().st_size < size + 1_000_000:  # writing for real
            time.sleep(0.001)
        writer.kill()
        writer.wait()
        result = run_python(
            f"""
            import logging
            from shared.logging_config import setup_logging
            setup_logging(log_file="app.jsonl", console=False, use_queue_handler={queued})
            logging.getLogger("next").warning("restarted {round_}")
            """,
            tmp_path,
        )
        assert result.returncode == 0, result.stderr
    good, _ = _parsed(log_file)
    assert [r["message"] for r in good if r["logger"] == "next"] == [
        f"restarted {i}" for i in range(3)
    ]


# --- 2: a peer stopped while it holds the lock ----------------------------------------------


HOLDER = """
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    print("locked", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def stopped_holder(tmp_path: Path) -> Iterator[Path]:
    """A real process that takes the lock of app.jsonl, then is SIGSTOPped."""
    log_file = tmp_path / "app.jsonl"
    script = tmp_path / "holder.py"
    script.write_text(textwrap.dedent(HOLDER))
    holder = subprocess.Popen(
        [sys.executable, str(script), str(lock_path_for(log_file))], stdout=subprocess.PIPE
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == b"locked\n"
    os.kill(holder.pid, signal.SIGSTOP)
    try:
        yield log_file
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        os.kill(holder.pid, signal.SIGCONT)
        holder.wait()


STOPPED_PEER_RUN = """
    import logging, time
    from shared.logging_config import flush_logging, logging_stats, setup_logging
    start = time.monotonic()
    setup_logging(log_file="app.jsonl", console=False, use_queue_handler={queued},
                  overflow="{overflow}", queue_size=50)
    log = logging.getLogger("app")
    slowest = 0.0
    for i in range(300):
        before = time.monotonic()
        log.info("record %d", i)
        slowest = max(slowest, time.monotonic() - before)
    flushed = flush_logging(timeout=10)
    stats = logging_stats()
    print("RESULT", flushed, stats.written, stats.lost, stats.dropped,
          round(slowest, 3), round(time.monotonic() - start, 3), flush=True)
"""


@pytest.mark.parametrize(
    ("queued", "overflow"), [(False, "block"), (True, "block"), (True, "drop")]
)
def test_a_stopped_peer_holding_the_lock_blocks_nobody_for_long(
    stopped_holder: Path, queued: bool, overflow: str
) -> None:
    tmp_path = stopped_holder.parent
    code = STOPPED_PEER_RUN.format(queued=queued, overflow=overflow)
    started = time.monotonic()
    result = run_python(code, tmp_path, timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("RESULT")]
    _, flushed, written, lost, dropped, slowest, took = line.split()
    assert flushed == "True"
    good, _ = _parsed(stopped_holder)
    notices = sum(r["logger"] == "shared.logging" for r in good)  # drop reports
    assert int(written) - notices + int(lost) + int(dropped) == 300
    assert elapsed < 20  # the process, exit included, within the deadlines
    assert float(took) < 15
    if overflow == "drop":
        assert float(slowest) < 1.0  # drop never waits for the lock
    assert "held the lock" in result.stderr  # one notice
    assert result.stderr.count("held the lock") == 1
    assert len(good) == int(written)


# --- 3 and 4: the lock file ------------------------------------------------------------------


@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
def test_a_symlink_planted_as_the_lock_file_is_refused(tmp_path: Path, queued: bool) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious contents\n")
    lock_path_for(tmp_path / "app.jsonl").symlink_to(victim)
    with pytest.raises(OSError, match=r"lock file .*symbolic link"):
        setup_logging(log_file=tmp_path / "app.jsonl", use_queue_handler=queued)
    assert victim.read_bytes() == b"precious contents\n"
    assert not (tmp_path / "app.jsonl").exists() or (tmp_path / "app.jsonl").stat().st_size == 0


def test_a_lock_file_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    os.mkfifo(lock_path_for(tmp_path / "app.jsonl"))
    with pytest.raises(OSError, match=r"lock file .*not a regular file"):
        setup_logging(log_file=tmp_path / "app.jsonl")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as two users")
@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
def test_a_second_user_logs_to_a_run_directory_whose_lock_file_it_cannot_write(
    tmp_path: Path, queued: bool, request: pytest.FixtureRequest
) -> None:
    """User 1 created the lock file 0644; user 2 may write the log: it logs too."""
    # pytest's own temporary directories are private to root: a shared one.
    run_dir = Path(tempfile.mkdtemp(prefix="shared-run-"))
    run_dir.chmod(0o777)
    request.addfinalizer(lambda: shutil.rmtree(run_dir, ignore_errors=True))
    log_file = run_dir / "app.jsonl"
    lock = lock_path_for(log_file)
    lock.write_bytes(b"\0" * 8)
    lock.chmod(0o644)
    os.chown(lock, 1000, 1000)
    log_file.touch()
    log_file.chmod(0o666)
    # Everything our setup imports, imported here: the child only changes user.
    setup_logging(log_file=tmp_path / "warm.jsonl", console=False, use_queue_handler=queued)
    shutdown_logging()
    pid = os.fork()
    if pid == 0:  # the second user
        code = 1
        try:
            os.setgid(1001)
            os.setuid(1001)
            setup_logging(log_file=log_file, console=False, use_queue_handler=queued)
            logging.getLogger("second").warning("from user 1001")
            code = 0 if flush_logging(10) and logging_stats().lost == 0 else 2
            shutdown_logging()
        except BaseException as exc:
            sys.stderr.write(f"child failed: {exc!r}\n")
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [r["message"] for r in read_jsonl(log_file)] == ["from user 1001"]


def test_an_unopenable_lock_file_is_named_in_the_error(tmp_path: Path) -> None:
    lock = lock_path_for(tmp_path / "app.jsonl")
    lock.mkdir()  # a directory where the lock file goes: open() fails
    with pytest.raises(OSError, match=r"lock file '.*\.app\.jsonl\.lock'"):
        setup_logging(log_file=tmp_path / "app.jsonl")


# --- 5 and 6: escapes through rich and logview ----------------------------------------------

EVIL = "\x1b[2J\x1b[H\x1b]0;owned\x07\x9b31m\u202eevil"


@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
def test_rich_never_passes_escapes_to_the_terminal(tmp_path: Path, queued: bool) -> None:
    pytest.importorskip("rich")
    code = f"""
        import logging
        from shared.logging_config import setup_logging
        setup_logging(use_rich=True, rich_tracebacks=True, use_queue_handler={queued})
        log = logging.getLogger("app")
        log.warning("message " + {EVIL!r}, extra={{"k": {EVIL!r}}})
        try:
            raise ValueError("boom " + {EVIL!r})
        except ValueError:
            log.exception("failed")
    """
    result = run_python(code, tmp_path, env={"COLUMNS": "200", "FORCE_COLOR": ""})
    assert result.returncode == 0, result.stderr
    err = result.stderr
    assert "message" in err
    for raw in ("\x1b[2J", "\x1b[H", "\x1b]0;", "\x07", "\x9b", "\u202e"):
        assert raw not in err, repr(raw)
    assert "\\x1b[2J" in err


def test_logview_escapes_a_crafted_timestamp(tmp_path: Path) -> None:
    path = tmp_path / "evil.jsonl"
    record = {"timestamp": "2026-01-01T" + EVIL, "level": "ERROR", "logger": "x", "message": "m"}
    path.write_text(json.dumps(record) + "\n")
    out = subprocess.run(
        [sys.executable, "-m", "shared.logview", str(path)], capture_output=True, check=True
    ).stdout.decode()
    for raw in ("\x1b[2J", "\x1b]0;", "\x07", "\x9b", "\u202e"):
        assert raw not in out, repr(raw)


# --- 7: a blank-line bomb ---------------------------------------------------------------------


def test_logview_reads_a_gz_of_newlines_without_a_parse_per_line(tmp_path: Path) -> None:
    """64 MiB of newlines (a bomb at the scale of a test) and one record: the
    blank lines never reach the parser (before: ~2 us each, about 130 s here)."""
    path = tmp_path / "bomb.jsonl.gz"
    record = (
        b'{"timestamp":"2026-01-01T00:00:00.000000+00:00","level":"ERROR",'
        b'"logger":"x","message":"found"}\n'
    )
    with gzip.open(path, "wb", compresslevel=1) as out:
        blank = b"\n" * (1 << 20)
        for _ in range(64):
            out.write(blank)
        out.write(b"  \n\t\n" + record + b"\n\n")
    counters = Counters()
    lines = [line for block in blocks(expand([str(path)])[0], counters) for line in block]
    assert len(lines) < 10  # not 64 million
    assert [line for line in lines if line.strip()] == [record.rstrip(b"\n")]
    result = subprocess.run(
        [sys.executable, "-m", "shared.logview", str(path), "--json"],
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    assert [json.loads(x)["message"] for x in result.stdout.splitlines()] == ["found"]


# --- 8: the queue's byte budget ---------------------------------------------------------------


def test_the_queue_holds_large_records_within_its_byte_budget(tmp_path: Path) -> None:
    """200 KB records faster than a stalled writer takes them: the queue holds at
    most queue_bytes of them (plus one), whatever queue_size says."""
    code = """
        import logging, threading
        from shared.logging_config import setup_logging, flush_logging, logging_stats
        from shared import logging_config
        setup_logging(log_file="app.jsonl", console=False, use_queue_handler=True,
                      queue_size=10_000, queue_bytes=2_000_000, overflow="drop")
        buffer = logging_config._current.handler.buffer
        pipeline = logging_config._current.handler.pipeline
        peak = 0
        with pipeline.lock:  # the writer stalls, as on a slow disk
            for i in range(200):
                logging.getLogger("big").info("%d %s", i, "y" * 200_000)
                peak = max(peak, buffer.large_bytes)
        assert flush_logging(10)
        stats = logging_stats()
        print("RESULT", peak, stats.written, stats.dropped, flush=True)
    """
    result = run_python(code, tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("RESULT")]
    _, peak, written, dropped = line.split()
    assert int(peak) <= 2_000_000 + 200_100
    assert int(dropped) > 0
    assert int(written) + int(dropped) == 200 + 1  # the drop notice is written too


def test_block_mode_waits_for_room_in_the_byte_budget(tmp_path: Path) -> None:
    setup_logging(
        log_file=tmp_path / "app.jsonl", console=False, use_queue_handler=True,
        queue_bytes=500_000,
    )  # fmt: skip
    for i in range(50):
        logging.getLogger("big").info("%d %s", i, "z" * 100_000)
    assert flush_logging(10)
    stats = logging_stats()
    shutdown_logging()
    assert (stats.written, stats.dropped, stats.lost) == (50, 0, 0)


@pytest.mark.parametrize("bad", [0, 100, -1])
def test_a_bad_queue_bytes_fails_fast(bad: int) -> None:
    with pytest.raises(ValueError, match="queue_bytes"):
        setup_logging(queue_bytes=bad)


# --- 9: exit with a frozen daemon thread -------------------------------------------------------


@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
def test_exit_finishes_while_a_daemon_thread_holds_the_pipeline_lock(
    tmp_path: Path, queued: bool
) -> None:
    """A daemon thread frozen mid-call (here: holding the pipeline's lock for ever)
    and a __del__ that logs at exit: the process still ends within the deadline,
    and the main thread's last records are written."""
    code = f"""
        import logging, threading, time
        from shared import logging_config
        from shared.logging_config import setup_logging
        setup_logging(log_file="app.jsonl", console=False, use_queue_handler={queued})
        log = logging.getLogger("main")
        for i in range(10):
            log.warning("main %d", i)
        logging_config.flush_logging(10)
        pipeline = logging_config._current.handler.pipeline
        held = threading.Event()
        def frozen():
            pipeline.lock.acquire()
            held.set()
            time.sleep(3600)
        threading.Thread(target=frozen, daemon=True).start()
        held.wait()
        class Finalized:
            def __del__(self):
                logging.getLogger("del").warning("finalizer")
        keep = Finalized()
    """
    started = time.monotonic()
    result = run_python(code, tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 30
    messages = [r["message"] for r in read_jsonl(tmp_path / "app.jsonl")]
    assert messages[:10] == [f"main {i}" for i in range(10)]


# --- 10: one notice per write-error episode -----------------------------------------------------


@pytest.mark.parametrize("queued", MODES, ids=MODE_IDS)
def test_disk_full_with_records_of_mixed_sizes_is_one_episode(
    small_tmpfs: Path, queued: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    log_file = small_tmpfs / "app.jsonl"
    setup_logging(
        log_file=log_file, console=False, use_queue_handler=queued, max_log_bytes=10_000_000
    )
    (small_tmpfs / "filler").write_bytes(b"\0" * 230_000)
    log = logging.getLogger("mixed")
    calls = 0
    for i in range(400):
        log.info("small %d", i)
        log.info("large %d %s", i, "p" * 3000)
        calls += 2
    assert flush_logging(10)
    stats = logging_stats()
    shutdown_logging()
    err = capfd.readouterr().err
    assert stats.lost > 0
    assert stats.written + stats.lost == calls
    notices = [x for x in err.splitlines() if x.startswith("shared.logging:")]
    assert len(notices) <= 2, notices
    assert err.count("cannot write to") == 1
