"""Benchmark shared-logging against the peers on the same work, in one run.

    python benchmarks/run.py            # full: several rounds, medians (a few minutes)
    python benchmarks/run.py --quick    # one short round, proves it runs (CI)

Every config runs in a fresh process. Each run's output is checked (line count,
fields present) before its time counts. Figures are medians over the rounds;
ratios are to the stdlib floor of the same table, measured in the same run,
because absolute figures drift on shared machines.

The work: ``logger.info("step %d done", i, extra={"step": i, "loss": 0.5,
"tag": "train"})``, one JSON line with three extra fields.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
Result = dict[str, Any]

# --- the configs (each runs inside a worker process) ------------------------------------

Setup = Callable[[Path], tuple[Callable[[int], None], Callable[[], None]]]


def _stdlib_call(logger: Any) -> Callable[[int], None]:
    def call(i: int) -> None:
        logger.info("step %d done", i, extra={"step": i, "loss": 0.5, "tag": "train"})

    return call


def cfg_stdlib_null(path: Path) -> tuple[Callable[[int], None], Callable[[], None]]:
    import logging

    logger = logging.getLogger("bench")
    logger.addHandler(logging.NullHandler())
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return _stdlib_call(logger), lambda: None


def cfg_ours_queue(path: Path, **options: Any) -> tuple[Callable[[int], None], Callable[[], None]]:
    import logging

    from shared.logging_config import setup_logging, shutdown_logging

    setup_logging(log_file=path, use_queue_handler=True, console=False, **options)
    return _stdlib_call(logging.getLogger("bench")), shutdown_logging


def cfg_ours_sync(path: Path, **options: Any) -> tuple[Callable[[int], None], Callable[[], None]]:
    import logging

    from shared.logging_config import setup_logging, shutdown_logging

    setup_logging(log_file=path, console=False, **options)
    return _stdlib_call(logging.getLogger("bench")), shutdown_logging


def cfg_ours_sync_no_redact(path: Path) -> tuple[Callable[[int], None], Callable[[], None]]:
    return cfg_ours_sync(path, redact=False)


def cfg_ours_sync_context(path: Path) -> tuple[Callable[[int], None], Callable[[], None]]:
    from shared.logging_context import bind_context

    bind_context(rollout_id=7, env="math-v2", rank=0)
    return cfg_ours_sync(path)


def cfg_ours_queue_context(path: Path) -> tuple[Callable[[int], None], Callable[[], None]]:
    from shared.logging_context import bind_context

    bind_context(rollout_id=7, env="math-v2", rank=0)
    return cfg_ours_queue(path)


def _listened(
    logger_name: str, queue_handler: Any, file_handler: Any
) -> tuple[Any, Callable[[], None]]:
    """The stdlib queue pattern: QueueHandler on the logger, a QueueListener to the file."""
    import logging
    import logging.handlers

    listener = logging.handlers.QueueListener(queue_handler.queue, file_handler)
    logger = logging.getLogger(logger_name)
    logger.addHandler(queue_handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    listener.start()

    def finish() -> None:
        listener.stop()
        file_handler.close()

    return logger, finish


def cfg_mcoding(path: Path) -> tuple[Callable[[int], None], Callable[[], None]]:
    """QueueHandler + QueueListener + python-json-logger: the pattern users copy."""
    import logging
    import logging.handlers
    import queue

    from pythonjsonlogger.json import JsonFormatter

    file_handler = logging.FileHandler(path)
    file_handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    q: queue.Queue[Any] = queue.Queue(-1)
    logger, finish = _listened("bench", logging.handlers.QueueHandler(q), file_handler)
    return _stdlib_call(logger), finish


def _json_formatter() -> Any:
    import json as _json
    import logging

    class Json(logging.Formatter):
        skip = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}

        def format(self, record: logging.LogRecord) -> str:
            doc = {
                "timestamp": self.formatTime(record),
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
            }
            doc.update({k: v for k, v in record.__dict__.items() if k not in self.skip})
            return _json.dumps(doc, default=str)

    return Json()


def cfg_stdlib_simplequeue(path: Path) -> tuple[Callable[[int], None], Callable[[], None]]:
    """QueueHandler on a SimpleQueue with a prepare() that renders but does not copy."""
    import logging
    import logging.handlers
    import queue

    class Handler(logging.handlers.QueueHandler):
        def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
            record.message = record.getMessage()
            record.msg, record.args = record.message, None
            return record

    file_handler = logging.FileHandler(path)
    file_handler.setFormatter(_json_formatter())
    q: queue.SimpleQueue[Any] = queue.SimpleQueue()
    logger, finish = _listened("bench", Handler(q), file_handler)
    return _stdlib_call(logger), finish


def cfg_stdlib_sync(path: Path) -> tuple[Callable[[int], None], Callable[[], None]]:
    """FileHandler + json.dumps, no queue."""
    import logging

    file_handler = logging.FileHandler(path)
    file_handler.setFormatter(_json_formatter())
    logger = logging.getLogger("bench")
    logger.addHandler(file_handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return _stdlib_call(logger), file_handler.close


def _structlog_call(logger: Any) -> Callable[[int], None]:
    def call(i: int) -> None:
        logger.info("step done", step=i, loss=0.5, tag="train")

    return call


def cfg_structlog_queue(path: Path) -> tuple[Callable[[int], None], Callable[[], None]]:
    """structlog over stdlib, a QueueHandler, JSON rendered by ProcessorFormatter."""
    import logging
    import logging.handlers
    import queue

    import structlog

    structlog.configure(
        processors=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # QueueHandler.prepare() stringifies the event dict, so the JSON must be rendered
    # on the QueueHandler (caller) side; the file handler writes the message as is.
    file_handler = logging.FileHandler(path)
    file_handler.setFormatter(logging.Formatter("%(message)s"))
    q: queue.Queue[Any] = queue.Queue(-1)
    queue_handler = logging.handlers.QueueHandler(q)
    queue_handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(processor=structlog.processors.JSONRenderer())
    )
    _, finish = _listened("bench", queue_handler, file_handler)
    return _structlog_call(structlog.get_logger("bench")), finish


def cfg_structlog_bytes(path: Path) -> tuple[Callable[[int], None], Callable[[], None]]:
    """structlog BytesLogger + orjson, no stdlib, no queue: the fastest peer."""
    import logging

    import orjson
    import structlog

    out = path.open("wb")
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.BytesLoggerFactory(out),
        cache_logger_on_first_use=True,
    )
    return _structlog_call(structlog.get_logger()), out.close


def cfg_loguru(path: Path) -> tuple[Callable[[int], None], Callable[[], None]]:
    """loguru serialize=True, enqueue=True."""
    from loguru import logger

    logger.remove()
    logger.add(path, serialize=True, enqueue=True, level="INFO")

    def call(i: int) -> None:
        logger.bind(step=i, loss=0.5, tag="train").info("step {} done", i)

    def finish() -> None:
        logger.complete()
        logger.remove()

    return call, finish


CONFIGS: dict[str, Setup] = {
    "stdlib NullHandler (floor)": cfg_stdlib_null,
    "shared-logging, queue": cfg_ours_queue,
    "shared-logging, sync": cfg_ours_sync,
    "stdlib Queue + python-json-logger (mCoding)": cfg_mcoding,
    "stdlib SimpleQueue, no-copy prepare": cfg_stdlib_simplequeue,
    "stdlib FileHandler + json, sync": cfg_stdlib_sync,
    "structlog over stdlib, queue": cfg_structlog_queue,
    "structlog BytesLogger + orjson, sync": cfg_structlog_bytes,
    "loguru serialize + enqueue": cfg_loguru,
    "shared-logging, sync, redact=False": cfg_ours_sync_no_redact,
    "shared-logging, sync, 3 context fields": cfg_ours_sync_context,
    "shared-logging, queue, 3 context fields": cfg_ours_queue_context,
}


def check_output(path: Path, expected: int) -> None:
    """Every config must have written `expected` records with the step field."""
    lines = path.read_text().splitlines() if path.exists() else []
    if len(lines) != expected:
        raise SystemExit(f"wrong line count: {len(lines)} != {expected} in {path}")
    for line in (lines[0], lines[-1]) if lines else ():
        text = json.dumps(json.loads(line))
        if '"step"' not in text or "done" not in text:
            raise SystemExit(f"missing fields in {line[:200]}")


# --- workers ----------------------------------------------------------------------------------


def worker_throughput(config: str, count: int) -> Result:
    """Caller cost per call and end-to-end records/s until everything is on disk."""
    directory = Path(tempfile.mkdtemp())
    path = directory / "bench.jsonl"
    call, finish = CONFIGS[config](path)
    for i in range(200):  # warm up caches and lazy imports
        call(-1)
    start = time.perf_counter()
    for i in range(count):
        call(i)
    called = time.perf_counter()
    finish()
    done = time.perf_counter()
    if config != "stdlib NullHandler (floor)":
        check_output(path, count + 200)
    return {
        "caller_us": (called - start) / count * 1e6,
        "e2e_rps": count / (done - start),
    }


class Stall:
    """Sleeps 20 ms every 1,000 records written: a disk that stalls."""

    def __init__(self) -> None:
        self.written = 0

    def after(self, records: int) -> None:
        before = self.written
        self.written += records
        if self.written // 1000 > before // 1000:
            time.sleep(0.020)


def _stalling(
    config: str, path: Path, stall: Stall
) -> tuple[Callable[[int], None], Callable[[], None]]:
    import logging

    if config.startswith("shared-logging"):
        from shared._logging.files import RotatingJSONLWriter

        original = RotatingJSONLWriter._append
        original_unlocked = RotatingJSONLWriter._append_unlocked

        def append(self: Any, data: bytes, size_before: int) -> None:
            original(self, data, size_before)
            stall.after(data.count(b"\n"))

        def append_unlocked(self: Any, line: bytes) -> bool:
            done: bool = original_unlocked(self, line)
            stall.after(1)
            return done

        RotatingJSONLWriter._append = append  # type: ignore[method-assign]
        RotatingJSONLWriter._append_unlocked = append_unlocked  # type: ignore[method-assign]
    else:
        original_emit = logging.FileHandler.emit

        def emit(self: Any, record: logging.LogRecord) -> None:
            original_emit(self, record)
            stall.after(1)

        logging.FileHandler.emit = emit  # type: ignore[method-assign]
    return CONFIGS[config](path)


STALL_CONFIGS = [
    "shared-logging, queue",
    "shared-logging, sync",
    "stdlib Queue + python-json-logger (mCoding)",
    "structlog over stdlib, queue",
    "stdlib FileHandler + json, sync",
]


def worker_stall(config: str, count: int) -> Result:
    """The caller's latency per call while the disk stalls."""
    directory = Path(tempfile.mkdtemp())
    path = directory / "bench.jsonl"
    stall = Stall()
    call, finish = _stalling(config, path, stall)
    latencies = []
    clock = time.perf_counter_ns
    for i in range(count):
        start = clock()
        call(i)
        latencies.append(clock() - start)
    finish()
    check_output(path, count)
    latencies.sort()
    return {
        "p50_us": latencies[len(latencies) // 2] / 1e3,
        "p99_us": latencies[int(len(latencies) * 0.99)] / 1e3,
        "max_us": latencies[-1] / 1e3,
    }


def worker_disabled(config: str, count: int) -> Result:
    """A logger.debug call below the level."""
    import logging

    if config == "shared-logging":
        from shared.logging_config import setup_logging

        setup_logging(level="INFO", console=False)
    else:
        logging.getLogger().setLevel(logging.INFO)
    logger = logging.getLogger("bench")
    start = time.perf_counter()
    for i in range(count):
        logger.debug("step %d", i, extra={"step": i})
    return {"ns": (time.perf_counter() - start) / count * 1e9}


def worker_console(config: str, count: int) -> Result:
    """One human console line (time, level, logger, message, extras), to /dev/null."""
    import logging

    devnull = open(os.devnull, "w")  # noqa: SIM115
    sys.stderr = devnull
    logger = logging.getLogger("bench")
    if config == "shared-logging (colours, key=value)":
        os.environ["FORCE_COLOR"] = "1"
        from shared.logging_config import setup_logging

        setup_logging(level="INFO")
    elif config == "rich RichHandler":
        from rich.console import Console
        from rich.logging import RichHandler

        logging.getLogger().addHandler(RichHandler(console=Console(file=devnull, width=120)))
        logging.getLogger().setLevel(logging.INFO)
    else:
        handler = logging.StreamHandler(devnull)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)
    call = _stdlib_call(logger)
    for _ in range(100):
        call(-1)
    start = time.perf_counter()
    for i in range(count):
        call(i)
    return {"us": (time.perf_counter() - start) / count * 1e6}


