"""Hypothesis strategies for hostile log input, kept in one place."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import PurePosixPath
from typing import Any

from hypothesis import strategies as st


class RaisingRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")

    __str__ = __repr__


class RecursingRepr:
    def __repr__(self) -> str:
        return repr(self)

    __str__ = __repr__


class BadMapping(dict[str, Any]):
    def items(self) -> Any:
        raise RuntimeError("items exploded")


def _cyclic_list() -> list[Any]:
    loop: list[Any] = [1]
    loop.append(loop)
    return loop


def _cyclic_dict() -> dict[str, Any]:
    loop: dict[str, Any] = {}
    loop["self"] = loop
    return loop


def _deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


# Any code point, lone surrogates and every control character included.
hostile_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=60)

hostile_scalars = st.one_of(
    hostile_text,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.builds(lambda: 10**5000),  # more digits than int -> str allows by default
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.binary(max_size=20),
    st.builds(RaisingRepr),
    st.builds(RecursingRepr),
    st.builds(lambda: PurePosixPath("/tmp/x")),
    st.builds(uuid.uuid4),
    st.decimals(allow_nan=True),
    st.datetimes(timezones=st.just(dt.UTC)),
    st.builds(_cyclic_list),
    st.builds(_cyclic_dict),
    st.builds(_deep, st.integers(min_value=0, max_value=300)),
    st.builds(lambda: BadMapping(a=1)),
    st.builds(lambda: {1, 2, 3}),
    st.builds(lambda: (1, "two")),
    st.builds(lambda: {1: "int key", (2, 3): "tuple key"}),
)

hostile_values = st.recursive(
    hostile_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(hostile_text, inner, max_size=4)
    ),
    max_leaves=12,
)

hostile_extras = st.dictionaries(hostile_text, hostile_values, max_size=5)

hostile_messages = st.one_of(
    hostile_text,
    st.sampled_from(["%d", "%s %s", "%(key)s", "100%", "%", "%.2f done"]),
    hostile_values,
)

hostile_args = st.one_of(
    st.just(()),
    st.tuples(hostile_values),
    st.tuples(hostile_values, hostile_values),
    st.builds(lambda v: ({"key": v},), hostile_values),
)


def describe(value: Any, depth: int = 0) -> str:
    """A description of a drawn value that never runs its ``__repr__``: enough to
    rebuild the example that crashed a process (see hostile_worker.py)."""
    kind = type(value)
    if depth > 40:
        return "..."
    if kind in (str, bytes, int, float, bool, type(None)):
        if kind is int and abs(value) > 10**50:
            return f"<int of {value.bit_length()} bits>"
        return repr(value)
    if kind in (list, tuple, set, frozenset):
        inner = ", ".join(describe(v, depth + 1) for v in list(value)[:20])
        return f"{kind.__name__}[{inner}]"
    if kind is dict or isinstance(value, dict):
        inner = ", ".join(
            f"{describe(k, depth + 1)}: {describe(v, depth + 1)}"
            for k, v in list(dict.items(value))[:20]
        )
        return f"{kind.__name__}{{{inner}}}"
    return f"<{kind.__module__}.{kind.__qualname__}>"
