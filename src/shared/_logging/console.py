"""The human console line: time, level, logger, message, ``key=value`` extras.

Everything that comes from log content goes through :func:`escape_controls`,
so a logged string cannot clear the screen, retitle the terminal, move the
cursor or forge a new log line. Our own colour codes are added afterwards.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any, Final

from . import fields as F
from .encode import dumps, safe_str
from .record import Parts

_ESCAPES: dict[int, str] = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}
_ESCAPES.update({0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x1B: "\\x1b"})
_ESCAPES.update({c: f"\\u{c:04x}" for c in range(0x80, 0xA0)})
# Unicode line separators and bidirectional overrides (used to disguise text).
_ESCAPES.update({c: f"\\u{c:04x}" for c in (0x2028, 0x2029, *range(0x202A, 0x202F))})
_ESCAPES.update({c: f"\\u{c:04x}" for c in range(0x2066, 0x206A)})
_SINGLE_LINE: Final = str.maketrans(_ESCAPES)
# In a traceback, newlines and tabs are the layout: keep them.
_MULTI_LINE: Final = str.maketrans({k: v for k, v in _ESCAPES.items() if k not in (0x09, 0x0A)})


#: Colour and style codes (SGR: ESC [ digits ; ... m) that libraries put in their
#: messages (transformers' bold load report). Dropped: they are presentation, and
#: shown escaped they read as ``\x1b[1m`` noise. Every other escape stays escaped.
_SGR: Final = re.compile(r"\x1b\[[0-9;:]{0,32}m")


def escape_controls(text: str) -> str:
    """``text`` with colour codes dropped and every other control character
    shown as an escape, on one line."""
    if text.isprintable():  # the common case: nothing to do, no copy
        return text
    if "\x1b[" in text:
        text = _SGR.sub("", text)
    return text.translate(_SINGLE_LINE)


def escape_block(text: str) -> str:
    """Like :func:`escape_controls` but keeping newlines and tabs (tracebacks)."""
    if "\x1b[" in text:
        text = _SGR.sub("", text)
    return text.translate(_MULTI_LINE)


def _truthy_env(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false", "False")


def want_colors(stream: IO[str]) -> bool:
    """Colours on a TTY; ``NO_COLOR`` turns them off, ``FORCE_COLOR`` on (NO_COLOR wins)."""
    if os.environ.get("NO_COLOR", ""):
        return False
    if _truthy_env("FORCE_COLOR"):
        return True
    try:
        return stream.isatty()
    except Exception:  # a closed or odd stream
        return False


RESET: Final = "\x1b[0m"
DIM: Final = "\x1b[2m"
LEVEL_COLORS: Final = {
    "DEBUG": "\x1b[34m",
    "INFO": "\x1b[32m",
    "WARNING": "\x1b[33m",
    "WARN": "\x1b[33m",
    "ERROR": "\x1b[31m",
    "CRITICAL": "\x1b[1;31m",
    "FATAL": "\x1b[1;31m",
}


class LevelLabels:
    """The level's part of a line (colour, name padded to 8), built once per level."""

    def __init__(self, colors: bool) -> None:
        self._colors = colors
        #: Labels made so far: callers on a hot path look here before calling.
        self.known: dict[str, str] = {}

    def __call__(self, level: str) -> str:
        label = self.known.get(level)
        if label is None:
            shown = escape_controls(level)
            color = LEVEL_COLORS.get(shown, "") if self._colors else ""
            label = f"{color}{shown:<8}{RESET}" if color else f"{shown:<8}"
            if len(self.known) < 64:
                self.known[level] = label
        return label


_TRACEBACK_INDENT: Final = "    "


def _json_text(value: object) -> str:
    return dumps({"v": value})[5:-1].decode("utf-8")


def fields_text(
    fields: Mapping[str, Any], keys: Iterable[str], to_json: Callable[[Any], str] = _json_text
) -> str:
    """``key=value`` pairs as the console and logview show them: a string bare when
    that is unambiguous, a number as Python writes it, anything else as JSON.
    Not yet escaped (see :func:`escape_controls`)."""
    pieces = []
    for key in keys:  # the common kinds inline: this runs for every field shown
        value = fields[key]
        kind = type(value)
        if kind is str and value and " " not in value and '"' not in value and "=" not in value:
            pieces.append(f"{key}={value}")
        elif kind is float or (kind is int and -(1 << 63) <= value < (1 << 64)):
            pieces.append(f"{key}={value!r}")  # a huge int's repr can raise: JSON copes
        else:
            pieces.append(f"{key}={to_json(value)}")
    return " ".join(pieces)


def compose(  # noqa: PLR0917 - the parts of one console line
    clock: str,
    level_label: str,
    logger: str,
    message: str,
    extras: str,
    blocks: Iterable[str | None],
    dim: str = "",
    reset: str = "",
) -> str:
    """The console line of one record, its message's further lines and its blocks
    (traceback, stack) indented under it. Everything from the log content is
    escaped here: no line of it can clear the screen or pass for a record."""
    continued = ""
    if not (logger + message + extras).isprintable():  # one check for the common case
        extras = escape_controls(extras)  # the joiners are printable: same as each piece
        logger = escape_controls(logger)
        if "\n" in message:  # a DataFrame, asyncio's source traceback...
            message, _, rest = message.partition("\n")
            continued = _indented(rest.removesuffix("\n").split("\n"), escape_controls)
        message = escape_controls(message)
    line = f"{dim}{clock}{reset} {level_label} {dim}{logger}:{reset} {message}"
    line = f"{line} {dim}{extras}{reset}\n" if extras else line + "\n"
    line += continued
    for block in blocks:
        if block:
            line += _indented(escape_block(block).splitlines(), str)
    return line


def _indented(lines: list[str], escape: Callable[[str], str]) -> str:
    return "".join(f"{_TRACEBACK_INDENT}{escape(line.removesuffix(chr(13)))}\n" for line in lines)


class ConsoleRenderer:
    """Renders a record document as one human line (plus an indented traceback)."""

    def __init__(self, colors: bool, tag: str = "") -> None:
        self.colors = colors
        #: Put before each line: "[rank 3] " under a launcher with several ranks.
        self.tag = tag
        self._second: tuple[int, str] = (-1, "")
        self._level = LevelLabels(colors)

    def _clock(self, created: float) -> str:
        second = int(created)
        cached, text = self._second
        if cached != second:
            text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._second = (second, text)
        return f"{text}.{int((created - second) * 1000):03d}"

    def render(self, record: Any, parts: Parts) -> str:
        """One record as a human line, its traceback and stack indented below it."""
        state = record.__dict__
        level = state["levelname"]
        fields = parts.fields
        if not fields:
            extras = ""
        elif F.RAY_TIMESTAMP in fields:  # a Ray process: its bookkeeping stays in the file
            extras = fields_text(fields, [k for k in fields if k not in F.RAY_CONSOLE_HIDDEN])
        else:
            extras = fields_text(fields, fields)
        logger = state["name"]
        if type(logger) is not str:
            logger = safe_str(logger)
        exception = parts.exception
        blocks = (
            exception.get(F.EXCEPTION_TRACEBACK, "") if exception is not None else None,
            parts.stack_info,
        )
        line = compose(
            self._clock(state["created"]),
            self._level.known.get(level) or self._level(level),
            logger,
            parts.message,
            extras,
            blocks,
            *((DIM, RESET) if self.colors else ()),
        )
        return self.tag + line if self.tag else line
