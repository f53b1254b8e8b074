"""Our faster LogRecord is the stdlib's LogRecord: same attributes, order and values."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared._logging import factory, hooks
from shared._logging.factory import SUPPORTED, fast_record
from shared.logging_config import setup_logging, shutdown_logging

from .conftest import run_python

#: Derived from the clock: compared for consistency, not equality.
TIME_FIELDS = {"created", "msecs", "relativeCreated"}

pytestmark = pytest.mark.skipif(not SUPPORTED, reason="mirrors only Python 3.11 to 3.13")


def _applies() -> bool:
    """Whether our faster record would be made now (else stdlib's)."""
    return fast_record("n", 20, "/p.py", 1, "m", None, None) is not None


def _both(*args: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Our record and stdlib's, for the same arguments."""
    ours = factory.fast_record(*args)
    assert ours is not None
    return vars(ours), vars(logging.LogRecord(*args))


def _assert_same(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert list(ours) == list(theirs), "same attributes in the same order"
    assert {k: v for k, v in ours.items() if k not in TIME_FIELDS} == {
        k: v for k, v in theirs.items() if k not in TIME_FIELDS
    }
    created = ours["created"]
    assert abs(created - theirs["created"]) < 5
    assert type(ours["msecs"]) is float
    assert 0 <= ours["msecs"] < 1000
    assert abs(ours["msecs"] - (created - int(created)) * 1000) < 1.001 or ours["msecs"] == 0.0
    start = logging._startTime
    start_seconds = start / 1e9 if sys.version_info >= (3, 13) else start
    assert abs(ours["relativeCreated"] - (created - start_seconds) * 1000) < 1


paths = st.one_of(
    st.none(),
    st.text(),
    st.sampled_from(["/a/b/c.py", "c.py", "/a/b/", "", "/x/.hidden", "/x/y.tar.gz"]),
)
levels = st.one_of(st.sampled_from([0, 5, 10, 20, 25, 30, 40, 50]), st.integers(-100, 100))
arguments = st.one_of(
    st.none(),
    st.just(()),
    st.tuples(st.integers()),
    st.tuples(st.text(), st.floats()),
    st.tuples(st.dictionaries(st.text(), st.integers())),  # one mapping: becomes args
    st.tuples(st.just({})),  # an empty mapping stays a tuple
    st.tuples(st.just(b"raw")),
)


@given(
    name=st.text(),
    level=levels,
    pathname=paths,
    lineno=st.integers(0, 10**6),
    msg=st.one_of(st.text(), st.integers(), st.none()),
    args=arguments,
    func=st.one_of(st.none(), st.text()),
    sinfo=st.one_of(st.none(), st.text()),
)
def test_same_record_as_stdlib(
    name: str, level: int, pathname: Any, lineno: int, msg: Any, args: Any, func: Any, sinfo: Any
) -> None:
    _assert_same(*_both(name, level, pathname, lineno, msg, args, None, func, sinfo))


def test_custom_level_names_and_unhashable_paths() -> None:
    logging.addLevelName(23, "NOTICE")
    _assert_same(*_both("n", 23, "/p/q.py", 1, "m", None, None))
    _assert_same(*_both("n", 24, ["not", "a", "path"], 1, "m", None, None))


def test_thread_name_is_read_per_record() -> None:
    seen: list[tuple[dict[str, Any], dict[str, Any]]] = []
    worker = threading.Thread(
        target=lambda: seen.append(_both("t", 20, "/a.py", 1, "m", None, None)), name="rollout-7"
    )
    worker.start()
    worker.join()
    ours, theirs = seen[0]
    _assert_same(ours, theirs)
    assert ours["threadName"] == "rollout-7"


@pytest.mark.skipif(sys.version_info < (3, 12), reason="taskName is new in 3.12")
def test_task_name_inside_and_outside_a_task() -> None:
    async def in_task() -> tuple[dict[str, Any], dict[str, Any]]:
        return _both("a", 20, "/a.py", 1, "m", None, None)

    async def main() -> list[tuple[dict[str, Any], dict[str, Any]]]:
        loop = asyncio.get_running_loop()
        from_callback: asyncio.Future[tuple[dict[str, Any], dict[str, Any]]] = loop.create_future()
        loop.call_soon(
            lambda: from_callback.set_result(_both("a", 20, "/a.py", 1, "m", None, None))
        )
        return [await asyncio.create_task(in_task(), name="fetch-12"), await from_callback]

    (ours, theirs), callback = asyncio.run(main())
    _assert_same(ours, theirs)
    assert ours["taskName"] == "fetch-12"
    _assert_same(*callback)
    assert callback[0]["taskName"] is None
    _assert_same(*_both("a", 20, "/a.py", 1, "m", None, None))


def test_process_name_in_a_child(tmp_path: Path) -> None:
    result = run_python(
        """
        import logging, multiprocessing
        from shared._logging.factory import fast_record

        def child(queue):
            ours = vars(fast_record("c", 20, "/a.py", 1, "m", None, None))
            theirs = vars(logging.LogRecord("c", 20, "/a.py", 1, "m", None, None))
            queue.put((ours["processName"], theirs["processName"]))

        if __name__ == "__main__":
            ctx = multiprocessing.get_context("spawn")
            queue = ctx.Queue()
            worker = ctx.Process(target=child, args=(queue,), name="worker-3")
            worker.start()
            print(queue.get(timeout=60))
            worker.join()
        """,
        tmp_path,
        check=True,
    )
    assert result.stdout.strip() == "('worker-3', 'worker-3')"


def test_logger_calls_make_stdlib_records(tmp_path: Path) -> None:
    """Through setup_logging's makeRecord: what a handler sees, extras included."""
    seen: list[logging.LogRecord] = []
    snapshots: list[dict[str, Any]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)
            snapshots.append(dict(vars(record)))  # before pytest's formatter adds "message"

    setup_logging(log_file=tmp_path / "app.jsonl", console=False)
    keep = Keep()
    logger = logging.getLogger("factory.check")
    logger.addHandler(keep)
    try:
        assert _applies()
        logger.warning("step %d", 3, extra={"loss": 0.5}, stack_info=False)
    finally:
        logger.removeHandler(keep)
        shutdown_logging()
    record = seen[0]
    assert type(record) is logging.LogRecord
    expected = logging.getLogger("factory.check").makeRecord(
        "factory.check", logging.WARNING, record.pathname, record.lineno, "step %d", (3,),
        None, record.funcName, {"loss": 0.5}, None,
    )  # fmt: skip
    mine = {k: v for k, v in snapshots[0].items() if not k.startswith("_shared_logging")}
    _assert_same(mine, vars(expected))


def test_a_custom_factory_is_respected(tmp_path: Path) -> None:
    class Tagged(logging.LogRecord):
        tagged = True

    previous = logging.getLogRecordFactory()
    logging.setLogRecordFactory(Tagged)
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    setup_logging(log_file=tmp_path / "app.jsonl", console=False)
    keep = Keep()
    logging.getLogger("factory.custom").addHandler(keep)
    try:
        assert not _applies()
        logging.getLogger("factory.custom").warning("hello")
    finally:
        logging.getLogger("factory.custom").removeHandler(keep)
        shutdown_logging()
        logging.setLogRecordFactory(previous)
    assert type(seen[0]) is Tagged


def test_switches_off_means_stdlib_records(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logging, "logThreads", False)
    assert not _applies()


def test_make_record_keywords_and_colliding_extras(tmp_path: Path) -> None:
    """The installed makeRecord takes stdlib's keywords, and renames
    extras that would clobber a record attribute instead of raising."""
    setup_logging(log_file=tmp_path / "app.jsonl", console=False)
    try:
        logger = logging.getLogger("factory.kw")
        by_keyword = logger.makeRecord(
            "factory.kw", logging.INFO, "/a.py", 3, "m %s", ("x",), None,
            func="f", extra={"loss": 0.5}, sinfo=None,
        )  # fmt: skip
        positional = logger.makeRecord(
            "factory.kw", logging.INFO, "/a.py", 3, "m %s", ("x",), None, "f",
            {"name": "clash", "loss": 0.25},
        )  # fmt: skip
    finally:
        shutdown_logging()
    assert by_keyword.loss == 0.5
    assert by_keyword.funcName == "f"
    assert positional.name == "factory.kw"
    assert positional.extra_name == "clash"
    assert positional.loss == 0.25
    assert logging.Logger.makeRecord is hooks._original_make_record  # uninstalled
