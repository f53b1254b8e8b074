"""``--stats``: counts per level and logger, time range, top messages, a histogram."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from shared._logging.console import escape_controls

from ._records import LEVELS, Record

#: Distinct messages kept for the top list; beyond it the rarest are pruned, so
#: memory stays bounded and the counts of very frequent messages stay exact.
_MAX_MESSAGES: Final = 50_000
_BAR_WIDTH: Final = 40
_MAX_BARS: Final = 30
_STEPS: Final = (1, 5, 10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 86400, 604800)


@dataclass
class Stats:
    total: int = 0
    levels: Counter[str] = field(default_factory=Counter)
    loggers: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)
    per_second: Counter[int] = field(default_factory=Counter)
    first: float | None = None
    last: float | None = None
    first_text: str = ""
    last_text: str = ""

    def add(self, record: Record) -> None:
        self.total += 1
        self.levels[record.level] += 1
        self.loggers[record.logger] += 1
        self.messages[record.message[:200]] += 1
        if len(self.messages) > _MAX_MESSAGES:
            self.messages = Counter(dict(self.messages.most_common(_MAX_MESSAGES // 2)))
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
        out.append("\nmost repeated messages (top 10):")
        for message, count in self.messages.most_common(10):
            out.append(f"  {count:>10}  {escape_controls(message)[:100]}")
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


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count > 1 else ''}" if count > 1 else unit
    return f"{seconds} s"
