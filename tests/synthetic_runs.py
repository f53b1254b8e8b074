"""Seeded synthetic runs of N ranks that failed, for ``logview --triage``.

Shaped like a real failed run: every rank starts, logs the same 20 startup
warnings, works (INFO), and some log handled ERRORs (decoys, some with a
traceback). Then one rank hits the root cause (CRITICAL, with a traceback)
and every other rank times out after it (CRITICAL ``TimeoutError``).

Two layouts:

* ``torchrun``: every rank appends to one shared ``app.jsonl``, rotated
  (``app.jsonl.2``, ``.1``, the live file). Lines reach the file in flush
  order, not time order: the root cause's line is written after some of the
  timeouts it caused (its process flushed late), so it is not first in file
  order.
* ``ray``: one file per worker, ``app.<host>-<pid>.jsonl``, with Ray's
  identity fields and no rank; the root cause's worker is not the first file.

``make_run`` returns what a correct triage must find.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STARTUP_WARNINGS = [
    "torch.distributed backend gloo is slow on this platform",
    "TypedStorage is deprecated, use untyped storage",
    "flash attention is not available, falling back",
    "tokenizers parallelism disabled after fork",
    "gradient checkpointing makes use_cache incompatible",
    "pin_memory requested but no accelerator found",
    "NCCL_ASYNC_ERROR_HANDLING is deprecated",
    "the default dtype changed from float to bfloat",
    "seed not set, results are not reproducible",
    "dataloader workers exceed the suggested maximum",
    "optimizer state will be sharded lazily",
    "checkpoint directory already exists",
    "wandb is disabled, metrics stay local",
    "the learning rate scheduler was stepped before the optimizer",
    "mixed precision is off",
    "config key max_steps overrides num_epochs",
    "the model has unused parameters",
    "the tokenizer has no pad token, using eos",
    "environment variable OMP_NUM_THREADS is unset",
    "the evaluation dataset is empty",
]

ROOT_TRACEBACK = """Traceback (most recent call last):
  File "/app/train.py", line 212, in <module>
    main()
  File "/app/train.py", line 188, in main
    loss = model(batch).loss
  File "/app/model.py", line 97, in forward
    scores = attention(q, k, v)
RuntimeError: shape mismatch: value tensor of shape [8, 512] cannot be broadcast to [8, 1024]"""

TIMEOUT_TRACEBACK = """Traceback (most recent call last):
  File "/app/train.py", line 212, in <module>
    main()
  File "/app/train.py", line 190, in main
    dist.all_reduce(loss)
TimeoutError: collective operation timed out after 1800 s"""

DECOY_TRACEBACK = """Traceback (most recent call last):
  File "/app/data.py", line 41, in fetch
    return client.get(url)
