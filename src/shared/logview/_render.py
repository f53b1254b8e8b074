"""Pretty output: one line per record, tracebacks as real indented lines.

Everything from the log content passes through the console's escaping, so a
record cannot send a control sequence to the terminal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from shared._logging.console import DIM, RESET, LevelLabels, escape_block, escape_controls
from shared._logging.encode import safe_str

from ._records import FRAME_KEYS, Record

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
    items: Iterable[tuple[str, Any]]
    if "record" in doc and "text" in doc:  # loguru keeps extras apart
        items = record.fields().items()
    else:
        keys = tuple(doc)
        shown = _SHOWN_KEYS.get(keys)
        if shown is None:  # records of one writer share their keys: decide once
            shown = tuple(k for k in keys if k not in FRAME_KEYS)
            if len(_SHOWN_KEYS) > 1024:
                _SHOWN_KEYS.clear()
            _SHOWN_KEYS[keys] = shown
        items = [(k, doc[k]) for k in shown]
    pieces = []
    for key, value in items:  # _value() inlined: this loop runs for every field shown
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
