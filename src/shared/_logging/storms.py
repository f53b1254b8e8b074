"""Storm control for the console: the same error a thousand times prints five times.

When an inference server goes down, every in-flight rollout logs the same
timeout with its traceback. Records of one *kind* (logger, level, message
template, exception type) print at most ``limit`` times per ``window`` seconds;
the rest of the window is counted, and one summary line says how many were
left out. The file keeps every record: this is about what a person can read.

Only WARNING and above can storm. A training loop's ``log.info("step %d loss
%.3f")`` every 0.1 s is progress the user is watching, not a storm: INFO and
DEBUG always print (``STORM_LEVEL``).

The template is ``record.msg`` when the record has arguments (``"request %d
failed"``); a message without arguments (an f-string, usually) has its
numbers, hex ids and quoted values masked (:func:`template_of`), so
``f"rollout {i} failed"`` is one kind too. ``logview --stats`` groups records
with the same mask.

Summaries print when a window that left records out has ended: with the queue,
the writer thread wakes for it even when nothing else is logged; without it,
with the next console line of any kind; and always at shutdown and exit.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from . import fields as F

#: Kinds remembered at once; past it, windows that ended are forgotten first.
_MAX_KINDS: Final = 4096

Kind = tuple[str, int, str, str]

# What varies between records of one kind, and its mask. Each pass runs only
# when a cheap check says it may apply: most messages have no quotes, no hex.
_QUOTED: Final = re.compile(r"'[^'\n]{0,200}'|\"[^\"\n]{0,200}\"")
_HEX_RUN: Final = re.compile(r"[0-9a-fA-F]{8}")
_UUID: Final = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}\b")
#: 0x literals of any length; bare runs of 8 or more with a digit and a letter
#: (a git hash, a request id). A run of digits alone stays a number, so a
#: counter that passes 10,000,000 stays one kind.
_HEX_ID: Final = re.compile(
    r"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"
)
_NUMBER: Final = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
#: A message with none of these has nothing to mask (most messages): no regex pass.
_MAY_VARY: Final = re.compile(r"[\d'\"]")


def template_of(message: str) -> str:
    """A message with what varies between records of one kind masked:
    quoted values, UUIDs, hex ids and numbers."""
    text = message[:500]
    if _MAY_VARY.search(text) is None:
        return text
    if "'" in text or '"' in text:
        text = _QUOTED.sub("<str>", text)
    if "0x" in text or _HEX_RUN.search(text) is not None:
        text = _HEX_ID.sub("<hex>", _UUID.sub("<id>", text))
    return _NUMBER.sub("<n>", text)


def kind_of(record: logging.LogRecord) -> Kind:
    msg = record.msg
    if record.args and isinstance(msg, str):
        template = msg
    else:
        template = template_of(msg if isinstance(msg, str) else type(msg).__name__)
    return (record.name, record.levelno, template, _exception_type(record))


def _exception_type(record: logging.LogRecord) -> str:
    captured = record.__dict__.get(F.CAPTURED_EXCEPTION)
    if isinstance(captured, dict):
        return str(captured.get(F.EXCEPTION_TYPE, ""))
    exc_info = record.exc_info
    if isinstance(exc_info, tuple) and exc_info and isinstance(exc_info[0], type):
        return exc_info[0].__qualname__
    return ""


@dataclass
class _Window:
    start: float
    shown: int = 0
    left_out: int = 0


class Storms:
    """Per kind, a window: the first ``limit`` records pass, the rest are counted."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._windows: dict[Kind, _Window] = {}
        self._summaries: list[logging.LogRecord] = []
        self._next_end = float("inf")  # the earliest end of a window that left some out
        self._lock = threading.Lock()  # the console handler's filter runs on any thread

    def admit(self, record: logging.LogRecord) -> bool:
        """Whether the console shows ``record`` (False: counted for a summary)."""
        if record.levelno < F.STORM_LEVEL:  # progress, not a storm
            return True
        kind = kind_of(record)
        now = self._clock()
        with self._lock:
            window = self._windows.get(kind)
            if window is None or now >= window.start + self.window:
                if window is not None and window.left_out:
                    self._summaries.append(self._summary(kind, window))
                if window is None and len(self._windows) >= _MAX_KINDS:
                    self._forget_ended(now)
                window = self._windows[kind] = _Window(now)
            if window.shown < self.limit:
                window.shown += 1
                return True
            window.left_out += 1
            self._next_end = min(self._next_end, window.start + self.window)
            return False

    def summaries(self, final: bool = False) -> list[logging.LogRecord]:
        """Summary records of the windows that ended (of all, when ``final``)."""
        now = self._clock()
        with self._lock:
            if not self._summaries and not final and now < self._next_end:
                return []
            found, self._summaries = self._summaries, []
            self._next_end = float("inf")
            for kind, window in list(self._windows.items()):
                if not window.left_out:
                    continue
                end = window.start + self.window
                if final or now >= end:
                    found.append(self._summary(kind, window))
                    del self._windows[kind]
                else:
                    self._next_end = min(self._next_end, end)
            return found

    def due_in(self) -> float | None:
        """Seconds until a summary is due (0: one is), None while none will be."""
        with self._lock:
            if self._summaries:
                return 0.0
            if self._next_end == float("inf"):
                return None
            return max(0.0, self._next_end - self._clock())

    def _forget_ended(self, now: float) -> None:
        for kind, window in list(self._windows.items()):
            if now >= window.start + self.window:
                if window.left_out:
                    self._summaries.append(self._summary(kind, window))
                del self._windows[kind]
        if len(self._windows) >= _MAX_KINDS:  # all live: forget the oldest half
            oldest = sorted(self._windows.items(), key=lambda item: item[1].start)
            for kind, window in oldest[: _MAX_KINDS // 2]:
                if window.left_out:
                    self._summaries.append(self._summary(kind, window))
                del self._windows[kind]

    def _summary(self, kind: Kind, window: _Window) -> logging.LogRecord:
        name, level, template, exception = kind
        what = f"{exception}: " if exception else ""
        record = logging.LogRecord(
            name, level, "", 0,
            "%d more like this in %gs not shown (repeat_limit=%d): %s%s",
            (window.left_out, self.window, self.limit, what, template), None,
        )  # fmt: skip
        record.repeated = window.left_out
        return record
