"""JSONFormatter: one strict JSON line per record, whatever the record holds."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import logging
import logging.config
import math
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared._logging import encode
from shared._logging.encode import dumps, freeze
from shared.json_formatter import JSONFormatter
from shared.logging_config import setup_logging, shutdown_logging

from .conftest import read_jsonl
from .strategies import RaisingRepr, RecursingRepr, hostile_args, hostile_extras, hostile_messages


def _strict(line: str) -> dict[str, Any]:
    def reject(name: str) -> Any:
        raise ValueError(name)

    line.encode("utf-8")  # valid UTF-8: no lone surrogates
    assert len(line.splitlines()) == 1, "one record must be one line for every splitter"
    return json.loads(line, parse_constant=reject)  # type: ignore[no-any-return]


def _record(msg: object = "m", args: Any = None, **extra: Any) -> logging.LogRecord:
    logger = logging.getLogger("fmt")
    record = logger.makeRecord("fmt", logging.INFO, __file__, 1, msg, args, None, extra=extra)
    return record


@pytest.fixture(params=["orjson", "stdlib"])
def encoder(request: pytest.FixtureRequest) -> Any:
    """Run the test with orjson and with the stdlib fallback encoder."""
    encode.use_stdlib_json(request.param == "stdlib")
    yield request.param
    encode.use_stdlib_json(False)


def test_non_finite_floats_survive_beside_real_nulls(encoder: str) -> None:
    """orjson writes NaN as null: a genuine None must not hide a NaN elsewhere, at any depth."""
    record = _record(
        none=None, top=math.nan, deep={"x": [1.5, math.inf]}, s=frozenset({-math.inf}),
        sub=FloatSubclass("nan"),
    )  # fmt: skip
    out = _strict(JSONFormatter().format(record))
    assert out["none"] is None
    assert out["top"] == "NaN"
    assert out["deep"] == {"x": [1.5, "Infinity"]}
    assert out["s"] == ["-Infinity"]
    assert out["sub"] == "NaN"


class FloatSubclass(float):
    """Like numpy.float64: a float that is not exactly ``float``."""


def test_values_json_cannot_express_are_still_written(encoder: str) -> None:
    """NaN/Infinity as strings, datetimes ISO, sets/tuples arrays, others by str/repr."""
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    record = _record(
        nan=math.nan, inf=math.inf, ninf=-math.inf, when=when, s={1}, t=(1, 2),
        b=b"\x00raw", p=Path("/tmp/x"), u=uuid.UUID(int=1), d=decimal.Decimal("1.10"),
        bad=RaisingRepr(), rec=RecursingRepr(), big=10**40, huge=10**5000,
    )  # fmt: skip
    out = _strict(JSONFormatter().format(record))
    assert (out["nan"], out["inf"], out["ninf"]) == ("NaN", "Infinity", "-Infinity")
    assert out["when"] == "2026-01-02T03:04:05+00:00"
    assert (out["s"], out["t"]) == ([1], [1, 2])
    assert out["b"] == "b'\\x00raw'"
    assert out["p"] == "/tmp/x"
    assert out["u"] == "00000000-0000-0000-0000-000000000001"
    assert out["d"] == "1.10"
    assert out["bad"].startswith("<unrepresentable RaisingRepr")
    assert out["rec"].startswith("<unrepresentable RecursingRepr")
    assert out["big"] == str(10**40)
    assert out["huge"] == f"<int of {(10**5000).bit_length()} bits>"


def test_cycles_and_deep_nesting_become_placeholders(encoder: str) -> None:
    """A cycle is written as <cycle>; nesting past the bound as a marker."""
    loop: list[Any] = [1]
    loop.append(loop)
    deep: Any = "x"
    for _ in range(100):
        deep = [deep]
    out = _strict(JSONFormatter().format(_record(loop=loop, deep=deep)))
    assert out["loop"] == [1, "<cycle>"]
    assert "nested deeper than" in json.dumps(out["deep"])


def test_line_separators_are_escaped(encoder: str) -> None:
    """U+2028, U+2029 and NEL never split a record for str.splitlines readers."""
    line = JSONFormatter().format(_record("a\u2028b\u2029c\x85d\r\ne"))
    assert len(line.splitlines()) == 1
    assert _strict(line)["message"] == "a\u2028b\u2029c\x85d\r\ne"


def test_colliding_extra_keys_are_kept_under_a_prefix(tmp_path: Path) -> None:
    """extra={"level": ...} never overwrites ours and is kept as extra_level;
    stdlib's refused keys (name, message) are kept the same way."""
    log_file = tmp_path / "a.jsonl"
    setup_logging(log_file=log_file, console=False)
    logging.getLogger("c").info(
        "real", extra={"level": "fake", "timestamp": 1, "name": "n", "message": "m"}
    )
    shutdown_logging()
    (out,) = read_jsonl(log_file)
    assert (out["level"], out["message"], out["logger"]) == ("INFO", "real", "c")
    assert (out["extra_level"], out["extra_timestamp"]) == ("fake", 1)
    assert (out["extra_name"], out["extra_message"]) == ("n", "m")


