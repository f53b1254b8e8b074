"""Living beside other code that configures logging: dictConfig, uvicorn, tqdm,
absl, APM agents that wrap makeRecord. The real packages, queue and sync mode."""

from __future__ import annotations

import functools
import inspect
import logging
import logging.config
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from shared._logging.hooks import _original_make_record
from shared.logging_config import flush_logging, logging_stats, setup_logging, shutdown_logging

from .conftest import read_jsonl, run_python

MODES = [pytest.param(False, id="sync"), pytest.param(True, id="queue")]


def _messages(path: Path) -> list[str]:
    return [r["message"] for r in read_jsonl(path)]


# --- other code closes our handler -------------------------------------------------------


LIBRARY_ONLY_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"lib": {"class": "logging.NullHandler"}},
    "loggers": {"somelib": {"handlers": ["lib"], "level": "INFO"}},
}


@pytest.mark.parametrize("queued", MODES)
@pytest.mark.parametrize(
    "intrusion",
    [
        pytest.param(lambda: logging.config.dictConfig(LIBRARY_ONLY_CONFIG), id="dictConfig"),
        pytest.param(logging.shutdown, id="logging.shutdown"),
    ],
)
def test_the_file_survives_other_code_closing_our_handler(
    tmp_path: Path, queued: bool, intrusion: Any
) -> None:
    """dictConfig (even for a library's own loggers) and logging.shutdown() close
    every handler; ours keeps writing, as stdlib's FileHandler does, and loses nothing."""
    log_file = tmp_path / "app.jsonl"
    setup_logging(log_file=log_file, console=False, use_queue_handler=queued)
    log = logging.getLogger("app")
    log.info("before")
    intrusion()
    for i in range(100):
        log.info("after %d", i)
    assert flush_logging(10)
    stats = logging_stats()
    shutdown_logging()
    assert _messages(log_file) == ["before"] + [f"after {i}" for i in range(100)]
    assert stats.lost == 0
    assert stats.written == 101


