"""Turn any Python value into one line of strict JSON, never raising.

The fast path hands the record to orjson as is. Only when orjson refuses it
(surrogates, huge ints, cycles, non-str keys) or when the output holds a
``null`` that might have been a NaN does the slow path walk the value and
replace what strict JSON cannot express.
"""

from __future__ import annotations

import datetime as _dt
import json as _json
import math
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, Final

from . import fields as F
from .fields import MAX_NESTING_DEPTH

JSONValue = Any

_orjson: ModuleType | None
try:  # orjson is a dependency; stdlib json keeps us working where it has no wheel.
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised by test_encode's fallback test
    _orjson = None

_INT64_MIN: Final = -(1 << 63)
_UINT64_MAX: Final = (1 << 64) - 1
#: Characters that strict JSON allows raw but that common line splitters
#: (Python's str.splitlines, some editors) treat as line breaks.
_LINE_BREAKERS: Final = (
    (b"\xc2\x85", b"\\u0085"),
    (b"\xe2\x80\xa8", b"\\u2028"),
    (b"\xe2\x80\xa9", b"\\u2029"),
)


def safe_str(value: object) -> str:
    """``str(value)``, falling back to repr and then to a placeholder."""
    try:
        text = str(value)
        if type(text) is str:
            return text
    except Exception:  # noqa: S110 - a hostile __str__ must not escape
        pass
    return safe_repr(value)


def safe_repr(value: object) -> str:
    """``repr(value)`` or a placeholder naming the type and the failure."""
    try:
        text = repr(value)
        if type(text) is str:
            return text
    except Exception as exc:  # a raising or recursing __repr__
        return f"<unrepresentable {_type_name(value)}: {type(exc).__name__}>"
    return f"<unrepresentable {_type_name(value)}>"


def _type_name(value: object) -> str:
    try:
        return type(value).__qualname__
    except Exception:
        return "object"


def clean_str(text: str) -> str:
    """Replace lone surrogates, which UTF-8 cannot encode, by ``\\udXXX`` text."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _int(value: int) -> JSONValue:
    if _INT64_MIN <= value <= _UINT64_MAX:
        return value
    # Beyond 64 bits most JSON readers lose precision; keep the digits as text.
    try:
        return str(value)
    except ValueError:  # more digits than sys.get_int_max_str_digits() allows
        return f"<int of {value.bit_length()} bits>"


def _float(value: float) -> JSONValue:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def to_jsonable(value: object, depth: int = 0, path: set[int] | None = None) -> JSONValue:
    """A copy of ``value`` that strict JSON can hold, with placeholders where it can't."""
    kind = type(value)
    if kind is str:
        return clean_str(value)  # type: ignore[arg-type]
    if value is None or kind is bool:
        return value
    if kind is int:
        return _int(value)  # type: ignore[arg-type]
    if kind is float:
        return _float(value)  # type: ignore[arg-type]
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return _container(value, depth, path if path is not None else set())
    return _scalar(value)


#: Values kept as they are by :func:`freeze`: immutable, read without user code.
PLAIN_TYPES: Final = frozenset({str, int, float, bool, type(None)})


def freeze(value: object, depth: int = 0, path: set[int] | None = None) -> JSONValue:
    """A copy of ``value`` that no later change to it can reach and that can be
    written without running user code: dicts and lists (and tuples) of plain
    values are copied as they are, the rest goes through :func:`to_jsonable`.

    The common containers take a fast path; whatever is written is the same as
    :func:`to_jsonable` would write (a cycle is ``"<cycle>"``).
    """
    kind = type(value)
    if kind in PLAIN_TYPES:
        return value
    if (kind is not dict and kind is not list and kind is not tuple) or depth >= MAX_NESTING_DEPTH:
        return to_jsonable(value, depth, path)
    flat = _flat_copy(value, kind)
    if flat is not None:
        return flat
    plain = PLAIN_TYPES
    path = set() if path is None else path
    ident = id(value)
    if ident in path:
        return "<cycle>"
    path.add(ident)
    if kind is dict:
        frozen: JSONValue = {
            (k if type(k) is str else _key(k)): (
                v if type(v) in plain else freeze(v, depth + 1, path)
            )
            for k, v in value.items()  # type: ignore[attr-defined]
        }
    else:
        frozen = [v if type(v) in plain else freeze(v, depth + 1, path) for v in value]  # type: ignore[attr-defined]
    path.discard(ident)
    return frozen


