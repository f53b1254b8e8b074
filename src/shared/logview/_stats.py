"""``--stats``: counts per level and logger, time range, the most repeated kinds of
record, a histogram.

A kind is what the console's storm control counts as one (storms.py): logger,
level, exception type and the message with its numbers, hex ids and quoted
values masked. The file holds rendered messages, not templates, so
``"connect to %s failed"`` with different hosts is one kind on the console
and one per host here unless the host is quoted."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from shared._logging import fields as F
from shared._logging.console import escape_controls
from shared._logging.storms import template_of

from ._records import LEVELS, Record

#: Distinct kinds kept for the top list; beyond it the rarest are pruned, so
#: memory stays bounded and the counts of very frequent kinds stay exact.
_MAX_KINDS: Final = 50_000
_BAR_WIDTH: Final = 40
_MAX_BARS: Final = 30
_STEPS: Final = (1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 86400, 604800)


@dataclass
class Stats:
    total: int = 0
    levels: Counter[str] = field(default_factory=Counter)
    loggers: Counter[str] = field(default_factory=Counter)
    kinds: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    per_second: Counter[int] = field(default_factory=Counter)
    first: float | None = None
    last: float | None = None
    first_text: str = ""
    last_text: str = ""

    def add(self, record: Record) -> None:
        self.total += 1
        self.levels[record.level] += 1
        self.loggers[record.logger] += 1
        self.kinds[
            (record.level, record.logger, _exception_type(record), template_of(record.message))
        ] += 1
        if len(self.kinds) > _MAX_KINDS:
            self.kinds = Counter(dict(self.kinds.most_common(_MAX_KINDS // 2)))
        epoch = record.epoch()
        if epoch is None:
            return
        self.per_second[int(epoch) // 60 * 60] += 1  # minute resolution bounds the memory
        if self.first is None or epoch < self.first:
            self.first, self.first_text = epoch, record.time
        if self.last is None or epoch > self.last:
            self.last, self.last_text = epoch, record.time

    def render(self) -> str:
        out = [f"records: {self.total}"]
        if self.first is not None:
            out.append(f"first:   {escape_controls(self.first_text)}")
            out.append(f"last:    {escape_controls(self.last_text)}")
        out.append("\nper level:")
        for level, count in sorted(self.levels.items(), key=lambda kv: LEVELS.get(kv[0], 0)):
            out.append(f"  {escape_controls(level):<10} {count:>10}")
        out.append("\nper logger (top 20):")
        for name, count in self.loggers.most_common(20):
            out.append(f"  {escape_controls(name):<40} {count:>10}")
        out.append("\nmost repeated kinds (top 10; numbers, ids and quoted values masked):")
        for (level, logger, exception, template), count in self.kinds.most_common(10):
            what = f"{exception}: " if exception else ""
            text = escape_controls(f"{level} {logger}: {what}{template}")
            out.append(f"  {count:>10}  {text[:140]}")
        out.extend(self._histogram())
        return "\n".join(out) + "\n"

    def _histogram(self) -> list[str]:
        if not self.per_second or self.first is None or self.last is None:
            return []
        span = max(self.last - self.first, 1.0)
        step = next((s for s in _STEPS if span / s <= _MAX_BARS), _STEPS[-1])
        step = max(step, 60)  # we count per minute
        buckets: Counter[int] = Counter()
        for second, count in self.per_second.items():
            buckets[second // step * step] += count
        start, end = min(buckets), max(buckets)
        peak = max(buckets.values())
        lines = [f"\nrecords per {_duration(step)}:"]
        import time as _time  # noqa: PLC0415 - only --stats draws the chart

        for bucket in range(start, end + step, step):
            count = buckets.get(bucket, 0)
            label = _time.strftime("%Y-%m-%d %H:%M", _time.gmtime(bucket))
            bar = "█" * max(1 if count else 0, round(count / peak * _BAR_WIDTH))
            lines.append(f"  {label} UTC {bar:<{_BAR_WIDTH}} {count}")
        return lines


def _exception_type(record: Record) -> str:
    exception = record.doc.get(F.EXCEPTION)
    if isinstance(exception, dict):
        return str(exception.get(F.EXCEPTION_TYPE, ""))
    return ""


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count > 1 else ''}" if count > 1 else unit
    return f"{seconds} s"
