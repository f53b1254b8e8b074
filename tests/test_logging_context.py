"""Context that follows the task, and identity that follows the process."""

from __future__ import annotations

import asyncio
import contextvars
import copy
import logging
import pickle
import threading
from pathlib import Path

import pytest
import trio

from shared.logging_config import setup_logging, shutdown_logging
from shared.logging_context import (
    bind_context,
    clear_context,
    get_context,
    log_context,
    reset_context,
)

from .conftest import read_jsonl, run_python


def _queued_file(tmp_path: Path) -> Path:
    log_file = tmp_path / "a.jsonl"
    setup_logging(log_file=log_file, use_queue_handler=True, console=False, queue_size=64)
    return log_file


def test_bind_reset_clear_and_get() -> None:
    """bind_context adds fields, reset_context undoes exactly that bind, clear removes all."""
    outer = bind_context(run="r1")
    inner = bind_context(step=3, run="r2")
    assert get_context() == {"run": "r2", "step": 3}
    reset_context(inner)
    assert get_context() == {"run": "r1"}
    reset_context(outer)
    assert get_context() == {}
    bind_context(a=1)
    clear_context()
    assert get_context() == {}


def test_bound_fields_cannot_change_in_place() -> None:
    """A record keeps the context it captured without a copy, so the bound dict
    refuses every change; copies and pickles of it are equal and still frozen."""
    token = bind_context(run="r1", step=3)
    try:
        bound = contextvars.copy_context()[
            next(var for var in contextvars.copy_context() if var.name == "shared_logging_context")
        ]
        assert isinstance(bound, dict)
        changes = [
            lambda: bound.__setitem__("run", "r2"),
            lambda: bound.__delitem__("run"),
            lambda: bound.update(run="r2"),
            lambda: bound.pop("run"),
            bound.popitem,
            bound.clear,
            lambda: bound.setdefault("new", 1),
        ]
        for change in changes:
            with pytest.raises(TypeError, match="bind_context"):
                change()
        assert dict(bound) == {"run": "r1", "step": 3}
        for twin in (copy.copy(bound), copy.deepcopy(bound), pickle.loads(pickle.dumps(bound))):
            assert twin == bound
            assert type(twin) is type(bound)
        assert get_context() == {"run": "r1", "step": 3}
        assert type(get_context()) is dict  # the public copy is a plain, changeable dict
    finally:
        reset_context(token)


def test_context_fields_are_top_level_keys_and_extra_wins(tmp_path: Path) -> None:
    """Context fields land as top-level JSONL keys; an explicit extra of the same name wins."""
    log_file = _queued_file(tmp_path)
    with log_context(rollout_id=7, user="ctx"):
        logging.getLogger("c").info("inside", extra={"user": "explicit"})
    logging.getLogger("c").info("outside")
    shutdown_logging()
    inside, outside = read_jsonl(log_file)
    assert (inside["rollout_id"], inside["user"]) == (7, "explicit")
    assert "rollout_id" not in outside


def test_context_is_captured_at_call_time_with_the_queue(tmp_path: Path) -> None:
    """With the queue, a record keeps the context of its call even if it changes right after."""
    log_file = _queued_file(tmp_path)
    for i in range(200):
        token = bind_context(i=i)
        logging.getLogger("c").info("r")
        reset_context(token)
    shutdown_logging()
    assert [r["i"] for r in read_jsonl(log_file)] == list(range(200))


def test_log_context_decorates_sync_and_async_functions(tmp_path: Path) -> None:
    """As a decorator, each call binds its fields for the call's duration."""
    log_file = _queued_file(tmp_path)

    @log_context(job="sync")
    def sync_job() -> int:
        logging.getLogger("d").info("sync")
        return 1

    @log_context(job="async")
    async def async_job() -> int:
        await asyncio.sleep(0)
        logging.getLogger("d").info("async")
        return 2

    assert sync_job() == 1
    assert asyncio.run(async_job()) == 2
    assert get_context() == {}
    shutdown_logging()
    assert [r["job"] for r in read_jsonl(log_file)] == ["sync", "async"]


def test_hundreds_of_asyncio_tasks_keep_their_own_fields(tmp_path: Path) -> None:
    """200 concurrent asyncio tasks, queued: each record carries its own task's fields."""
    log_file = _queued_file(tmp_path)

    async def rollout(n: int) -> None:
        async with log_context(rollout_id=n):
            for step in range(5):
                await asyncio.sleep(0)
                logging.getLogger("rollouts").info("step", extra={"step": step, "expect": n})

    async def main() -> None:
        await asyncio.gather(*(rollout(n) for n in range(200)))

    asyncio.run(main())
    shutdown_logging()
    records = read_jsonl(log_file)
    assert len(records) == 1000
    assert all(r["rollout_id"] == r["expect"] for r in records)


