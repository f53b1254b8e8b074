"""Generate JSONL files shaped like shared-logging's output, fast and reproducibly."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from pathlib import Path

LEVELS = ["DEBUG"] * 30 + ["INFO"] * 55 + ["WARNING"] * 10 + ["ERROR"] * 4 + ["CRITICAL"]
LOGGERS = ["rollouts.worker", "bifrost.ssh", "broker.http", "slime.trainer", "httpx"]
MESSAGES = [
    "rollout finished", "connection reset by peer, retrying", "sampled batch",
    "checkpoint saved", "request failed", "queue depth high", "reward computed",
]  # fmt: skip
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/rollouts/worker.py", line 88, in run\n'
    "    reward = await grade(sample)\n"
    "TimeoutError: grader timed out"
)


def make(path: Path, count: int, seed: int = 0, start: float = 1_790_000_000.0, step: float = 0.001,
         offset: float = 0.0) -> None:  # fmt: skip
    rng = random.Random(seed)
    base = dt.datetime.fromtimestamp(start, dt.UTC)
    with path.open("w") as out:
        for i in range(count):
            level = rng.choice(LEVELS)
            when = base + dt.timedelta(seconds=i * step + offset)
            record = {
                "timestamp": when.isoformat(timespec="microseconds"),
                "level": level,
                "logger": rng.choice(LOGGERS),
                "message": rng.choice(MESSAGES),
                "rollout_id": rng.randrange(10_000),
                "step": i,
                "reward": round(rng.random(), 4),
                "function": "run",
                "line": 88,
                "process": 4242,
                "hostname": "node-17",
            }
            if level in ("ERROR", "CRITICAL"):
                record["exception"] = {
                    "type": "TimeoutError",
                    "message": "grader timed out",
                    "traceback": TRACEBACK,
                }
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    make(args.path, args.count, args.seed)
