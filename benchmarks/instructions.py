"""Instructions per record, counted by valgrind's callgrind: figures the machine's
noise cannot move, for the ratios that sit near a target in benchmarks/run.py.

    python benchmarks/instructions.py             # 20,000 records per config
    python benchmarks/instructions.py --records 2000 --configs "shared-logging, queue"

Each config is run.py's throughput worker (the same work: ``logger.info("step %d
done", i, extra={...})`` to a JSON file, checked after). It runs twice under
``valgrind --tool=callgrind --separate-threads=yes``, with N records and with 1;
the difference divided by N - 1 is the cost of one record, without the
interpreter's start and the imports. "Caller" is the logging thread; "total"
adds every other thread (the queue's writer) until the record is on disk.

Instruction counts are not time (a cache miss or a system call costs more than
its instructions say), so they back the timed ratios up, never replace them.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CONFIGS = (
    "stdlib NullHandler (floor)",
    "shared-logging, queue",
    "shared-logging, sync",
    "stdlib Queue + python-json-logger (mCoding)",
    "stdlib FileHandler + json, sync",
    "structlog BytesLogger + orjson, sync",
)
RUN = Path(__file__).with_name("run.py")
_TOTAL = re.compile(r"^totals:\s+(\d+)", re.M)


def counted(config: str, records: int) -> tuple[int, int]:
    """(main thread, all threads) instructions of one worker run under callgrind."""
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", "--separate-threads=yes",
            f"--callgrind-out-file={out}", sys.executable, str(RUN),
            "--worker", "throughput", config, str(records),
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{config} failed under callgrind:\n{done.stderr[-3000:]}")
        threads = sorted(Path(directory).glob("callgrind.out-*"))
        counts = [int(_TOTAL.findall(path.read_text())[-1]) for path in threads]
    if not counts:
        raise SystemExit(f"{config}: callgrind wrote no per-thread counts")
    return counts[0], sum(counts)


def per_record(config: str, records: int) -> tuple[float, float]:
    main_n, all_n = counted(config, records)
    main_1, all_1 = counted(config, 1)
    return (main_n - main_1) / (records - 1), (all_n - all_1) / (records - 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS))
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    results = {config: per_record(config, args.records) for config in args.configs}
    floor = results.get("stdlib NullHandler (floor)", (0.0, 0.0))[0]
    peer = results.get("structlog BytesLogger + orjson, sync", (0.0, 0.0))[1]
    mcoding = results.get("stdlib Queue + python-json-logger (mCoding)", (0.0, 0.0))
    print(f"Python {sys.version.split()[0]}, instructions per record "
          f"({args.records:,} records minus 1), valgrind --tool=callgrind\n")  # fmt: skip
    print("| config | caller | vs floor | vs mCoding caller | total, until on disk "
          "| BytesLogger ÷ it | mCoding ÷ it |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for config, (caller, total) in results.items():

        def ratio(a: float, b: float) -> str:
            return f"{a / b:.2f}" if a and b else "—"

        print(
            f"| {config} | {caller / 1000:.1f} k | {ratio(caller, floor)} "
            f"| {ratio(caller, mcoding[0])} | {total / 1000:.1f} k "
            f"| {ratio(peer, total)} | {ratio(mcoding[1], total)} |"
        )


if __name__ == "__main__":
    main()
