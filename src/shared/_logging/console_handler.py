"""The console as other tools see it: a ``logging.StreamHandler`` on the root logger.

Tools that share the terminal look for "the stderr StreamHandler" and swap it:
tqdm's ``logging_redirect_tqdm`` replaces it by one that prints through
``tqdm.write`` (keeping its formatter and filters), absl's ``app.run`` removes it
for its own. Our console lines are written by the pipeline (on the writer
thread in queue mode, so printing never blocks the caller), so this handler
prints nothing itself while it is installed; it is how the pipeline knows the
console is still ours. Taken off the root, the pipeline stops printing and the
tool prints, with our formatter, one line per record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .storms import Storms


class ConsoleFormatter(logging.Formatter):
    """Our console line (redacted, escaped) as a stdlib Formatter."""

    def __init__(self, render: Callable[[logging.LogRecord], str]) -> None:
        super().__init__()
        self._render = render

    def format(self, record: logging.LogRecord) -> str:
        return self._render(record)


class ConsoleLevelFilter(logging.Filter):
    """The console's own level and storm control, as a filter: tqdm copies
    filters, not levels."""

    def __init__(self, level: int, storms: Storms | None = None) -> None:
        super().__init__()
        self.level = level
        self.storms = storms

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level:
            return False
        return self.storms is None or self.storms.admit(record)


class ConsoleHandler(logging.StreamHandler[IO[str]]):
    """The stderr handler tools find; the pipeline prints for it while installed."""

    def __init__(
        self,
        stream: IO[str],
        level: int,
        render: Callable[[logging.LogRecord], str],
        storms: Storms | None = None,
    ) -> None:
        super().__init__(stream)
        self.setLevel(level)
        self.addFilter(ConsoleLevelFilter(level, storms))
        #: Whether a formatter given to setFormatter() can be used (our human
        #: console); rich and JSON lines refuse one.
        self.honours_formatter = True
        self._ours: logging.Formatter = ConsoleFormatter(render)
        self.setFormatter(self._ours)
        #: True while the pipeline prints this handler's lines (between setup and
        #: shutdown); otherwise it is an ordinary StreamHandler.
        self.printed_by_pipeline = False

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        """A formatter of the user's own prints our console lines (with the
        message redacted and control characters escaped); ``None`` puts ours back."""
        if fmt is None:
            fmt = self._ours
        elif isinstance(fmt, ConsoleFormatter):
            self._ours = fmt
        elif not self.honours_formatter:
            raise TypeError(
                f"the console prints through rich or as JSON lines and cannot use the "
                f"formatter {fmt!r}; drop use_rich/console_json to format it yourself"
            )
        super().setFormatter(fmt)

    def user_formatter(self) -> logging.Formatter | None:
        """The formatter set with setFormatter(), if it is not ours."""
        fmt = self.formatter
        return None if fmt is None or isinstance(fmt, ConsoleFormatter) else fmt

    def handle(self, record: logging.LogRecord) -> Any:
        if self.printed_by_pipeline:
            return record
        return super().handle(record)
