"""Pretty output: one line per record, tracebacks as real indented lines.

Everything from the log content passes through the console's escaping, so a
record cannot send a control sequence to the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared._logging import fields as F
from shared._logging.console import DIM, RESET, LevelLabels, compose, escape_controls, fields_text
from shared._logging.encode import safe_str

from ._records import FRAME_KEYS, Record, loads, ours_traceback

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


def _time(text: str) -> str:
    """``2026-11-27T02:31:16.670412+00:00`` -> ``2026-11-27 02:31:16.670``."""
    if len(text) >= 23 and text[10] in "T ":
        text = f"{text[:10]} {text[11:23]}"
    return escape_controls(text)  # whoever wrote the file wrote this field too


def _extras(record: Record) -> str:
    doc = record.doc
    if "record" in doc and "text" in doc:  # loguru keeps extras apart
        fields = record.fields()
        return _extras_of(fields, tuple(fields))
    return _extras_of(doc, _shown(tuple(doc)))


def _shown(keys: tuple[str, ...]) -> tuple[str, ...]:
    shown = _SHOWN_KEYS.get(keys)
    return shown if shown is not None else _learn_shape(keys)


def _learn_shape(keys: tuple[str, ...]) -> tuple[str, ...]:
    """The keys shown as extras; records of one writer share their keys: decide once."""
    shown = tuple(k for k in keys if k not in FRAME_KEYS)
    if len(_SHOWN_KEYS) > 1024:
        _SHOWN_KEYS.clear()
    _SHOWN_KEYS[keys] = shown
    return shown


def _extras_of(doc: Mapping[str, Any], shown: tuple[str, ...]) -> str:
    return fields_text(doc, shown, _json)


_SHOWN_KEYS: dict[tuple[str, ...], tuple[str, ...]] = {}


class Renderer:
    def __init__(self, colors: bool) -> None:
        self._level = LevelLabels(colors)
        self._dim, self._reset = (DIM, RESET) if colors else ("", "")

    def render_raw(self, raw: bytes) -> str | None:
        """One of our own lines straight to text, or None: then parse() and render().

        The same output as ``render(parse(raw))`` without building a Record or
        guessing the writer: printing everything is the viewer's heaviest job.
        """
        try:
            doc = loads(raw)
            when, level, logger, message = (
                doc[F.TIMESTAMP], doc[F.LEVEL], doc[F.LOGGER], doc[F.MESSAGE]
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
        extras = _extras_of(doc, _shown(tuple(doc)))
        return self._compose(when, level, logger, message, extras, ours_traceback(doc))

    def render(self, record: Record) -> str:
        return self._compose(
            record.time, record.level, record.logger, record.message, _extras(record), record.exc
        )

    def _compose(  # noqa: PLR0917 - the parts of one line, from either path
        self, when: str, level: str, logger: str, message: str, extras: str, exc: str | None
    ) -> str:
        """The console's layout (console.compose), with the file's time and level."""
        label = self._level.known.get(level) or self._level(level.upper())
        return compose(_time(when), label, logger, message, extras, (exc,), self._dim, self._reset)
