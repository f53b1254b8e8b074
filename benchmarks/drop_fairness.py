"""How many records a writer keeps when 64 threads log into a full queue with
overflow="drop" (issue 23, row 11): records written per second, and what a
call costs the callers, median of repeated runs.

    python benchmarks/drop_fairness.py [--seconds 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap

RUN = """
import logging, threading, time, json, sys
from shared.logging_config import setup_logging, flush_logging, logging_stats
setup_logging(log_file=sys.argv[1], console=False, use_queue_handler=True,
              queue_size=100, overflow=sys.argv[2])
log = logging.getLogger("bench")
stop = time.monotonic() + float(sys.argv[3])
calls = [0] * 64
def work(n):
    while time.monotonic() < stop:
        log.info("record %d", n)
        calls[n] += 1
threads = [threading.Thread(target=work, args=(n,)) for n in range(64)]
start = time.monotonic()
for t in threads: t.start()
for t in threads: t.join()
took = time.monotonic() - start
flush_logging(10)
stats = logging_stats()
print(json.dumps({"written_per_s": stats.written / took, "calls_per_s": sum(calls) / took,
                  "dropped": stats.dropped, "us_per_call": took * 64 / sum(calls) * 1e6}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for overflow in ("block", "drop"):
        results = []
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as tmp:
                out = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        textwrap.dedent(RUN),
                        f"{tmp}/b.jsonl",
                        overflow,
                        str(args.seconds),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                results.append(json.loads(out))
        written = statistics.median(r["written_per_s"] for r in results)
        per_call = statistics.median(r["us_per_call"] for r in results)
        print(
            f"{overflow:5}: {written:9.0f} records/s written, {per_call:7.1f} us per call "
            f"(median of {args.rounds})"
        )


if __name__ == "__main__":
    main()
