"""``logview RUN --triage`` against ``logview RUN --level WARNING --json > /dev/null``
on the same run directory, timed in the same run (issue 24: at most 1.5x).

    python benchmarks/triage_bench.py [--megabytes 1000] [--rounds 3] [--layout torchrun]
    python benchmarks/triage_bench.py --run DIR    # time an existing run instead

The run is a synthetic failed run (tests/synthetic_runs.py) of 512 ranks,
with enough INFO steps to reach the size asked for. Medians of the rounds.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.synthetic_runs import make_run


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--layout", choices=("torchrun", "ray"), default="torchrun")
    parser.add_argument("--run", type=Path, help="an existing run directory to time")
    args = parser.parse_args()
    if args.run is not None:
        compare(args.run, args.rounds)
        return
    # One step line is about 390 bytes; 512 ranks.
    steps = max(6, args.megabytes * 1_000_000 // (390 * 512))
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        started = time.perf_counter()
        make_run(run, 512, args.layout, seed=7, steps=steps)
        size = sum(p.stat().st_size for p in run.iterdir())
        print(
            f"{args.layout} run: {size / 1e6:.0f} MB in {len(list(run.iterdir()))} files "
            f"(made in {time.perf_counter() - started:.0f} s)"
        )
        compare(run, args.rounds)


def compare(run: Path, rounds: int) -> None:
    logview = [sys.executable, "-m", "shared.logview", str(run)]
    level, triage = [], []
    for _ in range(rounds):
        level.append(timed([*logview, "--level", "WARNING", "--json"]))
        triage.append(timed([*logview, "--triage"]))
    base, ours = statistics.median(level), statistics.median(triage)
    ratios = sorted(t / b for t, b in zip(triage, level, strict=True))
    print(
        f"--level WARNING --json: {base:.2f} s   --triage: {ours:.2f} s   "
        f"ratio {ours / base:.2f}x (median of {rounds}; target <= 1.5x; "
        f"per-round ratios {min(ratios):.2f}-{max(ratios):.2f})"
    )


if __name__ == "__main__":
    main()
