"""logview, run as the installed command: sources, merge, filters, follow, stats."""

from __future__ import annotations

import gzip
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.logging_config import setup_logging, shutdown_logging
from shared.logview import _sources
from shared.logview._print_all import PARALLEL_FROM_BYTES, _workers_for
from shared.logview._sources import Source

LOGVIEW = str(Path(sys.executable).parent / "logview")


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without colour overrides (tests choose colours explicitly)."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(extra or {})
    return env


def logview(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [LOGVIEW, *args], input=stdin, capture_output=True, timeout=60, env=_env(env), check=False
    )


def records_of(output: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.decode().splitlines()]


def ours(path: Path, count: int, *, max_log_bytes: int = 100_000_000, backups: int = 5) -> None:
    """Write `count` records with our own library (synchronously)."""
    setup_logging(log_file=path, console=False, max_log_bytes=max_log_bytes, backup_count=backups)
    for i in range(count):
        level = logging.ERROR if i % 10 == 0 else logging.INFO
        logging.getLogger("bifrost.ssh" if i % 2 else "rollouts").log(
            level, "record %d", i, extra={"i": i, "reward": i / 10}
        )
    shutdown_logging()


def test_rotated_set_is_read_oldest_first(tmp_path: Path) -> None:
    """A base path brings app.jsonl.N ... .1 and itself, in the order written."""
    log_file = tmp_path / "app.jsonl"
    ours(log_file, 400, max_log_bytes=8000, backups=50)
    assert (tmp_path / "app.jsonl.3").exists()
    result = logview(str(log_file), "--json")
    assert result.returncode == 0, result.stderr
    assert [r["i"] for r in records_of(result.stdout)] == list(range(400))


def test_pretty_output_shows_fields_and_tracebacks(tmp_path: Path) -> None:
    """Pretty: time, level, logger, message, key=value, traceback as indented lines."""
    log_file = tmp_path / "app.jsonl"
    setup_logging(log_file=log_file, console=False)
    try:
        raise ValueError("bad value")
    except ValueError:
        logging.getLogger("x").exception("failed", extra={"rollout_id": 7})
    shutdown_logging()
    out = logview(str(log_file), "--color", "never").stdout.decode()
    first, *rest = out.splitlines()
    assert first.endswith("ERROR    x: failed rollout_id=7")
    assert rest[0] == "    Traceback (most recent call last):"
    assert rest[-1] == "    ValueError: bad value"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--level", "ERROR"], [i for i in range(100) if i % 10 == 0]),
        (["--logger", "bifrost"], [i for i in range(100) if i % 2]),
        (["--logger", "rollouts", "--level", "ERROR"], [i for i in range(100) if i % 10 == 0]),
        (["--grep", r"record 9\d$"], list(range(90, 100))),
        (["--where", "i>=95"], list(range(95, 100))),
        (["--where", "i<3", "--where", "reward!=0.1"], [0, 2]),
        (["--where", "message~^record 4[0-2]$"], [40, 41, 42]),
        (["--where", "logger=rollouts", "--where", "i<=4"], [0, 2, 4]),
        (["-n", "3"], [97, 98, 99]),
        (["--level", "ERROR", "-n", "2"], [80, 90]),
    ],
)
def test_filters(tmp_path: Path, args: list[str], expected: list[int]) -> None:
    """--level, --logger, --grep, --where (numeric, regex, AND) and -n combine with AND."""
    log_file = tmp_path / "app.jsonl"
    ours(log_file, 100)
    result = logview(str(log_file), "--json", *args)
    assert result.returncode == 0, result.stderr
    assert [r["i"] for r in records_of(result.stdout)] == expected


def test_dotted_where_reaches_nested_values(tmp_path: Path) -> None:
    """--where exception.type=ValueError looks inside the exception object."""
    log_file = tmp_path / "app.jsonl"
    setup_logging(log_file=log_file, console=False)
    for exc in (ValueError("a"), KeyError("b")):
        try:
            raise exc
        except Exception:
            logging.getLogger("x").exception("failed")
    shutdown_logging()
    result = logview(str(log_file), "--json", "--where", "exception.type=ValueError")
    assert [r["exception"]["type"] for r in records_of(result.stdout)] == ["ValueError"]


