"""logview against jq and lnav on the same generated file, in one run.

    python benchmarks/logview_bench.py              # 1,000,000 lines (~250 MB), 3 rounds
    python benchmarks/logview_bench.py --quick      # 50,000 lines, 1 round

Wall and CPU time are medians of the rounds, which are interleaved; memory is the peak RSS of the
process tree (logview prints a big file with worker processes).
jq and lnav are used when installed (Debian: apt-get install jq lnav) and
skipped otherwise. Output goes to /dev/null; each command's match count is
checked against ours before its time counts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_logs import make

LOGVIEW = [sys.executable, "-m", "shared.logview"]


GNU_TIME = shutil.which("time") if Path("/usr/bin/time").exists() else None


def run(command: list[str]) -> tuple[float, int, float]:
    """Wall seconds, peak RSS in MiB and CPU seconds of ``command``, output discarded.

    The RSS is the larger of GNU time's figure for the command (a child's
    ru_maxrss also counts what it inherited from this larger process at fork,
    before its exec) and the peak sum over its process tree, polled every 50 ms
    (logview prints a big file with worker processes). CPU time is user + system
    of the whole tree, workers included.
    """
    with tempfile.NamedTemporaryFile("r") as rss_file:
        prefix = [GNU_TIME, "-f", "%M", "-o", rss_file.name] if GNU_TIME else []
        start = time.perf_counter()
        proc = subprocess.Popen([*prefix, *command], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        tree_peak = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            tree_peak = max(tree_peak, tree_rss_kib(proc.pid))
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{command} failed")
        text = rss_file.read().strip().splitlines()
        kilobytes = int(text[-1]) if GNU_TIME and text else usage.ru_maxrss
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, max(kilobytes, tree_peak) // 1024, cpu


def tree_rss_kib(root: int) -> int:
    """Resident KiB of ``root`` and its descendants, from /proc (0 where there is none)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            parents[int(entry.name)] = int(fields[1])
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, ValueError, IndexError):
            continue
    total, frontier = 0, [root]
    while frontier:
        pid = frontier.pop()
        total += rss.get(pid, 0)
        frontier.extend(child for child, parent in parents.items() if parent == pid)
    return total


def count_lines(command: list[str]) -> int:
    """Lines ``command`` prints, counted as they stream (never held in memory)."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    lines = sum(chunk.count(b"\n") for chunk in iter(lambda: proc.stdout.read(1 << 20), b""))
    if proc.wait() != 0:
        raise SystemExit(f"{command} failed")
    return lines


def measure_interleaved(
    commands: dict[str, list[str]], rounds: int
) -> list[tuple[str, float, int, float]]:
    """(label, median seconds, peak MiB, median CPU seconds) per command. Rounds are
    interleaved (every command once, then again): the machine's speed drifts, and
    a drift must not land on one command's rounds only."""
    runs: dict[str, list[tuple[float, int, float]]] = {label: [] for label in commands}
    for _ in range(rounds):
        for label, command in commands.items():
            runs[label].append(run(command))
    return [
        (
            label,
            statistics.median(r[0] for r in results),
            max(r[1] for r in results),
            statistics.median(r[2] for r in results),
        )
        for label, results in runs.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    lines = 50_000 if args.quick else args.lines
    rounds = 1 if args.quick else args.rounds
    work = Path(tempfile.mkdtemp())
    big = work / "big.jsonl"
    make(big, lines)
    # The same records in 4 files (one per "process"), each in time order.
    parts = [work / f"part{i}.jsonl" for i in range(4)]
    outs = [p.open("w") for p in parts]
    with big.open() as source:
        for number, line in enumerate(source):
            outs[number % 4].write(line)
    for out in outs:
        out.close()
    size = big.stat().st_size / 1e6
    jq = shutil.which("jq")
    lnav = shutil.which("lnav")

    errors = count_lines([*LOGVIEW, str(big), "--level", "ERROR", "--json"])
    commands: dict[str, list[str]] = {}

    def add(label: str, command: list[str], expected: int | None = None) -> None:
        if expected is not None:
            got = count_lines(command)
            if got != expected:
                raise SystemExit(f"{label}: {got} lines, expected {expected}")
        commands[label] = command

    add("logview --level ERROR --json", [*LOGVIEW, str(big), "--level", "ERROR", "--json"])
    if jq:
        add(
            'jq -c \'select(.level=="ERROR" or .level=="CRITICAL")\'',
            [jq, "-c", 'select(.level=="ERROR" or .level=="CRITICAL")', str(big)],
            errors,
        )
    if lnav:
        # lnav's fastest mode: headless (-n), no format for our fields, a text filter.
        add(
            "lnav -n filter-in (level ERROR or CRITICAL)",
            [lnav, "-n", "-c", ':filter-in "level":"(ERROR|CRITICAL)"', str(big)],
        )
    add("logview (pretty, everything)", [*LOGVIEW, str(big), "--color", "always"])
    if jq:
        add("jq -C . (pretty, everything)", [jq, "-C", ".", str(big)])
    add("logview --json, one file", [*LOGVIEW, str(big), "--json"], lines)
    add("logview --json, 4 files merged", [*LOGVIEW, *map(str, parts), "--json"], lines)
    add("logview -n 1000, 4 files merged", [*LOGVIEW, *map(str, parts), "-n", "1000"])
    add("logview --stats", [*LOGVIEW, str(big), "--stats"])

    rows = measure_interleaved(commands, rounds)
    times = {label: seconds for label, seconds, _, _ in rows}
    ours = times["logview --level ERROR --json"]
    print(f"{lines:,} lines, {size:.0f} MB, median of {rounds} round(s), Python "
          f"{sys.version.split()[0]}\n")  # fmt: skip
    print("| command | seconds | CPU seconds | peak RSS MiB | ratio |")
    print("|---|---:|---:|---:|---|")
    for label, seconds, rss, cpu in rows:
        if label.startswith(("jq -c", "lnav")):
            ratio = f"logview is {seconds / ours:.1f}× faster"
        elif label.startswith("jq -C"):
            ratio = f"logview is {seconds / times['logview (pretty, everything)']:.1f}× faster"
        elif label == "logview --json, 4 files merged":
            ratio = f"{seconds / times['logview --json, one file']:.2f}× one file"
        else:
            ratio = ""
        print(f"| `{label}` | {seconds:.2f} | {cpu:.2f} | {rss} | {ratio} |")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
