"""The C hot path (``_speedups.c``) writes exactly what the Python path writes.

Each test renders the same record objects both ways and compares bytes: the C
path may decline a record (None: the Python path renders it), but a line it
gives must be the Python path's line. The tests also prove it does not decline
the common record, or the speed-up would silently be lost.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared._logging import speedups
from shared._logging.pipeline import Pipeline
from shared._logging.record import capture
from shared.logging_config import flush_logging, setup_logging, shutdown_logging
from shared.logging_context import bind_context, clear_context

from .conftest import read_jsonl, run_python, without_pytest_handlers
from .strategies import hostile_text, hostile_values

#: Built, whether or not this process switched it off (SHARED_LOGGING_PURE_PYTHON).
_BUILT = importlib.util.find_spec("shared._logging._speedups") is not None

needs_speedups = pytest.mark.skipif(
    not speedups.AVAILABLE, reason="the C extension was not built (no compiler?)"
)


def test_the_extension_is_built_where_ci_requires_it() -> None:
    """CI builds it on every Python it tests: a build that silently failed must show."""
    if os.environ.get("SHARED_LOGGING_REQUIRE_SPEEDUPS") != "1":
        pytest.skip("SHARED_LOGGING_REQUIRE_SPEEDUPS is not set")
    if os.environ.get("SHARED_LOGGING_PURE_PYTHON", "") not in ("", "0"):
        pytest.skip("switched off with SHARED_LOGGING_PURE_PYTHON")
    assert speedups.AVAILABLE


def _pipeline(tmp_path: Path, **options: Any) -> Pipeline:
    setup_logging(log_file=tmp_path / "x.jsonl", console=False, **options)
    handler = next(h for h in logging.getLogger().handlers if hasattr(h, "pipeline"))
    pipeline: Pipeline = handler.pipeline
    return pipeline


def _record(
    message: object = "step %d done",
    args: Any = (5,),
    extra: dict[str, Any] | None = None,
    level: int = logging.INFO,
    exc_info: Any = None,
    name: str = "bench",
) -> logging.LogRecord:
    logger = logging.getLogger(name)
    record = logger.makeRecord(
        name, level, "/src/train.py", 42, message, args, exc_info, "step", extra
    )
    capture(record)
    return record


def _both_ways(pipeline: Pipeline, records: list[logging.LogRecord]) -> list[bytes | None]:
    """The C lines, after checking each against the Python path's line."""
    assert pipeline._fast is not None
    fast = speedups.lines(records, pipeline._fast)
    assert fast is not None
    for record, line in zip(records, fast, strict=True):
        expected = pipeline._render(record)[1]
        if line is not None:
            assert line == expected
    return fast


def _judged_lines(pipeline: Pipeline, records: list[logging.LogRecord]) -> list[bytes | None]:
    """The C lines once the redactor has judged every key (the first pass, in
    which Python judges the keys C has not seen), each checked against Python's."""
    _both_ways(pipeline, records)
    return _both_ways(pipeline, records)