def worker_import(config: str, count: int) -> Result:
    start = time.perf_counter()
    if config == "shared.logging_config":
        import shared.logging_config  # noqa: F401
    else:
        import logging.handlers  # noqa: F401
    return {"ms": (time.perf_counter() - start) * 1e3}


def worker_multiprocess(config: str, count: int) -> Result:
    """`processes` writers on one rotating file; records/s until all are on disk."""
    processes = 1 if config.endswith("1 process") else 4
    directory = Path(tempfile.mkdtemp())
    path = directory / "shared.jsonl"
    peer = config.startswith("concurrent-log-handler")
    code = f"""
import logging, sys
path, count = {str(path)!r}, {count // processes}
if {peer}:
    from concurrent_log_handler import ConcurrentRotatingFileHandler
    h = ConcurrentRotatingFileHandler(path, maxBytes=1_000_000, backupCount=1000)
    h.setFormatter(logging.Formatter('{{"message": "%(message)s", "step": 1}}'))
    logging.getLogger().addHandler(h); logging.getLogger().setLevel(logging.INFO)
else:
    from shared.logging_config import setup_logging
    setup_logging(log_file=path, max_log_bytes=1_000_000, backup_count=1000, console=False,
                  use_queue_handler={"queue" in config})
log = logging.getLogger("bench")
for i in range(count):
    log.info("step %d done", i, extra={{"step": i, "loss": 0.5, "tag": "train"}})
"""
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(processes)]
    if any(p.wait() != 0 for p in procs):
        raise SystemExit("a writer process failed")
    elapsed = time.perf_counter() - start
    total = sum(
        len(f.read_bytes().splitlines()) for f in directory.iterdir() if f.name.startswith("shared")
    )
    if total != count // processes * processes:
        raise SystemExit(f"multi-process: {total} lines, expected {count}")
    return {"rps": total / elapsed}


