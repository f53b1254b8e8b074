"""Pretty output: one line per record, tracebacks as real indented lines.

Everything from the log content passes through the console's escaping, so a
record cannot send a control sequence to the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from shared._logging.console import DIM, RESET, LevelLabels, escape_block, escape_controls
from shared._logging.encode import safe_str

from ._records import FRAME_KEYS, Record, loads

try:
    import orjson

    def _json(value: Any) -> str:
        try:
            return orjson.dumps(value, default=safe_str).decode("utf-8")
        except Exception:  # an int beyond 64 bits, or anything orjson refuses
            return (
                safe_str(value)
                if not isinstance(value, int)
                else f"<int of {value.bit_length()} bits>"
            )
except ImportError:  # pragma: no cover
    import json

    def _json(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, default=str)


_INDENT: Final = "    "


def _time(text: str) -> str:
    """``2026-11-27T02:31:16.670412+00:00`` -> ``2026-11-27 02:31:16.670``."""
    if len(text) >= 23 and text[10] in "T ":
        return f"{text[:10]} {text[11:23]}"
    return escape_controls(text)


def _extras(record: Record) -> str:
    doc = record.doc
    if "record" in doc and "text" in doc:  # loguru keeps extras apart
        fields = record.fields()
        return _extras_of(fields, tuple(fields))
    keys = tuple(doc)
    return _extras_of(doc, _SHOWN_KEYS.get(keys) or _learn_shape(keys))


def _learn_shape(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The keys shown as extras; records of one writer share their keys: decide once."""
    shown = tuple(k for k in keys if k not in FRAME_KEYS)
    if len(_SHOWN_KEYS) > 1024:
        _SHOWN_KEYS.clear()
    _SHOWN_KEYS[keys] = shown
    return shown


def _extras_of(doc: Mapping[str, Any], shown: tuple[str, ...]) -> str:
    pieces = []
    for key in shown:  # _value() inlined: this loop runs for every field shown
        value = doc[key]
        kind = type(value)
        if kind is str and value and " " not in value and '"' not in value and "=" not in value:
            pieces.append(f"{key}={value}")
        elif kind is float or (kind is int and -(1 << 63) <= value < (1 << 64)):
            pieces.append(f"{key}={value!r}")  # a huge int's repr can raise: _json below
        else:
            pieces.append(f"{key}={_json(value)}")
    # Escaped once, joined: the joiners are printable, so this equals escaping each piece.
    text = " ".join(pieces)
    return text if text.isprintable() else escape_controls(text)


_SHOWN_KEYS: dict[tuple[str, ...], tuple[str, ...]] = {}


class Renderer:
    def __init__(self, colors: bool) -> None:
        self.colors = colors
        self._level = LevelLabels(colors)
        self._dim, self._reset = (DIM, RESET) if colors else ("", "")
        self._labels: dict[str, str] = {}  # by the level as written, before upper()

    def render_raw(self, raw: bytes) -> str | None:
        """One of our own lines straight to text, or None: then parse() and render().

        The same output as ``render(parse(raw))``, fused into one frame: printing
        everything is the viewer's heaviest job, and the general path's Record
        and helper calls are a third of its cost.
        """
        try:
            doc = loads(raw)
            when, level, logger, message = (
                doc["timestamp"], doc["level"], doc["logger"], doc["message"]
            )  # fmt: skip
        except Exception:  # not JSON, not an object, not ours: the general path decides
            return None
        if (
            type(when) is not str
            or type(level) is not str
            or type(logger) is not str
            or type(message) is not str
            or "record" in doc
        ):
            return None
        keys = tuple(doc)
        shown = _SHOWN_KEYS.get(keys)
        if shown is None:
            shown = _learn_shape(keys)
        pieces = []
        for key in shown:  # _extras_of() inlined
            value = doc[key]
            kind = type(value)
            if (kind is int and -(1 << 63) <= value < (1 << 64)) or kind is float:
                pieces.append(f"{key}={value!r}")
            elif (
                kind is str and value and " " not in value and '"' not in value and "=" not in value
            ):
                pieces.append(f"{key}={value}")
            else:
                pieces.append(f"{key}={_json(value)}")
        extras = " ".join(pieces)
        if not (logger + message + extras).isprintable():  # one check for the common case
            logger = escape_controls(logger)
            message = escape_controls(message)
            extras = escape_controls(extras)  # the joiners are printable: same as each piece
        label = self._labels.get(level)
        if label is None:
            label = self._labels[level] = self._level(level.upper())
        dim, reset = self._dim, self._reset
        when = (
            f"{when[:10]} {when[11:23]}"
            if len(when) >= 23 and when[10] in "T "
            else escape_controls(when)
        )
        line = f"{dim}{when}{reset} {label} {dim}{logger}:{reset} {message}"
        line = f"{line} {dim}{extras}{reset}\n" if extras else line + "\n"
        exception = doc.get("exception")
        if type(exception) is dict:
            exc = exception.get("traceback")
            if exc is not None and type(exc) is not str:
                exc = str(exc)
            if exc:
                line += "".join(f"{_INDENT}{part}\n" for part in escape_block(exc).split("\n"))
        return line

    def render(self, record: Record) -> str:
        extras = _extras(record)
        logger, message = record.logger, record.message
        if not logger.isprintable():  # the common case costs one C call, no Python frame
            logger = escape_controls(logger)
        if not message.isprintable():
            message = escape_controls(message)
        when = _time(record.time)
        if self.colors:
            line = f"{DIM}{when}{RESET} {self._level(record.level)} {DIM}{logger}:{RESET} {message}"
            if extras:
                line = f"{line} {DIM}{extras}{RESET}\n"
            else:
                line += "\n"
        else:
            line = f"{when} {self._level(record.level)} {logger}: {message}"
            line = f"{line} {extras}\n" if extras else line + "\n"
        if record.exc:
            line += "".join(f"{_INDENT}{part}\n" for part in escape_block(record.exc).split("\n"))
        return line