ConnectionResetError: [Errno 104] Connection reset by peer"""


@dataclass
class Expected:
    """What a correct triage of the run finds."""

    records: int
    processes: int
    root_rank: int
    root_pid: int
    root_host: str
    root_message: str
    before: list[str]
    kinds: int
    warning_kinds: int = 20
    ranks: int = 0
    files: list[Path] = field(default_factory=list)


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="microseconds")


def make_run(
    directory: Path,
    ranks: int,
    layout: str = "torchrun",
    seed: int = 0,
    steps: int = 6,
    separators: tuple[str, str] = (",", ":"),
) -> Expected:
    """Write a failed run of ``ranks`` ranks into ``directory``. ``separators``:
    compact as our writer's lines, or ``(", ", ": ")`` as json.dumps's default."""
    rng = random.Random(seed)
    start = 1_790_000_000.0 + rng.random()
    hosts = [f"node{n:02d}" for n in range((ranks + 7) // 8)]
    procs = []
    for rank in range(ranks):
        procs.append(
            {"rank": rank, "pid": 10_000 + rank * 7 + rng.randrange(5), "host": hosts[rank // 8]}
        )
    root = rng.randrange(1, ranks)  # never rank 0: not first in any order
    written: list[tuple[float, float, int, dict[str, Any]]] = []  # (flush, time, rank, doc)

    def emit(when: float, rank: int, level: str, logger: str, message: str,
             traceback: str | None = None, flush_delay: float = 0.0) -> None:  # fmt: skip
        proc = procs[rank]
        doc: dict[str, Any] = {
            "timestamp": _iso(when), "level": level, "logger": logger, "message": message,
            "module": "train", "function": "main", "line": 100, "process": proc["pid"],
            "process_name": "MainProcess", "thread_name": "MainThread",
            "hostname": proc["host"],
        }  # fmt: skip
        if layout == "torchrun":
            doc.update(rank=rank, local_rank=rank % 8, world_size=ranks)
        else:
            doc.update(
                job_id="01000000", node_id=f"{rank // 8:056x}", worker_id=f"{rank + 1:056x}",
                actor_id=f"{rank + 7:032x}", actor_name=f"Learner-{rank}",
            )  # fmt: skip
        if traceback is not None:
            kind = traceback.rstrip().rsplit("\n", 1)[-1]
            doc["exception"] = {
                "type": kind.split(":", 1)[0],
                "message": kind.split(": ", 1)[1],
                "traceback": traceback,
            }
        written.append((when + flush_delay, when, rank, doc))

    before: list[str] = []
    for rank in range(ranks):
        t = start + rank * 0.001
        emit(t, rank, "INFO", "train", f"starting rank {rank} of {ranks}")
        for k, text in enumerate(STARTUP_WARNINGS):
            emit(t + 0.01 + k * 0.0001, rank, "WARNING", "train.setup", text)
        for step in range(steps):
            when = t + 1 + step
            emit(when, rank, "INFO", "train.loop", f"step {step} loss {rng.random():.3f}")
            if rank == root:
                before.append(f"step {step} loss")
    # Decoys: handled ERRORs, some with a traceback, before the root cause.
    decoys = rng.sample([r for r in range(ranks) if r != root], k=min(3, ranks - 1))
    for n, rank in enumerate(decoys):
        emit(start + 2.5 + n * 0.1, rank, "ERROR", "data.fetch", "fetch failed, retrying",
             DECOY_TRACEBACK if n % 2 == 0 else None)  # fmt: skip
    failure_at = start + 1 + steps + 0.5
    emit(failure_at - 0.2, root, "INFO", "train.loop", "entering attention block")
    emit(failure_at, root, "CRITICAL", "uncaught", "uncaught exception: RuntimeError",
         ROOT_TRACEBACK, flush_delay=1800.5)  # fmt: skip
    for rank in range(ranks):
        if rank != root:
            emit(failure_at + 1800 + rng.random(), rank, "CRITICAL", "uncaught",
                 "uncaught exception: TimeoutError", TIMEOUT_TRACEBACK)  # fmt: skip
    root_before = [doc["message"] for _, _, r, doc in sorted(written, key=lambda w: w[1])
                   if r == root and doc["timestamp"] < _iso(failure_at)][-5:]  # fmt: skip

    directory.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    if layout == "torchrun":
        # Flush order: the root cause's line lands after the first timeouts.
        ordered = sorted(written, key=lambda w: (w[0], w[2]))
        lines = [json.dumps(doc, separators=separators) + "\n" for _, _, _, doc in ordered]
        third = len(lines) // 3
        parts = {"app.jsonl.2": lines[:third], "app.jsonl.1": lines[third : 2 * third],
                 "app.jsonl": lines[2 * third :]}  # fmt: skip
        for name, chunk in parts.items():
            path = directory / name
            path.write_text("".join(chunk))
            files.append(path)
    else:
        by_rank: dict[int, list[str]] = {}
        for _, _, rank, doc in sorted(written, key=lambda w: w[1]):
            by_rank.setdefault(rank, []).append(json.dumps(doc, separators=separators) + "\n")
        for rank, chunk in by_rank.items():
            proc = procs[rank]
            path = directory / f"app.{proc['host']}-{proc['pid']}.jsonl"
            path.write_text("".join(chunk))
            files.append(path)
    kinds = len(STARTUP_WARNINGS) + 2 + (2 if len(decoys) > 1 else 1)  # + root, timeouts, decoys
    return Expected(
        records=len(written),
        processes=ranks,
        root_rank=root,
        root_pid=procs[root]["pid"],
        root_host=procs[root]["host"],
        root_message="uncaught exception: RuntimeError",
        before=root_before,
        kinds=kinds,
        ranks=ranks,
        files=files,
    )