def test_since_and_until(tmp_path: Path) -> None:
    """--since/--until take ISO 8601 or a relative duration."""
    lines = [
        {"timestamp": f"2026-01-01T00:0{m}:00.000000+00:00", "level": "INFO",
         "logger": "t", "message": str(m)}
        for m in range(6)
    ]  # fmt: skip
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = logview(
        str(path), "--json", "--since", "2026-01-01T00:02:00+00:00",
        "--until", "2026-01-01T00:04:00+00:00",
    )  # fmt: skip
    assert [r["message"] for r in records_of(result.stdout)] == ["2", "3", "4"]
    assert logview(str(path), "--json", "--since", "1h").stdout == b""  # all older than 1h
    assert len(records_of(logview(str(path), "--json", "--until", "10m").stdout)) == 6


def test_merges_several_files_by_time(tmp_path: Path) -> None:
    """Several sources (a directory's files) are merged by timestamp, streaming."""
    for n in range(3):
        lines = [
            {"timestamp": f"2026-01-01T00:00:{s:02d}.{n}00000+00:00", "level": "INFO",
             "logger": f"w{n}", "message": f"{s}.{n}"}
            for s in range(10)
        ]  # fmt: skip
        (tmp_path / f"w{n}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    result = logview(str(tmp_path), "--json")
    messages = [r["message"] for r in records_of(result.stdout)]
    assert messages == [f"{s}.{n}" for s in range(10) for n in range(3)]


def test_gzip_and_stdin(tmp_path: Path) -> None:
    """.gz files are read transparently; - reads stdin."""
    log_file = tmp_path / "app.jsonl"
    ours(log_file, 20)
    data = log_file.read_bytes()
    with gzip.open(tmp_path / "old.jsonl.gz", "wb") as packed:
        packed.write(data)
    from_gz = logview(str(tmp_path / "old.jsonl.gz"), "--json")
    from_stdin = logview("-", "--json", stdin=data)
    assert [r["i"] for r in records_of(from_gz.stdout)] == list(range(20))
    assert from_stdin.stdout == from_gz.stdout


def test_corrupt_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    """Non-JSON lines, a truncated last line and a huge line are skipped, counted once."""
    log_file = tmp_path / "app.jsonl"
    ours(log_file, 5)
    with log_file.open("ab") as out:
        out.write(b"not json at all\n")
        out.write(b'{"message": "x' + b"y" * (20 << 20) + b'"}\n')  # longer than 16 MiB
        out.write(b"[1, 2]\n")
        out.write(b'{"timestamp": "2026-01-01T00:00:00+00:00", "level": "ERROR", "mess')
    for args in ([], ["--level", "ERROR"]):
        result = logview(str(log_file), "--json", *args)
        assert result.returncode == 0
        assert len(records_of(result.stdout)) == (5 if not args else 1)
        assert result.stderr.decode().count("logview: skipped") == 1
        assert "skipped 4 lines" in result.stderr.decode() or args


@pytest.mark.parametrize(
    "timestamp",
    [
        "2026-01-01T\x1b[2J\x1b]0;t\x07:00.000000+00:00",
        "\x1bc\x1b[2J",
        "2026-01-01 \x1b[2J0:00:00.000",
    ],
)
def test_a_crafted_timestamp_is_escaped(tmp_path: Path, timestamp: str) -> None:
    """The time is a field of the file like any other: escaped, never printed raw."""
    record = {"timestamp": timestamp, "level": "ERROR", "logger": "x", "message": "m"}
    path = tmp_path / "evil.jsonl"
    path.write_text(json.dumps(record) + "\n")
    for color in ("never", "always"):
        out = logview(str(path), "--color", color).stdout.decode()
        assert "\x1b[2J" not in out
        assert "\x07" not in out
        assert "\x1bc" not in out
        assert "\\x1b" in out


def test_escape_sequences_never_reach_the_terminal(tmp_path: Path) -> None:
    """C0, DEL and C1 controls in keys and values are shown escaped; tracebacks keep lines."""
    evil = "\x1b]0;owned\x07\x1b[2J\r\x9b31m\x7f"
    record = {
        "timestamp": "2026-01-01T00:00:00.000000+00:00", "level": "ERROR",
        "logger": "x" + evil, "message": "m" + evil, "k" + evil: "v" + evil,
        "exception": {"type": "E", "message": "", "traceback": "Traceback\n\tline" + evil},
    }  # fmt: skip
    path = tmp_path / "evil.jsonl"
    path.write_text(json.dumps(record) + "\n")
    for color in ("never", "always"):
        out = logview(str(path), "--color", color).stdout.decode()
        for char in "\x07\r\x9b\x7f":
            assert char not in out
        assert "\x1b]" not in out
        assert "\x1b[2J" not in out
        assert "\\x1b]0;owned\\x07" in out
        assert "\n    \tline" in out  # traceback newline and tab still render


def test_every_pretty_path_prints_the_same(tmp_path: Path) -> None:
    """Printing everything takes a fused path for our own lines; -n takes the general
    one. Mixed, hostile and repeated shapes must print identically through both."""
    evil = "\x1b]0;owned\x07\x1b[2J\r\x9b31m\x7f\u2028"
    shapes: list[dict[str, Any]] = [
        {"timestamp": "2026-01-01T00:00:00.000001+00:00", "level": "info", "logger": "a",
         "message": "m" + evil, "k" + evil: "v" + evil, "n": 10**30, "f": 0.1, "s": "two words",
         "l": [1, {"x": None}], "b": True, "e": ""},
        {"timestamp": "2026-01-01T00:00:01.000000+00:00", "level": "ERROR", "logger": "b" + evil,
         "message": "failed",
         "exception": {"type": "E", "message": "", "traceback": "T\n\tl" + evil}},
        {"timestamp": "2026-01-01T00:00:02.000000+00:00", "level": "WARNING", "logger": "c",
         "message": "no traceback", "exception": {"type": "E", "message": "", "traceback": ""}},
        {"timestamp": "bad" + evil, "level": "ERROR", "logger": "d", "message": "odd time"},
        {"asctime": "2026-01-01 00:00:03,000", "levelname": "INFO", "name": "pjl", "message": "x"},
    ]  # fmt: skip
    path = tmp_path / "mixed.jsonl"
    with path.open("w") as out:
        for _ in range(3):  # a shape seen before takes the fused path
            for shape in shapes:
                out.write(json.dumps(shape) + "\n")
            out.write("not json\n[1]\n")
    for color in ("never", "always"):
        everything = logview(str(path), "--color", color)
        general = logview(str(path), "--color", color, "-n", "1000")
        assert everything.returncode == 0, everything.stderr
        assert everything.stdout == general.stdout
        assert everything.stderr == general.stderr
        assert b"\x1b]" not in everything.stdout
        assert everything.stdout.count(b"failed") == 3


def _big_log(tmp_path: Path) -> Path:
    """Past PARALLEL_FROM_BYTES, with a corrupt line, another writer's line and a
    cut-off last line."""
    path = tmp_path / "big.jsonl"
    lines = [
        json.dumps({"timestamp": f"2026-01-01T00:00:{i % 60:02d}.000000+00:00",
                    "level": "INFO", "logger": "w", "message": f"record {i}", "i": i,
                    "pad": "x" * 200})
        for i in range(40_000)
    ]  # fmt: skip
    lines[12_345] = "not json"
    lines[33_333] = '{"asctime": "2026-01-01 00:00:03,000", "levelname": "INFO", "name": "p"}'
    path.write_text("\n".join(lines) + '\n{"timestamp": "cut')
    assert path.stat().st_size > PARALLEL_FROM_BYTES
    assert _workers_for(Source("big", [path])) > 1
    return path


def _printing(path: Path) -> tuple[subprocess.Popen[bytes], bytes]:
    """logview printing ``path`` in colourless pretty mode, and its first line: once
    that line is read, the workers are up and the main process is writing."""
    # A job started in the background by a non-interactive shell (a CI runner,
    # nohup) has SIGINT ignored, and a child would inherit that; a handler is
    # reset to the default by exec instead.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            [LOGVIEW, str(path), "--color", "never"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, previous)
    assert proc.stdout is not None
    return proc, proc.stdout.readline()


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="workers need two cores")
def test_ctrl_c_while_workers_print_leaves_nothing_behind(tmp_path: Path) -> None:
    """SIGINT mid-output: exit 130, no traceback, and no worker left holding the pipe."""
    proc, first = _printing(_big_log(tmp_path))
    assert first.startswith(b"2026-01-01")
    # We stop reading: the output is far bigger than a pipe, so it is mid-write now.
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)  # EOF only once every process closed the pipe
    assert proc.returncode == 130
    assert err == b""


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if int(text[text.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="workers need two cores")
def test_a_worker_killed_mid_run_costs_no_line(tmp_path: Path) -> None:
    """A worker that dies (OOM killer, kill -9): its chunks are rendered by the main
    process, and the output is still every line, in order."""
    path = _big_log(tmp_path)
    proc, first = _printing(path)
    assert proc.stdout is not None
    workers = _children(proc.pid)
    assert len(workers) >= 2
    os.kill(workers[0], signal.SIGKILL)
    rest = proc.stdout.read()  # not communicate(): it would skip what readline() buffered
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.wait(timeout=60)
    general = logview(str(path), "--color", "never", "-n", "100000")
    assert proc.returncode == 0, err
    assert first + rest == general.stdout
    assert err == general.stderr


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="workers need two cores")
def test_big_input_printed_by_workers_in_order(tmp_path: Path) -> None:
    """Past PARALLEL_FROM_BYTES, worker processes render chunks: the output is the
    same, in the same order, with the same count of skipped lines."""
    path = _big_log(tmp_path)
    everything = logview(str(path), "--color", "never")
    general = logview(str(path), "--color", "never", "-n", "100000")
    assert everything.returncode == 0, everything.stderr
    assert everything.stdout == general.stdout
    assert (
        everything.stderr
        == general.stderr
        == b"logview: skipped 2 lines that are not JSON records\n"
    )
    shown = everything.stdout.decode().splitlines()
    assert [line.split("record ")[1].split()[0] for line in shown if "record " in line] == [
        str(i) for i in range(40_000) if i not in (12_345, 33_333)
    ]


