"""An error storm: what the caller pays and what the console shows.

    python benchmarks/storm.py               # 10 s per config, 3 rounds (about 5 minutes)
    python benchmarks/storm.py --seconds 2 --rounds 1

Every rollout fails at once: for ``--seconds``, the caller logs
``logger.exception("request %d failed", i)`` with a live TimeoutError at
10,000 records a second (10 every millisecond, paced by the clock), with the
console on (stderr into a file, as a job's log is) and a JSONL file. Each
config runs in a fresh process. Reported, medians over the rounds:

* caller µs/record: time inside the logging calls, divided by the records;
* console lines/s: lines the console printed (tracebacks included), per second;
* records/s reached: when the caller cannot keep up 10,000/s, it says so;
* file records: every record must be in the file.

"Before" is ``repeat_limit=None`` (every record printed, as any stdlib
handler does); "after" is the default storm control (``repeat_limit=5``).
An older version without storm control runs the "before" rows only:
``PYTHONPATH=/path/to/old/src python benchmarks/storm.py --only before``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RATE = 10_000  # records per second
STEP = 0.001  # seconds between bursts of RATE * STEP records

CONFIGS: dict[str, dict[str, Any]] = {
    "queue, before (repeat_limit=None)": {"use_queue_handler": True, "repeat_limit": None},
    "queue, after (repeat_limit=5)": {"use_queue_handler": True},
    "sync, before (repeat_limit=None)": {"use_queue_handler": False, "repeat_limit": None},
    "sync, after (repeat_limit=5)": {"use_queue_handler": False},
}


def worker(config: str, seconds: float, directory: Path) -> dict[str, float]:
    import logging

    from shared.logging_config import setup_logging, shutdown_logging

    options = dict(CONFIGS[config])
    if "repeat_limit" not in inspect.signature(setup_logging).parameters:
        options.pop("repeat_limit", None)  # an older version (PYTHONPATH=old/src)
    setup_logging(log_file=directory / "app.jsonl", **options)
    log = logging.getLogger("rollout")
    per_step = int(RATE * STEP)
    inside = 0.0
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    next_step = start
    while (now := time.perf_counter()) < deadline:
        if now < next_step:
            continue  # pacing: spin, the caller owns this core anyway
        next_step += STEP
        for _ in range(per_step):
            try:
                raise TimeoutError("upstream inference server timed out")
            except TimeoutError:
                before = time.perf_counter()
                log.exception("request %d failed", count)
                inside += time.perf_counter() - before
            count += 1
    elapsed = time.perf_counter() - start
    shutdown_logging()
    return {"records": count, "elapsed": elapsed, "caller_us": inside / count * 1e6}


def run(config: str, seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        stderr_path = Path(directory) / "console.txt"
        env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR",)}
        with stderr_path.open("w") as stderr:
            result = subprocess.run(
                [sys.executable, __file__, "--worker", config, str(seconds), directory],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=env,
                check=False,
                timeout=seconds * 20 + 120,
            )
        if result.returncode != 0:
            raise SystemExit(f"{config} failed:\n{stderr_path.read_text()[-3000:]}")
        found = json.loads(result.stdout.strip().splitlines()[-1])
        console_lines = sum(1 for _ in stderr_path.open("rb"))
        file_records = sum(1 for _ in (Path(directory) / "app.jsonl").open("rb"))
    if file_records != found["records"]:
        raise SystemExit(f"{config}: {file_records} records in the file, {found['records']} logged")
    return {
        "caller_us": found["caller_us"],
        "console_lines_per_s": console_lines / found["elapsed"],
        "records_per_s": found["records"] / found["elapsed"],
        "file_records": file_records,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", help="run the configs whose name holds this word")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        config, seconds, directory = args.worker
        print(json.dumps(worker(config, float(seconds), Path(directory))))
        return
    chosen = [c for c in CONFIGS if args.only is None or args.only in c]
    runs: dict[str, list[dict[str, float]]] = {config: [] for config in chosen}
    for _ in range(args.rounds):  # interleaved: drift lands on every config alike
        for config, results in runs.items():
            results.append(run(config, args.seconds))
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, {args.seconds:g} s of "
        f"{RATE:,} logger.exception calls/s, medians of {args.rounds} round(s).\n"
    )
    print("| config | caller µs/record | console lines/s | records/s reached | in the file |")
    print("|---|---:|---:|---:|---:|")
    for config, results in runs.items():
        median = {key: statistics.median(r[key] for r in results) for key in results[0]}
        print(
            f"| {config} | {median['caller_us']:.1f} | {median['console_lines_per_s']:,.0f} "
            f"| {median['records_per_s']:,.0f} | all {median['file_records']:,.0f} |"
        )


if __name__ == "__main__":
    main()