@pytest.mark.parametrize("queued", MODES)
def test_basic_config_force_takes_the_root_on_purpose(
    tmp_path: Path, queued: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """basicConfig(force=True) removes our handler: respected, nothing lost or
    written behind its back, and shutdown_logging still ends cleanly."""
    log_file = tmp_path / "app.jsonl"
    setup_logging(log_file=log_file, console=False, use_queue_handler=queued)
    log = logging.getLogger("app")
    log.warning("ours")
    logging.basicConfig(force=True, stream=sys.stdout, format="basic: %(message)s")
    try:
        log.warning("theirs")
        assert logging_stats().lost == 0
        shutdown_logging()
        assert _messages(log_file) == ["ours"]
        assert "basic: theirs" in capsys.readouterr().out
    finally:
        for handler in logging.root.handlers[:]:
            if handler.__class__ is logging.StreamHandler:
                logging.root.removeHandler(handler)


@pytest.mark.parametrize("queued", MODES)
def test_closing_twice_never_closes_the_applications_files(tmp_path: Path, queued: bool) -> None:
    """After logging.shutdown() and two shutdown_logging() calls, the files the
    application opened in between (reusing freed descriptor numbers) still work."""
    setup_logging(log_file=tmp_path / "app.jsonl", use_queue_handler=queued, console=False)
    logging.shutdown()
    opened = [os.open(tmp_path / f"mine-{i}", os.O_RDWR | os.O_CREAT) for i in range(8)]
    try:
        shutdown_logging()
        shutdown_logging()
        setup_logging(log_file=tmp_path / "again.jsonl", use_queue_handler=queued, console=False)
        logging.getLogger("app").info("still here")
        shutdown_logging()
        for fd in opened:
            assert os.write(fd, b"x") == 1
    finally:
        for fd in opened:
            os.close(fd)
    assert _messages(tmp_path / "again.jsonl") == ["still here"]


# --- tools that take over the console -------------------------------------------------------


@pytest.mark.parametrize("queued", MODES)
def test_tqdm_redirect_prints_each_record_once(
    tmp_path: Path, queued: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """tqdm's logging_redirect_tqdm finds our console, swaps it for tqdm.write with
    our format and our console level; the file gets everything."""
    setup_logging(
        "DEBUG", log_file=tmp_path / "app.jsonl", console_level="INFO", use_queue_handler=queued
    )
    log = logging.getLogger("train")
    with logging_redirect_tqdm():
        for step in tqdm(range(5), file=sys.stderr):
            log.info("step %d", step, extra={"loss": 0.5})
            log.debug("detail %d", step)
            assert flush_logging(10)
    log.info("after the bar")
    shutdown_logging()
    err = capsys.readouterr().err
    for step in range(5):
        (line,) = [x for x in err.splitlines() if f"step {step} " in x]
        assert re.search(rf"INFO\s+train: step {step} loss=0.5$", line)
    assert "detail" not in err
    assert err.count("after the bar") == 1
    assert len(_messages(tmp_path / "app.jsonl")) == 11


def test_absl_app_run_prints_each_record_once(tmp_path: Path) -> None:
    """absl's app.run removes stderr StreamHandlers from the root for its own: it
    takes our console, and the file keeps every record."""
    result = run_python(
        """
        import logging
        from absl import app
        from shared.logging_config import setup_logging, shutdown_logging
        setup_logging(log_file="app.jsonl")
        def main(argv):
            logging.getLogger("job").warning("inside absl %d", 1)
            shutdown_logging()
        app.run(main)
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("inside absl 1") == 1
    assert _messages(tmp_path / "app.jsonl") == ["inside absl 1"]


def test_multi_line_messages_are_indented_on_the_console(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Continuation lines sit indented under their record; other control characters
    and escape sequences stay escaped, so no line can pass for a record."""
    setup_logging(log_file=tmp_path / "app.jsonl")
    table = "   a  b\n0  1  2\n1  3  4"
    logging.getLogger("df").info("\n%s", table)
    logging.getLogger("df").info("first\nsecond\x1b[2J\r\n2026-01-01 00:00:00.000 ERROR forged")
    shutdown_logging()
    lines = capsys.readouterr().err.splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith("df: "))
    assert lines[start + 1 : start + 4] == ["       a  b", "    0  1  2", "    1  3  4"]
    forged = next(i for i, line in enumerate(lines) if line.endswith("df: first"))
    assert lines[forged + 1] == "    second\\x1b[2J"
    assert lines[forged + 2] == "    2026-01-01 00:00:00.000 ERROR forged"
    assert _messages(tmp_path / "app.jsonl")[0] == "\n" + table


# --- APM agents that wrap makeRecord ------------------------------------------------------


def test_a_make_record_wrapper_installed_before_setup_is_chained(tmp_path: Path) -> None:
    """A functools.wraps wrapper (what ddtrace's log injection does) keeps working,
    introspection and autospec work, and shutdown puts the wrapper back."""
    original = logging.Logger.makeRecord

    @functools.wraps(original)
    def with_trace_id(self: logging.Logger, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = original(self, *args, **kwargs)
        record.__dict__["dd.trace_id"] = "1234"
        return record

    logging.Logger.makeRecord = with_trace_id  # type: ignore[method-assign]
    try:
        setup_logging(log_file=tmp_path / "app.jsonl", console=False)
        assert inspect.signature(logging.Logger.makeRecord) == inspect.signature(original)
        logging.getLogger("apm").info("traced", extra={"name": "renamed, not an error"})
        with mock.patch.object(logging.Logger, "makeRecord", autospec=True) as patched:
            patched.side_effect = original
            logging.getLogger("apm").info("mocked")
            assert patched.call_count == 1
        shutdown_logging()
        assert logging.Logger.makeRecord is with_trace_id
    finally:
        logging.Logger.makeRecord = _original_make_record  # type: ignore[method-assign]
    record, mocked = read_jsonl(tmp_path / "app.jsonl")
    assert record["dd.trace_id"] == "1234"
    assert mocked["message"] == "mocked"
    assert record["extra_name"] == "renamed, not an error"


# --- uvicorn -----------------------------------------------------------------------------

UVICORN_APP = """
import logging, threading, httpx, uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from shared.logging_config import logging_stats, setup_logging, shutdown_logging

setup_logging(log_file="app.jsonl", use_queue_handler={queued})

async def hello(request):
    logging.getLogger("app.handler").info("handled %s", request.url.path)
    return PlainTextResponse("hi")

app = Starlette(routes=[Route("/hello", hello)])
config = uvicorn.Config(app, host="127.0.0.1", port=0, {log_config} lifespan="off")
server = uvicorn.Server(config)
thread = threading.Thread(target=server.run)
thread.start()
while not server.started:
    thread.join(0.01)
port = server.servers[0].sockets[0].getsockname()[1]
with httpx.Client() as client:
    for _ in range(3):
        assert client.get(f"http://127.0.0.1:{{port}}/hello").text == "hi"
server.should_exit = True
thread.join()
print(logging_stats())
shutdown_logging()
"""


@pytest.mark.parametrize("queued", MODES)
@pytest.mark.parametrize("own_config", [True, False], ids=["default-log_config", "log_config=None"])
def test_uvicorn_and_httpx_records_reach_the_file(
    tmp_path: Path, queued: bool, own_config: bool
) -> None:
    """uvicorn on 127.0.0.1, three requests through httpx. With uvicorn's own
    log_config (its terminal handlers, propagate=False) and with log_config=None,
    its access records reach our file once each, beside the app's and httpx's,
    without its ANSI colour_message copy, and print once."""
    log_config = "" if own_config else "log_config=None,"
    code = UVICORN_APP.format(queued=queued, log_config=log_config)
    result = run_python(code, tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "lost=0" in result.stdout
    records = read_jsonl(tmp_path / "app.jsonl")
    by_logger: dict[str, list[str]] = {}
    for record in records:
        by_logger.setdefault(record["logger"], []).append(record["message"])
    assert by_logger["app.handler"] == ["handled /hello"] * 3
    assert len(by_logger["httpx"]) == 3
    assert all("color_message" not in r for r in records)
    assert "\x1b" not in (tmp_path / "app.jsonl").read_text()
    assert len(by_logger["uvicorn.access"]) == 3
    assert sum("Uvicorn running" in m for m in by_logger["uvicorn.error"]) == 1
    assert result.stderr.count("Uvicorn running") == 1
    assert "\x1b" not in result.stderr.split("Uvicorn running")[0]


# --- CPython's own test suite ------------------------------------------------------------

#: Our documented difference: an extra that collides with a record attribute is
#: kept under a new name instead of raising KeyError (README, "extra").
DOCUMENTED_DIFFERENCES = {"test.test_logging.LoggerTest.test_make_record_with_extra_overwrite"}


def test_cpython_test_logging_passes_with_our_configuration(tmp_path: Path) -> None:
    """CPython's test_logging for this interpreter, with setup_logging active during
    each test body, fails nothing that it does not fail beside a plain stdlib
    FileHandler on the root, except the documented renaming of colliding extras."""
    runs = {}
    for mode in ("stdlib", "ours"):
        (tmp_path / mode).mkdir()
        command = [sys.executable, "-m", "tests.cpython_test_logging", mode, str(tmp_path / mode)]
        runs[mode] = subprocess.Popen(
            command, cwd=Path(__file__).parent.parent, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
    failed = {}
    for mode, process in runs.items():
        out, _ = process.communicate(timeout=600)
        assert process.returncode == 0, out
        lines = out.splitlines()
        assert lines[-1].startswith("ran ")
        assert int(lines[-1][4:]) > 100
        failed[mode] = {line.removeprefix("failed ") for line in lines[:-1]}
    assert failed["ours"] - failed["stdlib"] == DOCUMENTED_DIFFERENCES


GUNICORN_CONFIG = """
import logging
bind = "127.0.0.1:0"
workers = 2
def post_fork(server, worker):
    from shared.logging_config import setup_logging
    setup_logging(log_file="api.jsonl", use_queue_handler=True)
    for name in ("gunicorn.error", "gunicorn.access"):
        logging.getLogger(name).propagate = True
        logging.getLogger(name).handlers.clear()
"""

GUNICORN_APP = """
import logging
def app(environ, start_response):
    logging.getLogger("app.view").info("served %s", environ["PATH_INFO"])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hi"]
"""


def test_gunicorn_workers_log_to_one_file(tmp_path: Path) -> None:
    """The gunicorn recipe: setup_logging in post_fork, two workers, one file with
    the app's records and gunicorn's own, every request once."""
    (tmp_path / "gunicorn_conf.py").write_text(GUNICORN_CONFIG)
    (tmp_path / "wsgi.py").write_text(GUNICORN_APP)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn_conf.py", "--access-logfile", "-",
         "wsgi:app"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stderr is not None
        port = None
        for line in server.stderr:  # "Listening at: http://127.0.0.1:PORT"
            if found := re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line):
                port = int(found.group(1))
                break
        assert port is not None
        with httpx.Client() as client:
            for i in range(6):
                assert client.get(f"http://127.0.0.1:{port}/r{i}").text == "hi"
    finally:
        server.terminate()
        server.communicate(timeout=60)
    records = read_jsonl(tmp_path / "api.jsonl")
    served = sorted(r["message"] for r in records if r["logger"] == "app.view")
    assert served == [f"served /r{i}" for i in range(6)]
    assert len([r for r in records if r["logger"] == "gunicorn.access"]) == 6


class _DescriptorWrapper:
    """A makeRecord wrapper that is a descriptor, not a function (wrapt's shape)."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def __get__(self, instance: Any, owner: Any) -> Any:
        def bound(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = self.wrapped(instance, *args, **kwargs)
            record.__dict__["apm"] = "on"
            return record

        return bound


def test_a_descriptor_make_record_wrapper_is_bound_and_chained(tmp_path: Path) -> None:
    """A wrapt-style descriptor installed before setup is bound as the class would
    bind it, its field reaches the file, and shutdown puts it back."""
    wrapper = _DescriptorWrapper(_original_make_record)
    logging.Logger.makeRecord = wrapper  # type: ignore[assignment,method-assign]
    try:
        setup_logging(log_file=tmp_path / "app.jsonl", console=False)
        logging.getLogger("apm").info("wrapped", extra={"step": 1})
        shutdown_logging()
        assert logging.Logger.__dict__["makeRecord"] is wrapper
    finally:
        logging.Logger.makeRecord = _original_make_record  # type: ignore[method-assign]
    (record,) = read_jsonl(tmp_path / "app.jsonl")
    assert (record["apm"], record["step"]) == ("on", 1)