@pytest.mark.parametrize("writer", ["python-json-logger", "structlog", "loguru"])
def test_reads_other_python_json_logs(tmp_path: Path, writer: str) -> None:
    """python-json-logger, structlog and loguru records need no configuration."""
    samples = {
        "python-json-logger": {
            "asctime": "2026-11-27 02:32:24,963", "levelname": "ERROR", "name": "pjl",
            "message": "bad", "exc_info": "Traceback (most recent call last):\nZeroDivisionError",
            "k": 1,
        },
        "structlog": {
            "k": 1, "event": "bad", "level": "error", "logger": "pjl",
            "timestamp": "2026-11-27T02:32:25.096441Z",
            "exception": "Traceback (most recent call last):\nZeroDivisionError",
        },
        "loguru": {
            "text": "2026-11-27 | ERROR | bad\nTraceback (most recent call last):\n"
                    "ZeroDivisionError\n",
            "record": {
                "exception": {"type": "ZeroDivisionError", "value": "x", "traceback": True},
                "extra": {"k": 1}, "level": {"icon": "x", "name": "ERROR", "no": 40},
                "message": "bad", "name": "pjl",
                "time": {"repr": "2026-11-27 02:32:24.893537+00:00", "timestamp": 1795746744.8},
            },
        },
    }  # fmt: skip
    info = {"timestamp": "2026-11-27T02:32:20+00:00", "level": "INFO", "logger": "o",
            "message": "fine"}  # fmt: skip
    path = tmp_path / "other.jsonl"
    path.write_text(json.dumps(info) + "\n" + json.dumps(samples[writer]) + "\n")
    out = logview(str(path), "--level", "ERROR", "--color", "never").stdout.decode()
    lines = out.splitlines()
    assert "ERROR    pjl: bad k=1" in lines[0], out
    assert "    ZeroDivisionError" in lines
    assert "fine" not in out
    assert len(records_of(logview(str(path), "--level", "ERROR", "--json").stdout)) == 1


