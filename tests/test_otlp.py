"""Export to OpenTelemetry, tested against a real collector (rotel-agent)."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.logging_config import flush_logging, logging_stats, setup_logging, shutdown_logging
from shared.logging_context import log_context

from .conftest import read_jsonl, run_python

rotel = pytest.importorskip("rotel", reason="rotel ships no collector wheel for this platform")
AGENT = Path(rotel.__file__).parent / "rotel-agent"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(predicate: object, timeout: float, what: str) -> None:
    """Poll a condition with a deadline (a collector's output has no event to wait on)."""
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _agent_env() -> dict[str, str]:
    """rotel-agent links the libpython of the interpreter its wheel was built for; a
    pyenv or source-built Python keeps it in LIBDIR, off the loader's default path."""
    env = dict(os.environ)
    libdir = sysconfig.get_config_var("LIBDIR")
    if libdir:
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (libdir, env.get("LD_LIBRARY_PATH", "")) if p
        )
    return env


class Collector:
    def __init__(self, directory: Path) -> None:
        self.http_port = _free_port()
        self.output = directory / "collector.txt"
        self._out = self.output.open("w")
        self.process = subprocess.Popen(
            [
                str(AGENT), "start", "--exporter", "blackhole",
                "--debug-log", "logs", "--debug-log-verbosity", "detailed",
                "--otlp-http-endpoint", f"127.0.0.1:{self.http_port}",
                "--otlp-grpc-endpoint", f"127.0.0.1:{_free_port()}",
            ],
            cwd=directory, stdout=self._out, stderr=subprocess.STDOUT, env=_agent_env(),
        )  # fmt: skip
        _wait_for(self._accepting, 20, "the collector to listen")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def _accepting(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.http_port), timeout=0.2):
                return True
        except OSError:
            return False

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def records(self) -> list[str]:
        """The printed log records, one string each."""
        return re.split(r"\nLogRecord #\d+\n", self.text())[1:]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self._out.close()


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[Collector]:
    """A real OpenTelemetry collector on a free loopback port."""
    running = Collector(tmp_path)
    yield running
    running.stop()


def test_records_arrive_with_body_severity_fields_exception_and_resource(
    collector: Collector, tmp_path: Path
) -> None:
    """Body, severity, extras, context, exception and resource reach the collector."""
    setup_logging(
        log_file=tmp_path / "app.jsonl",
        use_queue_handler=True,
        console=False,
        otlp_endpoint=collector.endpoint,
        service_name="rollout-service",
    )
    log = logging.getLogger("rollouts.worker")
    with log_context(rollout_id=42):
        log.info("rollout finished", extra={"reward": 0.75, "tags": ["a", "b"]})
        try:
            raise TimeoutError("grader timed out")
        except TimeoutError:
            log.exception("rollout failed", extra={"token": "sk-abcdefghijklmnopqrstuvwx"})
    shutdown_logging()  # drains the queue, then flushes the exporter
    _wait_for(lambda: "rollout failed" in collector.text(), 20, "the records")
    text = collector.text()
    assert "service.name: Str(rollout-service)" in text
    assert f"host.name: Str({socket.gethostname()})" in text
    assert "process.pid: Int(" in text
    finished, failed = collector.records()[:2]
    assert "Body: Str(rollout finished)" in finished
    assert "SeverityText: INFO" in finished
    assert "SEVERITY_NUMBER_INFO" in finished
    assert "reward: Double(0.75)" in finished
    assert "rollout_id: Int(42)" in finished
    assert "InstrumentationScope rollouts.worker" in text
    assert "SEVERITY_NUMBER_ERROR" in failed
    assert "exception.type: Str(TimeoutError)" in failed
    assert "exception.message: Str(grader timed out)" in failed
    assert "exception.stacktrace: Str(Traceback (most recent call last)" in failed
    assert "sk-abcdefghijklmnopqrstuvwx" not in text  # redacted before export too
    assert logging_stats().exported == 0  # the configuration is gone after shutdown


