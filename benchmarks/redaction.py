"""Redaction recall and false positives on our corpus (tests/secret_corpus.py),
and what redaction costs per record.

    python benchmarks/redaction.py            # recall, false positives, cost
    python benchmarks/redaction.py --misses   # also list every secret that got through

Each secret is logged through ``setup_logging(log_file=..., console=False)`` in
four placements: as a message argument, inside an f-string message, as the
value of an innocuous extra (``extra={"detail": s}``) and inside an exception
logged with ``logger.exception``. A secret is caught when neither it nor any
8-character window of its random part is in the JSONL line.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.secret_corpus import ML_KEYS, ORDINARY, SECRET_KEYS, Case, secrets, windows


def _log_exception(log: logging.Logger, secret: str) -> None:
    try:
        raise ConnectionError(f"auth failed for {secret}")
    except ConnectionError:
        log.exception("request failed")


PLACEMENTS: dict[str, Callable[[logging.Logger, str], None]] = {
    "message argument": lambda log, s: log.warning("connecting with %s", s),
    "f-string": lambda log, s: log.warning(f"connecting with {s} now"),
    "innocuous extra": lambda log, s: log.warning("connecting", extra={"detail": s}),
    "exception": _log_exception,
}


def logged_lines(texts: list[str], placement: str, directory: Path, queued: bool) -> list[str]:
    """One JSONL line per text, logged in ``placement``."""
    from shared.logging_config import setup_logging, shutdown_logging

    path = directory / f"{placement.replace(' ', '-')}-{queued}.jsonl"
    setup_logging(log_file=path, console=False, use_queue_handler=queued)
    log = logging.getLogger("corpus")
    for text in texts:
        PLACEMENTS[placement](log, text)
    shutdown_logging()
    return path.read_text(encoding="utf-8").splitlines()


def leaked(case: Case, line: str) -> bool:
    return case.secret in line or any(w in line for w in windows(case.secret))


def recall(cases: list[Case], queued: bool = False) -> dict[str, list[bool]]:
    """Per placement, whether each case was caught."""
    found: dict[str, list[bool]] = {}
    with tempfile.TemporaryDirectory() as directory:
        for placement in PLACEMENTS:
            lines = logged_lines([c.carrier for c in cases], placement, Path(directory), queued)
            assert len(lines) == len(cases), (placement, len(lines))
            found[placement] = [not leaked(c, line) for c, line in zip(cases, lines, strict=True)]
    return found


def false_positives(queued: bool = False) -> list[str]:
    """Ordinary content changed by redaction, and ML keys whose value was masked."""
    changed: list[str] = []
    with tempfile.TemporaryDirectory() as directory:
        for placement in ("message argument", "innocuous extra"):
            lines = logged_lines(ORDINARY, placement, Path(directory), queued)
            for text, line in zip(ORDINARY, lines, strict=True):
                if "[REDACTED]" in line:
                    changed.append(f"{placement}: {text}")
        from shared.logging_config import setup_logging, shutdown_logging

        path = Path(directory) / "keys.jsonl"
        setup_logging(log_file=path, console=False, use_queue_handler=queued)
        logging.getLogger("corpus").warning("keys", extra=ML_KEYS)
        logging.getLogger("corpus").warning("secrets", extra=dict.fromkeys(SECRET_KEYS, "v4lue-x"))
        shutdown_logging()
        first, second = (json.loads(line) for line in path.read_text().splitlines())
        changed += [f"ML key masked: {k}" for k in ML_KEYS if first[k] == "[REDACTED]"]
        changed += [f"secret key kept: {k}" for k in SECRET_KEYS if second[k] != "[REDACTED]"]
    return changed


def cost(rounds: int = 7, count: int = 20_000) -> dict[str, float]:
    """µs per typical record (message plus three short string extras), redaction on
    against off, synchronous mode, interleaved rounds in fresh configurations."""
    from shared.logging_config import setup_logging, shutdown_logging

    log = logging.getLogger("bench")
    timings: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as directory:
        for n in range(rounds):
            for redact in (True, False):
                setup_logging(log_file=Path(directory) / f"{n}-{redact}.jsonl", console=False,
                              redact=redact)  # fmt: skip
                start = time.perf_counter()
                for i in range(count):
                    log.info("step %d done", i, extra={"phase": "train", "env": "math-v2",
                                                         "host": "gpu-17"})  # fmt: skip
                timings[redact].append((time.perf_counter() - start) / count * 1e6)
                shutdown_logging()
    on, off = statistics.median(timings[True]), statistics.median(timings[False])
    return {"redact_on_us": on, "redact_off_us": off, "cost_us": on - off}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", action="store_true", help="list every secret that got through")
    parser.add_argument("--queued", action="store_true", help="log through the queue")
    args = parser.parse_args()
    cases = secrets()
    found = recall(cases, args.queued)
    research = [i for i, c in enumerate(cases) if c.research]
    kinds = len({c.kind for c in cases})
    print(f"Python {sys.version.split()[0]}: {len(cases)} secrets of {kinds} kinds, "
          f"{len(research)} of the kinds research code handles.\n")  # fmt: skip
    print("| placement | caught (all) | caught (research kinds) |")
    print("|---|---:|---:|")
    for placement, caught in found.items():
        every = sum(caught) / len(caught)
        ours = sum(caught[i] for i in research) / len(research)
        print(f"| {placement} | {every:.0%} | {ours:.0%} |")
    missed = sorted({cases[i].kind for caught in found.values() for i, ok in enumerate(caught)
                     if not ok})  # fmt: skip
    print(f"\nkinds with a miss in some placement: {', '.join(missed) or 'none'}")
    if args.misses:
        for placement, caught in found.items():
            for case, ok in zip(cases, caught, strict=True):
                if not ok:
                    print(f"  missed ({placement}, {case.kind}): {case.carrier[:90]}")
    changed = false_positives(args.queued)
    print(f"\nfalse positives on {len(ORDINARY)} ordinary lines and {len(ML_KEYS)} ML keys, "
          f"and secret key names missed ({len(SECRET_KEYS)}): {len(changed)}")  # fmt: skip
    for item in changed:
        print(f"  {item}")
    figures = cost()
    print(f"\nper typical record (message + 3 short string extras), synchronous: "
          f"redact=True {figures['redact_on_us']:.2f} µs, redact=False "
          f"{figures['redact_off_us']:.2f} µs, redaction {figures['cost_us']:+.2f} µs")  # fmt: skip


if __name__ == "__main__":
    main()