FEATURE_CONFIGS = {
    "redact=False, no context": ({"redact": False}, False),
    "redaction on (the default)": ({}, False),
    "redaction on + 3 context fields": ({}, True),
}


def worker_features(config: str, count: int) -> Result:
    """Per-record cost of redaction and context, synchronous mode so every cost is
    on the caller. The configurations alternate in one process, round after round,
    so machine drift hits them alike; medians of the rounds."""
    import logging

    from shared.logging_config import setup_logging, shutdown_logging
    from shared.logging_context import bind_context, reset_context

    logger = logging.getLogger("bench")
    call = _stdlib_call(logger)
    samples: dict[str, list[float]] = {name: [] for name in FEATURE_CONFIGS}
    directory = Path(tempfile.mkdtemp())
    for round_number in range(9):
        for index, (name, (options, context)) in enumerate(FEATURE_CONFIGS.items()):
            path = directory / f"{round_number}-{index}.jsonl"
            setup_logging(log_file=path, console=False, **options)
            token = bind_context(rollout_id=7, env="math-v2", worker=0) if context else None
            for i in range(100):
                call(i)
            start = time.perf_counter()
            for i in range(count):
                call(i)
            samples[name].append((time.perf_counter() - start) / count * 1e6)
            if token is not None:
                reset_context(token)
            shutdown_logging()
            check_output(path, count + 100)
    return {name: statistics.median(values) for name, values in samples.items()}