def test_exception_and_stack_info_are_structured() -> None:
    """exc_info gives {type, message, traceback}; stack_info is kept as text."""
    try:
        raise KeyError("missing")
    except KeyError:
        record = logging.getLogger("e").makeRecord(
            "e", logging.ERROR, __file__, 1, "failed", None, __import__("sys").exc_info(),
            sinfo="Stack (most recent call last):\n  here",
        )  # fmt: skip
    out = _strict(JSONFormatter().format(record))
    assert out["exception"]["type"] == "KeyError"
    assert out["exception"]["message"] == "'missing'"
    assert "Traceback (most recent call last)" in out["exception"]["traceback"]
    assert out["stack_info"].startswith("Stack")


def test_usable_from_dictconfig() -> None:
    """dictConfig with "()": "shared.json_formatter.JSONFormatter" works."""
    stream = io.StringIO()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"json": {"()": "shared.json_formatter.JSONFormatter"}},
            "handlers": {
                "s": {"class": "logging.StreamHandler", "formatter": "json", "stream": stream}
            },
            "loggers": {"dc": {"handlers": ["s"], "level": "INFO", "propagate": False}},
        }
    )
    logging.getLogger("dc").info("via dictConfig", extra={"k": [1]})
    out = _strict(stream.getvalue().strip())
    assert (out["message"], out["k"]) == ("via dictConfig", [1])
    logging.getLogger("dc").handlers.clear()


def test_oversized_record_is_truncated_with_marker(tmp_path: Path) -> None:
    """A field bigger than max_record_bytes is cut, marked with its original length."""
    log_file = tmp_path / "a.jsonl"
    setup_logging(log_file=log_file, console=False, max_record_bytes=4096)
    logging.getLogger("big").info("x" * 100_000, extra={"blob": "y" * 50_000, "keep": 1})
    shutdown_logging()
    data = log_file.read_bytes()
    assert len(data) <= 4096
    (out,) = read_jsonl(log_file)
    assert out["message"].endswith("…[truncated, 100000 chars]")
    assert out["blob"].endswith("…[truncated, 50000 chars]")
    assert out["keep"] == 1


@given(msg=hostile_messages, args=hostile_args, extra=hostile_extras)
def test_hostile_input_never_raises_and_stays_one_strict_line(
    msg: object, args: Any, extra: dict[str, Any]
) -> None:
    """Whatever the message, args and extras, format() returns one strict JSON line."""
    # A logger call can't set LogRecord's own attributes (stdlib refuses those keys).
    safe_extra = {k: v for k, v in extra.items() if k not in _RECORD_ATTRIBUTES}
    record = logging.LogRecord("h", logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(safe_extra)
    out = _strict(JSONFormatter().format(record))
    assert out["logger"] == "h"
    assert isinstance(out["message"], str)


@given(junk=hostile_extras)
def test_junk_in_any_record_attribute_still_gives_one_strict_line(junk: dict[str, Any]) -> None:
    """A hand-built record with junk even in its own attributes (exc_info, created, name)
    still formats as one strict JSON line: the formatter never raises."""
    record = logging.LogRecord("h", logging.INFO, __file__, 1, "m", None, None)
    record.__dict__.update(junk)
    record.__dict__.update({k: v for k, v in zip(_RECORD_ATTRIBUTES, junk.values(), strict=False)})
    out = _strict(JSONFormatter().format(record))
    assert isinstance(out["message"], str)


_RECORD_ATTRIBUTES = sorted(
    set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
)


_plainish = st.one_of(
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=20),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.binary(max_size=8),
    st.builds(lambda: decimal.Decimal("1.5")),
    st.datetimes(timezones=st.just(dt.UTC)),
)
_nested = st.recursive(
    _plainish,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.frozensets(st.integers(), max_size=4).map(set),
        st.dictionaries(st.one_of(st.text(max_size=5), st.integers()), inner, max_size=4),
    ),
    max_leaves=20,
)


@given(value=_nested)
def test_a_frozen_value_is_written_as_the_value_itself(value: object) -> None:
    """Extras are frozen at the call (copied, or rendered); the line is the same."""
    assert dumps({"v": freeze(value)}) == dumps({"v": value})


def test_freezing_copies_and_keeps_cycles_as_markers() -> None:
    loop: dict[str, object] = {"n": 1}
    loop["self"] = loop
    frozen = freeze({"a": [1, {"b": 2}], "loop": loop})
    assert frozen == {"a": [1, {"b": 2}], "loop": {"n": 1, "self": "<cycle>"}}
    assert dumps({"v": frozen}) == dumps({"v": {"a": [1, {"b": 2}], "loop": loop}})