def _flat_copy(value: Any, kind: type) -> JSONValue | None:
    """A copy of a flat dict (str keys) or list/tuple of plain values, made in C
    after one look at each item; None when ``value`` is not that."""
    plain = PLAIN_TYPES
    if kind is dict:
        for key, item in value.items():
            if type(item) not in plain or type(key) is not str:
                return None
        return dict(value)
    for item in value:
        if type(item) not in plain:
            return None
    return list(value)


def _container(value: object, depth: int, path: set[int]) -> JSONValue:
    if depth >= MAX_NESTING_DEPTH:
        return f"<nested deeper than {MAX_NESTING_DEPTH}>"
    ident = id(value)
    if ident in path:
        return "<cycle>"
    path.add(ident)
    try:
        if isinstance(value, Mapping):
            return {_key(k): to_jsonable(v, depth + 1, path) for k, v in list(value.items())}
        return [to_jsonable(v, depth + 1, path) for v in list(value)]  # type: ignore[call-overload]
    except Exception as exc:  # a mapping whose items() or iteration raises
        return f"<unreadable {_type_name(value)}: {type(exc).__name__}>"
    finally:
        path.discard(ident)


def _key(key: object) -> str:
    return clean_str(key) if type(key) is str else clean_str(safe_str(key))


def _scalar(value: object) -> JSONValue:
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):  # IntEnum, numpy ints that subclass int
        return _int(int(value))
    if isinstance(value, float):
        return _float(float(value))
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return clean_str(safe_repr(bytes(value)))
    return clean_str(safe_str(value))


def _default(value: object) -> JSONValue:
    """orjson's hook for types it does not know (sets, Paths, Decimals...)."""
    if isinstance(value, set | frozenset):
        return list(value)
    return _scalar(value)


def _escape_line_breakers(line: bytes) -> bytes:
    if line.isascii():
        return line
    for raw, escaped in _LINE_BREAKERS:
        if raw in line:
            line = line.replace(raw, escaped)
    return line


def _has_non_finite(value: object, depth: int = 0) -> bool:
    """Whether a NaN or an infinity hides in ``value`` (orjson would write it as null)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if depth > MAX_NESTING_DEPTH:
        return True  # let the careful path decide
    if isinstance(value, dict):
        return any(_has_non_finite(v, depth + 1) for v in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_has_non_finite(v, depth + 1) for v in value)
    return False


def _orjson_line(document: dict[str, Any], option: int = 0) -> bytes | None:
    """orjson's line when it is strict JSON as it stands, else None (walk the value)."""
    assert _orjson is not None
    try:
        line: bytes = _orjson.dumps(document, default=_default, option=option)
    except Exception:  # the slow path handles what orjson refused
        return None
    # orjson writes NaN and Infinity as null: only a null means look closer.
    return line if b"null" not in line or not _has_non_finite(document) else None


def _dumps_orjson(document: dict[str, Any]) -> bytes:
    assert _orjson is not None
    line = _orjson_line(document)
    return line if line is not None else _orjson.dumps(to_jsonable(document))


def _dumps_stdlib(document: dict[str, Any]) -> bytes:
    text = _json.dumps(
        to_jsonable(document), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )
    return text.encode("utf-8")


_dumps: Callable[[dict[str, Any]], bytes] = _dumps_orjson if _orjson is not None else _dumps_stdlib


def dumps(document: dict[str, Any]) -> bytes:
    """One line of strict JSON (no newline) for ``document``; never raises."""
    line = _dumps(document)
    return line if line.isascii() else _escape_line_breakers(line)


def uses_orjson() -> bool:
    """Whether lines are encoded by orjson (the C hot path encodes with it too)."""
    return _dumps is _dumps_orjson


def orjson_hooks() -> tuple[Callable[..., bytes], Callable[[object], JSONValue], int] | None:
    """``(orjson.dumps, default, OPT_APPEND_NEWLINE)``, the call line_of() makes."""
    if _orjson is None:
        return None
    return _orjson.dumps, _default, _orjson.OPT_APPEND_NEWLINE


