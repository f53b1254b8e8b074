"""Printing every record of one source: the viewer's heaviest job.

Our own lines take the renderer's fused path a chunk of lines at a time. A big
input is rendered by worker processes, one chunk each, and written in order by
this one: rendering is all Python and one core is the limit, while reading and
writing are cheap. At most two chunks per worker are in flight, so memory stays
bounded whatever the file size.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Final

from ._records import parse
from ._render import Renderer
from ._sources import Counters, Source, blocks, chunks

#: Below this much input, starting workers costs more than it saves.
PARALLEL_FROM_BYTES: Final = 8 << 20
MAX_WORKERS: Final = 4


def render_block(renderer: Renderer, block: list[bytes]) -> tuple[str, int]:
    """The text of a block of lines, and how many lines were not records."""
    texts = list(map(renderer.render_raw, block))  # no Python step per line but the render
    skipped = 0
    if None in texts:  # lines of another writer, or not JSON at all: the general path
        for index, text in enumerate(texts):
            if text is None:
                record = parse(block[index])
                if record is None:
                    skipped += 1 if block[index].strip() else 0
                    texts[index] = ""
                else:
                    texts[index] = renderer.render(record)
    return "".join(texts), skipped  # type: ignore[arg-type]


def print_everything(source: Source, colors: bool, counters: Counters) -> None:
    workers = _workers_for(source)
    if workers > 1:
        _in_parallel(source, colors, counters, workers)
        return
    renderer = Renderer(colors)
    for block in blocks(source, counters):
        text, skipped = render_block(renderer, block)
        counters.skipped += skipped
        sys.stdout.write(text)
    sys.stdout.flush()


def _workers_for(source: Source) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if not source.paths or (cores or 1) < 2:
        return 1
    try:
        size = sum(os.path.getsize(path) for path in source.paths)
    except OSError:
        return 1
    return min(cores or 1, MAX_WORKERS) if size >= PARALLEL_FROM_BYTES else 1


def _in_parallel(source: Source, colors: bool, counters: Counters, workers: int) -> None:
    import multiprocessing  # noqa: PLC0415 - only for big inputs

    # fork starts a worker in milliseconds; this process runs no thread to upset it.
    method = "fork" if sys.platform == "linux" else "spawn"
    pool = ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context(method),
        initializer=_start_worker,
        initargs=(colors,),
    )
    pending: deque[Future[tuple[str, int]]] = deque()
    try:
        for data in chunks(source, counters):
            pending.append(pool.submit(_render_chunk, data))
            if len(pending) >= 2 * workers:
                _write(pending.popleft(), counters)
        while pending:
            _write(pending.popleft(), counters)
        sys.stdout.flush()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _write(future: Future[tuple[str, int]], counters: Counters) -> None:
    text, skipped = future.result()
    counters.skipped += skipped
    sys.stdout.write(text)


_renderer: Renderer | None = None


def _start_worker(colors: bool) -> None:
    global _renderer  # noqa: PLW0603 - one renderer per worker process
    _renderer = Renderer(colors)
    gc.disable()  # as in the main process: no cycles are made, and the GC costs a tenth
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle


def _render_chunk(data: bytes) -> tuple[str, int]:
    assert _renderer is not None
    return render_block(_renderer, data.split(b"\n"))
