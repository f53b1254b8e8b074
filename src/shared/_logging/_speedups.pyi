from collections.abc import Sequence
from logging import LogRecord

from .speedups import Config, Settings

def configure(config: Config, /) -> None: ...
def lines(records: Sequence[LogRecord], settings: Settings, /) -> list[bytes | None]: ...