def use_stdlib_json(enabled: bool) -> None:
    """Switch between orjson and the stdlib encoder (tests prove both agree)."""
    global _dumps  # noqa: PLW0603 - one process-wide encoder choice
    _dumps = _dumps_stdlib if enabled or _orjson is None else _dumps_orjson


# --- the per-record size bound --------------------------------------------------

#: Keys whose values are small and structural; truncation never touches them.
_NEVER_TRUNCATED: Final = frozenset({F.TIMESTAMP, F.LEVEL, F.LINE, F.PROCESS})


def truncation_marker(original_length: int) -> str:
    return f"…[truncated, {original_length} chars]"


_MARKER_ROOM: Final = len(dumps({"v": truncation_marker(10**12)})) - len(b'{"v":""}')

Path = tuple[str, ...]


def _candidates(document: dict[str, Any]) -> list[tuple[Path, str]]:
    """The values truncation may cut, as text: top-level fields and exception parts."""
    found: list[tuple[Path, str]] = []
    for key, value in document.items():
        if key in _NEVER_TRUNCATED:
            continue
        if isinstance(value, dict) and key == F.EXCEPTION:
            found += [((key, k), v if isinstance(v, str) else _text(v)) for k, v in value.items()]
        else:
            found.append(((key,), value if isinstance(value, str) else _text(value)))
    return found


def _text(value: JSONValue) -> str:
    return dumps({"v": value})[5:-1].decode("utf-8")


def _set(document: dict[str, Any], path: Path, value: str) -> None:
    if len(path) == 1:
        document[path[0]] = value
    else:
        document[path[0]] = {**document[path[0]], path[1]: value}


def _fair_shares(sizes: list[int], budget: int) -> list[int]:
    """Water-filling: small values keep all they have, big ones share the rest evenly."""
    shares = [0] * len(sizes)
    remaining = max(0, budget)
    order = sorted(range(len(sizes)), key=sizes.__getitem__)
    for position, index in enumerate(order):
        share = min(sizes[index], remaining // (len(order) - position))
        shares[index] = share
        remaining -= share
    return shares


def line_of(document: dict[str, Any], limit: int) -> bytes:
    """``fit(document, limit - 1) + b"\\n"``: the common case in one C call.

    An ASCII line that fits needs none of fit()'s steps: no line breakers to
    escape, nothing to cut.
    """
    if _dumps is _dumps_orjson:
        assert _orjson is not None
        line = _orjson_line(document, _orjson.OPT_APPEND_NEWLINE)
        if line is not None and len(line) <= limit and line.isascii():
            return line
    return fit(document, limit - 1) + b"\n"


def fit(document: dict[str, Any], limit: int) -> bytes:
    """Encode ``document`` in at most ``limit`` bytes, cutting its biggest values.

    Each cut value ends with a marker holding its original length in characters.
    """
    line = dumps(document)
    if len(line) <= limit:
        return line
    plain: dict[str, Any] = to_jsonable(document)
    candidates = _candidates(plain)
    emptied = dict(plain)
    for path, _ in candidates:
        _set(emptied, path, "")
    base = len(dumps(emptied))
    sizes = [len(_text(text)) - 2 for _, text in candidates]  # encoded bytes, no quotes
    budget = limit - base - _MARKER_ROOM * len(candidates)
    for attempt in range(4):  # escapes make bytes per char uneven: tighten and retry
        shares = _fair_shares(sizes, budget - attempt * budget // 4)
        cut = dict(plain)
        for (path, text), size, share in zip(candidates, sizes, shares, strict=True):
            if share < size:
                keep = len(text) * share // max(size, 1)
                _set(cut, path, text[:keep] + truncation_marker(len(text)))
        line = dumps(cut)
        if len(line) <= limit:
            return line
    return _minimal(document, limit)


def _minimal(document: dict[str, Any], limit: int) -> bytes:
    """Last resort when even truncated values overflow a tiny limit."""
    core: dict[str, Any] = {
        k: safe_str(document[k])[:64] for k in (F.TIMESTAMP, F.LEVEL, F.LOGGER) if k in document
    }
    core[F.MESSAGE] = truncation_marker(len(safe_str(document.get(F.MESSAGE, ""))))
    line = dumps(core)
    # options.py keeps every limit at MIN_RECORD_BYTES or more, which this fits.
    assert len(line) <= limit, (len(line), limit)
    return line