WORKERS = {
    "features": worker_features,
    "throughput": worker_throughput,
    "stall": worker_stall,
    "disabled": worker_disabled,
    "console": worker_console,
    "import": worker_import,
    "multiprocess": worker_multiprocess,
}

# --- the driver ---------------------------------------------------------------------------------


def run_worker(kind: str, config: str, count: int) -> Result:
    env = dict(os.environ)
    env.pop("FORCE_COLOR", None)
    result = subprocess.run(
        [sys.executable, __file__, "--worker", kind, config, str(count)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    if result.returncode != 0:
        raise SystemExit(f"{kind}/{config} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def medians(kind: str, configs: Iterable[str], count: int, rounds: int) -> dict[str, Result]:
    """Median results per config. Rounds are interleaved (config A, B, C, then A,
    B, C again...): the machine's speed drifts, and a drift must not land on one
    config's rounds only, or the ratios between configs would carry it."""
    runs: dict[str, list[Result]] = {config: [] for config in configs}
    for _ in range(rounds):
        for config, results in runs.items():
            results.append(run_worker(kind, config, count))
    return {
        config: {key: statistics.median(r[key] for r in results) for key in results[0]}
        for config, results in runs.items()
    }


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one short round (CI)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, config, count = args.worker
        print(json.dumps(WORKERS[kind](config, int(count))))
        return
    rounds = 1 if args.quick else args.rounds
    scale = 10 if args.quick else 1
    out: list[str] = [
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, "
        f"medians of {rounds} round(s), each config in a fresh process.\n"
    ]

    # 1. caller cost (a burst, and sustained) and end-to-end throughput
    burst = medians("throughput", CONFIGS, 2_000, rounds)
    results = medians("throughput", CONFIGS, 50_000 // scale, rounds)
    floor = burst["stdlib NullHandler (floor)"]["caller_us"]
    floor_sustained = results["stdlib NullHandler (floor)"]["caller_us"]
    mcoding_name = "stdlib Queue + python-json-logger (mCoding)"
    mcoding, mcoding_burst = results[mcoding_name], burst[mcoding_name]
    bytes_peer = results["structlog BytesLogger + orjson, sync"]
    rows = []
    for config, r in results.items():
        e2e = r["e2e_rps"]
        b = burst[config]["caller_us"]
        rows.append([
            config,
            f"{b:.2f}",
            f"{b / floor:.2f}×",
            f"{b / mcoding_burst['caller_us']:.2f}×",
            f"{r['caller_us']:.2f}",
            f"{r['caller_us'] / floor_sustained:.2f}×",
            "—" if "floor" in config else f"{e2e / 1000:.1f} k",
            "—" if "floor" in config else f"{e2e / mcoding['e2e_rps']:.2f}×",
            "—" if "floor" in config else f"{e2e / bytes_peer['e2e_rps']:.2f}×",
        ])  # fmt: skip
    out.append("### Caller cost and end-to-end throughput (JSON line, 3 extras)\n")
    out.append(
        "Burst: 2,000 calls in a tight loop (an event loop logging an error storm). "
        "Sustained: 50,000 calls in a tight loop, which fills any bounded queue, so a "
        "queued caller then pays for the writer too. End-to-end: the sustained run, "
        "until every record is on disk.\n"
    )
    out.append(table(
        ["config", "burst µs/call", "vs floor", "vs mCoding", "sustained µs/call", "vs floor",
         "end-to-end rec/s", "vs mCoding", "vs structlog BytesLogger"],
        rows,
    ))  # fmt: skip

    # 2. a stalling disk
    stall_rows = []
    for config, r in medians("stall", STALL_CONFIGS, 10_000 // scale, rounds).items():
        stall_rows.append(
            [config, f"{r['p50_us']:.1f}", f"{r['p99_us']:.1f}", f"{r['max_us'] / 1000:.2f}"]
        )
    out.append("\n### Caller latency while the disk stalls 20 ms every 1,000 records\n")
    out.append(table(["config", "p50 µs", "p99 µs", "max ms"], stall_rows))

    # 3. disabled level, console line, import time
    disabled = medians("disabled", ("stdlib", "shared-logging"), 200_000 // scale, rounds)
    console_configs = (
        "stdlib StreamHandler",
        "shared-logging (colours, key=value)",
        "rich RichHandler",
    )
    console = medians("console", console_configs, 20_000 // scale, rounds)
    imports = medians("import", ("logging.handlers", "shared.logging_config"), 1, max(rounds, 3))
    small_rows = [
        ["disabled `logger.debug`, stdlib", f"{disabled['stdlib']['ns']:.0f} ns", "1.00×"],
        ["disabled `logger.debug`, shared-logging", f"{disabled['shared-logging']['ns']:.0f} ns",
         f"{disabled['shared-logging']['ns'] / disabled['stdlib']['ns']:.2f}×"],
    ]  # fmt: skip
    base = console["stdlib StreamHandler"]["us"]
    for c in console_configs:
        small_rows.append(
            [f"console line, {c}", f"{console[c]['us']:.2f} µs", f"{console[c]['us'] / base:.2f}×"]
        )
    small_rows.append(
        ["`import logging.handlers`", f"{imports['logging.handlers']['ms']:.1f} ms", "—"]
    )
    extra_ms = imports["shared.logging_config"]["ms"] - imports["logging.handlers"]["ms"]
    small_rows.append(
        ["`import shared.logging_config`", f"{imports['shared.logging_config']['ms']:.1f} ms",
         f"+{extra_ms:.1f} ms"]
    )  # fmt: skip
    out.append("\n### Disabled calls, console lines, import time\n")
    out.append(table(["what", "median", "ratio"], small_rows))

    # 4. many processes on one rotating file
    mp_configs = (
        "shared-logging sync, 1 process", "shared-logging sync, 4 processes",
        "shared-logging queue, 1 process", "shared-logging queue, 4 processes",
        "concurrent-log-handler, 1 process", "concurrent-log-handler, 4 processes",
    )  # fmt: skip
    mp = medians("multiprocess", mp_configs, 40_000 // scale, rounds)
    mp_rows = []
    for c in mp_configs:
        single = mp[c.replace("4 processes", "1 process")]["rps"]
        mp_rows.append([c, f"{mp[c]['rps'] / 1000:.1f} k", f"{mp[c]['rps'] / single:.2f}×"])
    out.append("\n### One rotating file (1 MB files) shared by processes, whole-run records/s\n")
    out.append(table(["config", "records/s", "vs 1 process"], mp_rows))

    # 5. context and redaction
    features = run_worker("features", "all", 2_000 // scale)
    plain = features["redact=False, no context"]
    redacted = features["redaction on (the default)"]
    both = features["redaction on + 3 context fields"]
    cost_rows = [
        ["per record, redact=False, no context", f"{plain:.2f} µs", "—"],
        ["per record, redaction on (default)", f"{redacted:.2f} µs", f"{redacted - plain:+.2f} µs"],
        ["per record, redaction + 3 context fields", f"{both:.2f} µs", f"{both - redacted:+.2f} µs"],
    ]  # fmt: skip
    out.append(
        "\n### What redaction and context cost (synchronous mode, interleaved in one process)\n"
    )
    out.append(table(["configuration", "µs per record", "added"], cost_rows))
    print("\n".join(out))


if __name__ == "__main__":
    main()