def test_trio_tasks_keep_their_own_fields(tmp_path: Path) -> None:
    """Concurrent trio tasks logging through the queue: each record carries its task's fields."""
    log_file = _queued_file(tmp_path)

    async def worker(n: int) -> None:
        with log_context(worker=n):
            for _ in range(5):
                await trio.sleep(0)
                logging.getLogger("bifrost").info("tick", extra={"expect": n})

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for n in range(120):
                nursery.start_soon(worker, n)

    trio.run(main)
    shutdown_logging()
    records = read_jsonl(log_file)
    assert len(records) == 600
    assert all(r["worker"] == r["expect"] for r in records)


def test_threads_get_the_context_they_are_given(tmp_path: Path) -> None:
    """A plain thread starts empty; one run in copy_context() sees the caller's fields."""
    log_file = _queued_file(tmp_path)
    with log_context(request="abc"):
        plain = threading.Thread(target=lambda: logging.getLogger("t").info("plain"))
        ctx = contextvars.copy_context()
        copied = threading.Thread(target=ctx.run, args=(logging.getLogger("t").info, "copied"))
        plain.start()
        copied.start()
        plain.join()
        copied.join()
    shutdown_logging()
    by_message = {r["message"]: r for r in read_jsonl(log_file)}
    assert "request" not in by_message["plain"]
    assert by_message["copied"]["request"] == "abc"


def test_context_shows_on_the_console(capsys: pytest.CaptureFixture[str]) -> None:
    """Context fields are printed as key=value on the human console too."""
    setup_logging()
    with log_context(rollout_id=3):
        logging.getLogger("c").warning("hi")
    assert "rollout_id=3" in capsys.readouterr().err


def test_context_key_colliding_with_ours_is_renamed(tmp_path: Path) -> None:
    """A context field named like one of our keys is kept under the extra_ prefix."""
    log_file = _queued_file(tmp_path)
    with log_context(level="mine"):
        logging.getLogger("c").info("x")
    shutdown_logging()
    (record,) = read_jsonl(log_file)
    assert (record["level"], record["extra_level"]) == ("INFO", "mine")


# --- process identity ---------------------------------------------------------------------


def test_records_carry_host_pid_process_name_and_ranks(tmp_path: Path) -> None:
    """hostname, process (pid) and process_name always; rank fields as ints under torchrun."""
    result = run_python(
        """
        import logging, os, socket
        from shared.logging_config import setup_logging
        setup_logging(log_file="app.jsonl", console=False)
        logging.getLogger("r").info("hello")
        print(os.getpid(), socket.gethostname())
        """,
        tmp_path,
        env={"RANK": "3", "LOCAL_RANK": "1", "WORLD_SIZE": "8"},
        check=True,
    )
    pid, host = result.stdout.split()
    (record,) = read_jsonl(tmp_path / "app.jsonl")
    assert (record["process"], record["hostname"]) == (int(pid), host)
    assert record["process_name"] == "MainProcess"
    assert (record["rank"], record["local_rank"], record["world_size"]) == (3, 1, 8)


def test_no_rank_fields_without_a_launcher(tmp_path: Path) -> None:
    """Without RANK and friends there are no rank keys."""
    result = run_python(
        """
        import logging
        from shared.logging_config import setup_logging
        setup_logging(log_file="app.jsonl", console=False)
        logging.getLogger("r").info("hello")
        """,
        tmp_path,
        env={"RANK": "", "LOCAL_RANK": "", "WORLD_SIZE": ""},
        check=True,
    )
    assert result.returncode == 0
    (record,) = read_jsonl(tmp_path / "app.jsonl")
    assert not {"rank", "local_rank", "world_size"} & record.keys()


def test_one_log_context_instance_is_shared_by_tasks_and_nests() -> None:
    """One instance entered by three concurrent asyncio tasks, and twice nested in one
    thread: each block sees its fields and leaves the context as it found it."""
    shared = log_context(job="eval")
    seen: dict[int, dict[str, object]] = {}

    async def task(number: int, started: asyncio.Event, go: asyncio.Event) -> None:
        bind_context(task=number)
        async with shared:
            started.set()
            await go.wait()  # all three are inside the block at the same time
            seen[number] = get_context()
        assert get_context() == {"task": number}

    async def main() -> None:
        go = asyncio.Event()
        events = [asyncio.Event() for _ in range(3)]
        tasks = [asyncio.create_task(task(i, events[i], go)) for i in range(3)]
        for event in events:
            await event.wait()
        go.set()
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert seen == {i: {"task": i, "job": "eval"} for i in range(3)}

    with shared:
        with log_context(step=1), shared:
            assert get_context() == {"job": "eval", "step": 1}
        assert get_context() == {"job": "eval"}
    assert get_context() == {}
