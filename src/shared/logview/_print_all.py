"""Printing every record of one source: the viewer's heaviest job.

Our own lines take the renderer's fused path a chunk of lines at a time. A big
input is rendered by worker processes, one chunk each, and written in order by
this one: rendering is all Python and one core is the limit, while reading and
writing are cheap. One chunk per worker is in flight, so memory stays bounded
whatever the file size.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections import deque
from typing import Any, Final

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
    """Chunks go to the workers in turn and come back in the same turn, so the
    output keeps the input's order. A worker gets its next chunk only once its
    last result is read: a pipe can then never fill both ways at once."""
    sys.stdout.flush()  # what is already written comes first
    out = sys.stdout.buffer
    encoding, errors = sys.stdout.encoding, sys.stdout.errors or "strict"
    pool = [_Worker(colors, encoding, errors) for _ in range(workers)]
    local = Renderer(colors)  # if a worker dies, its turns are rendered here

    def render_here(data: bytes) -> tuple[bytes, int]:
        text, skipped = render_block(local, data.split(b"\n"))
        return text.encode(encoding, errors), skipped

    turn: deque[tuple[_Worker, bytes]] = deque()  # (worker, the chunk it is rendering)
    try:
        feed = chunks(source, counters)
        for worker in pool:
            data = next(feed, None)
            if data is None:
                break
            worker.send(data)
            turn.append((worker, data))
        while turn:
            worker, data = turn.popleft()
            text, skipped = worker.receive() or render_here(data)
            counters.skipped += skipped
            following = next(feed, None)
            if following is not None:
                worker.send(following)  # before writing: it renders while we write
                turn.append((worker, following))
            out.write(text)
        out.flush()
    finally:
        busy = {id(worker) for worker, _ in turn}  # left mid-chunk: Ctrl-C, a closed pipe
        for worker in pool:
            worker.stop(busy=id(worker) in busy)


class _Worker:
    """One rendering process and the pipe to it. No thread, no lock: nothing here
    can hang when Ctrl-C or a closed pipe ends the main process's work."""

    def __init__(self, colors: bool, encoding: str, errors: str) -> None:
        import multiprocessing  # noqa: PLC0415 - only for big inputs

        # fork starts a worker in milliseconds; this process runs no thread to upset it.
        context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
        self.conn, theirs = context.Pipe()
        self.process: Any = context.Process(  # type: ignore[attr-defined]
            target=_serve, args=(theirs, colors, encoding, errors), daemon=True
        )
        self.process.start()
        theirs.close()
        self.alive = True

    def send(self, data: bytes) -> None:
        if not self.alive:
            return
        try:
            self.conn.send_bytes(b"\1" + data)  # a prefix: an empty chunk is not the stop signal
        except OSError:  # it died: receive() says so, and the chunk is rendered here
            self.alive = False

    def receive(self) -> tuple[bytes, int] | None:
        if not self.alive:
            return None
        try:
            reply = self.conn.recv_bytes()
        except (EOFError, OSError):
            self.alive = False
            return None
        return reply[8:], int.from_bytes(reply[:8], "little")

    def stop(self, busy: bool) -> None:
        if busy:  # its result will never be read: no point waiting for it
            self.process.terminate()
        else:
            try:
                self.conn.send_bytes(b"\0")
            except OSError:
                pass
        self.conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def _serve(conn: Any, colors: bool, encoding: str, errors: str) -> None:
    """A worker's life: render each chunk it is sent, until the stop signal."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    gc.disable()  # as in the main process: no cycles are made, and the GC costs a tenth
    renderer = Renderer(colors)
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):  # the main process is gone
            return
        if data[:1] != b"\1":
            return
        text, skipped = render_block(renderer, data[1:].split(b"\n"))
        conn.send_bytes(skipped.to_bytes(8, "little") + text.encode(encoding, errors))