@needs_speedups
def test_the_common_record_takes_the_c_path(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    record = _record(extra={"step": 5, "loss": 0.5, "tag": "train"})
    _both_ways(pipeline, [record])  # the first sight of a key: Python judges it
    fast = _both_ways(pipeline, [record, _record(extra={"step": 6, "tag": "eval"})])
    assert None not in fast


@needs_speedups
def test_extras_changed_after_makerecord_are_written_as_the_record_holds_them(
    tmp_path: Path,
) -> None:
    """C reads the extras by the keys our makeRecord froze while the record holds
    nothing else; a filter that changes, removes or adds an attribute afterwards
    must still be written as the Python path writes it."""
    pipeline = _pipeline(tmp_path)

    def changed(change: Any) -> logging.LogRecord:
        record = _record(extra={"step": 5, "loss": 0.5, "tag": "train"})
        change(record)
        return record

    def delete_tag(record: logging.LogRecord) -> None:
        del record.tag

    def swap_tag(record: logging.LogRecord) -> None:  # same size, another key
        del record.tag
        record.request_id = "r-9"

    records = [
        changed(lambda r: None),
        changed(lambda r: setattr(r, "loss", 0.25)),
        changed(delete_tag),
        changed(swap_tag),
        changed(lambda r: setattr(r, "request_id", "r-7")),
        changed(lambda r: setattr(r, "message", "formatted by another handler")),
    ]
    fast = _judged_lines(pipeline, records)
    assert fast[0] is not None
    assert b'"loss":0.5,"tag":"train"' in fast[0]
    assert fast[1] is not None
    assert b'"loss":0.25,"tag":"train"' in fast[1]
    # Whichever path wrote the others, C's lines equal Python's (checked above).
    python = [pipeline._render(record)[1] for record in records]
    assert b'"tag"' not in python[2]
    assert b'"request_id":"r-9"' in python[3]
    assert b'"tag"' not in python[3]
    assert b'"request_id":"r-7"' in python[4]


@needs_speedups
def test_the_callers_extra_dict_may_change_after_the_call(tmp_path: Path) -> None:
    """A caller that reuses its ``extra`` dict changes it while the record waits in
    the queue: the record keeps the keys, values and order of the call."""
    pipeline = _pipeline(tmp_path)
    extra: dict[str, Any] = {"step": 5, "loss": 0.5, "tag": "train"}
    records = [_record(extra=extra)]
    del extra["step"]  # the caller moves "step" last and changes it
    extra["step"] = 6
    records.append(_record(extra=extra))
    fast = _judged_lines(pipeline, records)
    assert fast[0] is not None
    assert b'"step":5,"loss":0.5,"tag":"train"' in fast[0]
    assert fast[1] is not None
    assert b'"loss":0.5,"tag":"train","step":6' in fast[1]


@needs_speedups
def test_context_fields_and_extras_merge_as_in_python(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    bind_context(rollout_id=7, env="math-v2", step="from context")
    try:
        records = [_record(extra={"step": 5, "loss": 0.5}) for _ in range(2)]
    finally:
        clear_context()
    fast = _judged_lines(pipeline, records)
    assert fast[0] is not None
    assert b'"rollout_id":7,"env":"math-v2","step":5,"loss":0.5' in fast[0]


@needs_speedups
def test_a_context_that_binds_one_of_our_keys_is_renamed_in_c(tmp_path: Path) -> None:
    """``rank`` is ours (from the launcher): a bound one is written as ``extra_rank``."""
    pipeline = _pipeline(tmp_path)
    bind_context(rank=3, env="math")
    try:
        records = [_record(extra={"step": i}) for i in range(3)]
    finally:
        clear_context()
    bind_context(level="mine", extra_level="taken")
    try:
        records.append(_record(extra={"step": 9}))
    finally:
        clear_context()
    fast = _judged_lines(pipeline, records)
    assert None not in fast
    assert b'"extra_rank":3,"env":"math","step":0' in (fast[0] or b"")
    assert b'"extra_extra_level":"mine","extra_level":"taken"' in (fast[3] or b"")


@needs_speedups
def test_secrets_are_redacted_by_either_path(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    token = "sk-" + "a" * 30
    records = [
        _record("calling with Bearer abc.def and " + token, None, {"api_key": "k", "n": 1}),
        _record("url https://user:hunter2@example.com/x", None, {"note": "fine text here"}),
        _record("short", None, {"password": 123, "tokens": 50, "value": f"key {token}"}),
    ]
    fast = _judged_lines(pipeline, records)
    assert all(line is not None for line in fast)
    text = b"".join(line for line in fast if line is not None)
    assert b"hunter2" not in text
    assert token.encode() not in text
    assert b"abc.def" not in text
    assert text.count(b"[REDACTED]") == 6


@needs_speedups
def test_user_patterns_are_applied_by_either_path(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path, redact_patterns=[r"run-\d{4}"])
    records = [_record("job run-1234 ok", None, {"id": "run-9999"}) for _ in range(2)]
    fast = _judged_lines(pipeline, records)
    assert fast[1] is not None
    assert b"run-1234" not in fast[1]
    assert b"run-9999" not in fast[1]


@needs_speedups
def test_unusual_records_are_left_to_python(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path, max_record_bytes=2048)
    try:
        raise ValueError("boom")
    except ValueError:
        failed = _record("failed", None, exc_info=True)
    records = [
        failed,
        _record("nested", None, {"config": {"lr": 1e-3}}),  # redaction walks it
        _record("a none", None, {"value": None}),  # null: checked for NaN
        _record("a nan", None, {"value": math.nan}),
        _record("collides", None, {"timestamp_": 1, "level": "mine"}),
        _record("naïve café"),  # not ASCII: line breakers are checked
        _record("x" * 5000),  # over max_record_bytes: cut to fit
    ]
    fast = _judged_lines(pipeline, records)
    assert fast == [None] * len(records)


@needs_speedups
def test_records_the_console_shows_are_left_to_python(tmp_path: Path) -> None:
    """The console needs the record's parts, which only the Python path makes."""
    setup_logging("DEBUG", tmp_path / "x.jsonl", console_level="INFO")
    handler = next(h for h in logging.getLogger().handlers if hasattr(h, "pipeline"))
    pipeline: Pipeline = handler.pipeline
    debug, info = _record(level=logging.DEBUG), _record(level=logging.INFO)
    assert _both_ways(pipeline, [debug, info])[1] is None
    assert _both_ways(pipeline, [debug])[0] is not None


_SECRET_SHAPES = [
    "Bearer abc.def-ghi",
    "sk-" + "Z" * 24,
    "AKIA" + "A" * 16,
    "https://u:pw@host/x",
    "hf_" + "q" * 32,
    "-----BEGIN RSA PRIVATE KEY-----\nabc",
    "earer",
    "://",
    # the gate folds case and counts token runs: each must reach Redactor.text
    "PASSWORD=hunter22",
    "Api_Key: Xk29dk3LmQ81zP0a",
    "gsk_" + "Ab3" * 18,
    "Zt4uicYLZIMglhj2lMI9iPfZFPRRAoZw",
    "wandb login " + "0123456789abcdef" * 2 + "01234567",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.c2lnbmF0dXJlLXNpZw",
    "host=db password=s3cr3t!x dbname=runs",
    "token ",
    "KEY",
]


@needs_speedups
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    message=st.builds(
        "".join,
        st.lists(st.one_of(hostile_text, st.sampled_from(_SECRET_SHAPES)), max_size=4),
    ),
    extras=st.dictionaries(
        st.sampled_from(["step", "tag", "api_key", "note", "loss", "x", "token_count"]),
        st.one_of(hostile_values, st.sampled_from(_SECRET_SHAPES)),
        max_size=4,
    ),
    context=st.dictionaries(
        st.sampled_from(["rollout", "tag", "secret", "rank", "level", "extra_rank"]),
        hostile_values,
    ),
    redact=st.booleans(),
)
def test_hostile_records_match_the_python_path(
    tmp_path_factory: pytest.TempPathFactory,
    message: str,
    extras: dict[str, Any],
    context: dict[str, Any],
    redact: bool,
) -> None:
    try:
        pipeline = _pipeline(tmp_path_factory.mktemp("h"), redact=redact)
        token = bind_context(**context) if context else None
        try:
            records = [_record(message, None, extras) for _ in range(2)]
        finally:
            clear_context()
        del token
        _both_ways(pipeline, records)
        _both_ways(pipeline, records)  # keys judged: more records take the C path
    finally:
        shutdown_logging()


@needs_speedups
def test_the_c_path_takes_nearly_every_ordinary_record(tmp_path: Path) -> None:
    """The byte-for-byte tests only compare what C accepts: this pins how much it
    accepts, so a C path that starts declining the ordinary record fails here."""
    import random  # noqa: PLC0415

    rng = random.Random(7)
    pipeline = _pipeline(tmp_path)
    keys = ["step", "loss", "tag", "rollout_id", "reward", "env", "lr", "num_tokens", "ok"]
    values: list[Any] = [1, -3, 0.25, 1e-9, "train", "math-v2", True, None, 10**12]
    records = []
    for i in range(1000):
        extra = {k: rng.choice(values) for k in rng.sample(keys, rng.randint(0, 5))}
        if i % 10 == 0:
            extra["state"] = {"step": i, "phase": "eval", "scores": [0.5, 0.75]}
        context = {"rollout": i % 7, "worker": "w3"} if i % 3 else {}
        if context:
            bind_context(**context)
        try:
            message, args = rng.choice(
                [("step %d done", (i,)), ("plain message", ()), ("%s", ("x",))]
            )
            records.append(_record(message, args, extra))
        finally:
            clear_context()
    fast = _judged_lines(pipeline, records)
    # What C declines by design: a null (it may have been a NaN) or a nested value
    # (redaction must walk it). Everything else it must take.
    declined_by_design = [
        any(v is None or isinstance(v, dict | list) for v in _extras_of(r).values())
        for r in records
    ]
    taken = [line is not None for line in fast]
    assert taken == [not d for d in declined_by_design]
    assert sum(taken) >= 0.6 * len(records)


def _extras_of(record: logging.LogRecord) -> dict[str, Any]:
    from shared._logging.record import user_fields  # noqa: PLC0415

    return user_fields(record)


@needs_speedups
def test_a_record_built_by_hand_matches(tmp_path: Path) -> None:
    """Not made by our factory: attributes set in another order, extras added later."""
    pipeline = _pipeline(tmp_path)
    record = logging.LogRecord("bench", logging.INFO, "/src/t.py", 1, "hi %s", ("x",), None)
    record.added_by_a_filter = "yes"
    del record.exc_text
    record.exc_text = None
    capture(record)
    _both_ways(pipeline, [record])
    _both_ways(pipeline, [record])


def test_the_file_is_the_same_without_the_extension(tmp_path: Path) -> None:
    """A pure-Python install (no compiler) writes the same fields, in the same order."""
    script = """
import logging
from pathlib import Path
from shared._logging import speedups
from shared.logging_config import flush_logging, setup_logging, shutdown_logging
setup_logging(log_file=Path("out.jsonl"), console=False, use_queue_handler=True)
log = logging.getLogger("same")
for i in range(200):
    log.info("step %d with sk-%s", i, "b" * 20, extra={"step": i, "loss": 0.5, "api_key": "x"})
shutdown_logging()
print(speedups.AVAILABLE)
"""
    outputs = []
    for pure in ("1", "0"):
        where = tmp_path / f"pure{pure}"
        where.mkdir()
        result = run_python(script, where, env={"SHARED_LOGGING_PURE_PYTHON": pure}, check=True)
        assert result.stdout.strip() == str(pure == "0" and _BUILT)
        outputs.append(read_jsonl(where / "out.jsonl"))
    pure_records, fast_records = outputs
    assert len(pure_records) == len(fast_records) == 200
    moving = re.compile(r"timestamp|process$")
    for a, b in zip(pure_records, fast_records, strict=True):
        assert list(a) == list(b)
        assert {k: v for k, v in a.items() if not moving.match(k)} == {
            k: v for k, v in b.items() if not moving.match(k)
        }
        assert "[REDACTED]" in a["message"]
        assert a["api_key"] == "[REDACTED]"


class _Formats:
    def __str__(self) -> str:
        return "formatted object"


class _Explodes:
    def __str__(self) -> str:
        raise RuntimeError("no")


@needs_speedups
def test_no_reference_is_leaked(tmp_path: Path) -> None:
    """Every object a log call touches is let go once its record is written: the
    C code takes and drops references by hand, and a leak would grow forever."""
    message = "step %d of %s"
    value = object.__new__(_Formats)  # not JSON: encoded through the default hook
    secret = "Bearer abcdefgh.ijk"
    watched = [message, value, secret]
    with without_pytest_handlers():  # pytest's handler keeps every record
        setup_logging(log_file=tmp_path / "x.jsonl", console=False, use_queue_handler=True)
        log = logging.getLogger("leaks")
        bind_context(rollout=1, rank=2)  # rank is renamed in C
        try:

            def burst() -> None:
                for i in range(500):
                    log.info(message, i, "ten", extra={"v": value, "s": secret, "n": i})
                    log.info(secret)
                assert flush_logging(10)

            burst()  # caches warm: keys judged, paths split, the context renamed
            before = [sys.getrefcount(o) for o in watched]
            burst()
            after = [sys.getrefcount(o) for o in watched]
        finally:
            clear_context()
            shutdown_logging()
    assert after == before
    lines = read_jsonl(tmp_path / "x.jsonl")
    assert len(lines) == 2000
    assert lines[-2]["v"] == "formatted object"
    assert lines[-2]["extra_rank"] == 2
    assert "abcdefgh" not in json.dumps(lines[-1])


def _scan_by_regex(block: bytes) -> tuple[int, int, int, int, set[bytes]]:
    pids = re.findall(rb'"process"[ \t]*:[ \t]*(\d+)[ \t]*[,}]', block)
    objects = re.findall(rb"^[ \t]*\{[^\n]*\}[ \t\r]*$", block, re.M)
    blank = re.findall(rb"^[ \t\r]*$", block, re.M)
    return block.count(b"\n") + 1, len(objects), len(blank), len(pids), set(pids)


def _scan_in_c(block: bytes) -> tuple[int, int, int, int, set[bytes]]:
    scanned = speedups.scan_block(block, b'"process"')
    assert scanned is not None
    *counts, distinct = scanned
    assert len(distinct) == len(set(distinct))
    lines, objects, blank, found = counts
    return lines, objects, blank, found, set(distinct)


_PIECES = st.sampled_from(
    [b'"process"', b'"process":', b'"process": ', b":", b": ", b"0", b"7", b"12345", b",",
     b"\n", b'"', b"{", b"}", b" ", b"\t", b"\r", b"\x00"]
)  # fmt: skip


@needs_speedups
@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES | st.binary(max_size=6), max_size=60).map(b"".join))
def test_triage_block_scan_matches_the_regexes(block: bytes) -> None:
    """logview --triage reads a block with the C scan: it must find what the
    regexes find (lines, object lines, blank lines, pids) in any bytes at all."""
    assert _scan_in_c(block) == _scan_by_regex(block)


@needs_speedups
def test_triage_block_scan_keeps_every_distinct_pid_of_a_large_block() -> None:
    """More distinct pids than the scan's first table holds (1024): it grows."""
    block = b"\n".join(b'{"x":1, "process": %d}' % (n % 5000) for n in range(20_000))
    assert _scan_in_c(block) == _scan_by_regex(block)
    assert len(_scan_in_c(block)[4]) == 5000