def test_rank_fields_are_in_the_resource(collector: Collector, tmp_path: Path) -> None:
    """Under torchrun the resource carries rank, local_rank and world_size."""
    run_python(
        f"""
        import logging
        from shared.logging_config import setup_logging
        setup_logging(console=False, otlp_endpoint={collector.endpoint!r})
        logging.getLogger("train").warning("rank hello")
        """,
        tmp_path,
        env={"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "8"},
        check=True,
    )
    _wait_for(lambda: "rank hello" in collector.text(), 20, "the record")
    text = collector.text()
    assert "rank: Int(3)" in text
    assert "local_rank: Int(1)" in text
    assert "world_size: Int(8)" in text
    assert "service.name: Str(script)" in text  # default: the script's name


def test_sigterm_flushes_the_export(collector: Collector, tmp_path: Path) -> None:
    """SIGTERM drains the queue and flushes the exporter before dying by SIGTERM."""
    script = tmp_path / "job.py"
    script.write_text(
        "import logging, time\n"
        "from shared.logging_config import setup_logging\n"
        "setup_logging(use_queue_handler=True, console=False,\n"
        f"              otlp_endpoint={collector.endpoint!r})\n"
        "for i in range(300):\n"
        "    logging.getLogger('job').info('record %d', i)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.terminate()
    assert proc.wait(timeout=30) == -15
    _wait_for(lambda: "Body: Str(record 299)" in collector.text(), 20, "the last record")
    bodies = re.findall(r"Body: Str\(record (\d+)\)", collector.text())
    assert sorted(map(int, bodies)) == list(range(300))


def test_collector_down_never_blocks_and_counts_drops(tmp_path: Path) -> None:
    """A dead collector: calls return at once, the file has everything, drops are counted
    in logging_stats and reported in the file; shutdown stays bounded."""
    dead = f"http://127.0.0.1:{_free_port()}"
    log_file = tmp_path / "app.jsonl"
    setup_logging(log_file=log_file, console=False, use_queue_handler=True, otlp_endpoint=dead)
    log = logging.getLogger("job")
    slowest = 0.0
    for i in range(200):
        start = time.perf_counter()
        log.info("record %d", i)
        slowest = max(slowest, time.perf_counter() - start)
    assert slowest < 1.0  # never waits for the network (generous for a loaded CI box)
    flush_logging(timeout=15)
    stats = logging_stats()
    started = time.monotonic()
    shutdown_logging()
    assert time.monotonic() - started < 15
    assert stats.exported == 0
    assert stats.export_dropped == 200
    records = read_jsonl(log_file)
    assert [r["message"] for r in records if r["logger"] == "job"] == [
        f"record {i}" for i in range(200)
    ]
    reports = [r for r in records if "otlp_dropped" in r]
    assert sum(r["otlp_dropped"] for r in reports) == 200


def test_sdk_and_http_client_records_are_not_exported(collector: Collector, tmp_path: Path) -> None:
    """opentelemetry's and urllib3's own records stay out of the export (no feedback loop)."""
    setup_logging(console=False, otlp_endpoint=collector.endpoint, log_file=tmp_path / "a.jsonl")
    logging.getLogger("urllib3.connectionpool").warning("connection noise")
    logging.getLogger("opentelemetry.sdk").warning("sdk noise")
    logging.getLogger("app").warning("app record")
    shutdown_logging()
    _wait_for(lambda: "app record" in collector.text(), 20, "the app record")
    text = collector.text()
    assert "connection noise" not in text
    assert "sdk noise" not in text
    messages = [r["message"] for r in read_jsonl(tmp_path / "a.jsonl")]
    assert "connection noise" in messages  # still in the file


def test_bad_endpoint_fails_fast() -> None:
    """otlp_endpoint must be an http(s) URL."""
    with pytest.raises(ValueError, match="'collector:4318'"):
        setup_logging(otlp_endpoint="collector:4318")


def test_missing_sdk_names_the_extra(tmp_path: Path) -> None:
    """Without the SDK, otlp_endpoint fails at setup with the install command."""
    result = run_python(
        """
        import sys
        for name in ("opentelemetry", "opentelemetry.sdk", "opentelemetry.sdk._logs",
                     "opentelemetry.exporter.otlp.proto.http._log_exporter"):
            sys.modules[name] = None
        from shared.logging_config import setup_logging
        try:
            setup_logging(otlp_endpoint="http://127.0.0.1:1")
        except ImportError as error:
            print(error)
        """,
        tmp_path,
        check=True,
    )
    assert "pip install 'shared-logging[otlp]'" in result.stdout


def test_multiprocessing_workers_export_before_they_exit(
    collector: Collector, tmp_path: Path
) -> None:
    """Fork-pool workers end with os._exit; their records still reach the collector."""
    run_python(
        f"""
        import logging, multiprocessing as mp
        from shared.logging_config import setup_logging
        def work(i):
            logging.getLogger("worker").info("task %d", i)
            return i
        if __name__ == "__main__":
            mp.set_start_method("fork")
            setup_logging(console=False, otlp_endpoint={collector.endpoint!r},
                          use_queue_handler=True)
            with mp.Pool(2) as pool:
                assert sorted(pool.map(work, range(40))) == list(range(40))
                pool.close()
                pool.join()
        """,
        tmp_path,
        check=True,
    )
    _wait_for(lambda: len(re.findall(r"Body: Str\(task \d+\)", collector.text())) >= 40, 20,
              "the workers' records")  # fmt: skip
    bodies = re.findall(r"Body: Str\(task (\d+)\)", collector.text())
    assert sorted(map(int, bodies)) == list(range(40))