def test_stats(tmp_path: Path) -> None:
    """--stats counts levels and loggers, shows the time range, top messages and a chart."""
    log_file = tmp_path / "app.jsonl"
    ours(log_file, 100)
    out = logview(str(log_file), "--stats").stdout.decode()
    assert "records: 100" in out
    assert "ERROR              10" in out
    assert "INFO               90" in out
    assert "bifrost.ssh" in out
    assert "rollouts" in out
    assert "records per minute" in out
    assert "█" in out


def test_usage_errors_name_the_bad_value(tmp_path: Path) -> None:
    """Bad arguments exit 2 with a sentence naming the value."""
    (tmp_path / "a.jsonl").write_text("")
    for args, words in [
        (["--level", "LOUD"], "'LOUD'"),
        (["--where", "no operator"], "'no operator'"),
        (["--since", "yesterday"], "'yesterday'"),
        (["missing.jsonl"], "missing.jsonl"),
    ]:
        result = logview(str(tmp_path / "a.jsonl"), *args)
        assert result.returncode == 2
        assert words in result.stderr.decode()


def test_python_dash_m_works(tmp_path: Path) -> None:
    """python -m shared.logview is the same command."""
    log_file = tmp_path / "app.jsonl"
    ours(log_file, 3)
    result = subprocess.run(
        [sys.executable, "-m", "shared.logview", str(log_file), "--json"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    assert len(records_of(result.stdout)) == 3


# --- follow ------------------------------------------------------------------------------


@pytest.fixture
def follower(tmp_path: Path) -> Iterator[tuple[Path, queue.Queue[dict[str, Any]]]]:
    """A running `logview -f --json` on tmp_path/app.jsonl, its records in a queue."""
    log_file = tmp_path / "app.jsonl"
    log_file.write_text("")
    proc = subprocess.Popen([LOGVIEW, str(log_file), "-f", "--json"], stdout=subprocess.PIPE)
    seen: queue.Queue[dict[str, Any]] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.put(json.loads(line))

    threading.Thread(target=pump, daemon=True).start()
    yield log_file, seen
    proc.terminate()
    proc.wait(timeout=10)


def _expect(seen: queue.Queue[dict[str, Any]], messages: list[str]) -> None:
    got = [seen.get(timeout=20)["message"] for _ in messages]
    assert got == messages


def test_follow_keeps_going_across_rotation(
    follower: tuple[Path, queue.Queue[dict[str, Any]]],
) -> None:
    """-f prints new records, and keeps going when our writer rotates the file."""
    log_file, seen = follower
    setup_logging(log_file=log_file, console=False, max_log_bytes=2000, backup_count=20)
    log = logging.getLogger("f")
    log.info("first")
    _expect(seen, ["first"])
    for i in range(40):  # several rotations
        log.info("rotating %d", i)
    _expect(seen, [f"rotating {i}" for i in range(40)])
    shutdown_logging()
    assert (log_file.parent / "app.jsonl.2").exists()


def test_follow_survives_truncation(follower: tuple[Path, queue.Queue[dict[str, Any]]]) -> None:
    """-f starts over when the file is truncated in place."""
    log_file, seen = follower
    line = {"timestamp": "2026-01-01T00:00:00+00:00", "level": "INFO", "logger": "t"}
    with log_file.open("a") as out:
        out.write(json.dumps({**line, "message": "before"}) + "\n")
    _expect(seen, ["before"])
    log_file.write_text("")  # truncate
    with log_file.open("a") as out:
        out.write(json.dumps({**line, "message": "after"}) + "\n")
    _expect(seen, ["after"])


def test_follow_reads_each_rotated_file_once_when_a_rotation_races_the_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rotation that renames the files while the follower opens them must not
    make it read a file twice or skip one: it takes a fresh view and opens again."""
    base = tmp_path / "app.jsonl"

    def rotate(text: str) -> None:
        for n in range(8, 0, -1):
            older = tmp_path / f"app.jsonl.{n}"
            if older.exists():
                older.rename(tmp_path / f"app.jsonl.{n + 1}")
        if base.exists():
            base.rename(tmp_path / "app.jsonl.1")
        base.write_text(text)

    rotate("a\n")
    ours = os.stat(base)
    rotate("b\n")
    rotate("c\n")  # ours is app.jsonl.2 now; b is .1, c is current
    real = _sources.rotated_set
    calls = 0

    def racing(path: Path) -> list[Path]:
        nonlocal calls
        calls += 1
        if calls == 2:  # between the first listing and the check after opening
            rotate("d\n")
        return real(path)

    monkeypatch.setattr(_sources, "rotated_set", racing)
    handles = _sources._open_rotated_after(base, ours)
    try:
        assert [h.read() for h in handles] == [b"b\n", b"c\n", b"d\n"]
    finally:
        for handle in handles:
            handle.close()
    assert calls >= 3, "the first view was stale and had to be taken again"
