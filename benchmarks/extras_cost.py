"""What an ``extra`` costs the caller, by kind: containers are copied at the call.

    python benchmarks/extras_cost.py [--calls 20000] [--rounds 5]

Queue mode, no console: the caller's time per ``logger.info`` call (median over
rounds), for no extra, three scalars, and containers that are frozen at the call
(a dict, a list, a nested dict, an object rendered with ``str``). Each round is a
burst short enough that the writer waits it out (it lingers while callers log
and the queue is under half full), then a flush: the writer's work is not counted.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from shared.logging_config import flush_logging, setup_logging, shutdown_logging


class Model:
    def __str__(self) -> str:
        return "Model(layers=12)"


EXTRAS: dict[str, dict[str, Any] | None] = {
    "no extra": None,
    "3 scalars": {"step": 1, "loss": 0.5, "tag": "train"},
    "dict of 3 scalars": {"state": {"step": 1, "loss": 0.5, "tag": "train"}},
    "list of 10 ints": {"ids": list(range(10))},
    "dict of 3 dicts of 3": {"m": {k: {"a": 1, "b": 2.0, "c": "x"} for k in "xyz"}},
    "an object (str)": {"model": Model()},
}


def measure(extra: dict[str, Any] | None, calls: int) -> float:
    log = logging.getLogger("bench")
    start = time.perf_counter()
    for i in range(calls):
        log.info("step %d", i, extra=extra)
    elapsed = time.perf_counter() - start
    flush_logging(60)
    return elapsed / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup_logging(
            log_file=Path(tmp) / "x.jsonl", console=False, use_queue_handler=True,
            queue_size=4 * args.calls, max_log_bytes=1 << 40,
        )  # fmt: skip
        figures: dict[str, list[float]] = {name: [] for name in EXTRAS}
        for _ in range(args.rounds):  # interleaved, so drift cannot favour one kind
            for name, extra in EXTRAS.items():
                figures[name].append(measure(extra, args.calls))
        shutdown_logging()
    base = statistics.median(figures["3 scalars"])
    print(f"{'extra':<24} {'caller µs/call':>15} {'vs 3 scalars':>13}")
    for name, values in figures.items():
        median = statistics.median(values)
        print(f"{name:<24} {median:>15.2f} {median - base:>+12.2f}")


if __name__ == "__main__":
    main()
