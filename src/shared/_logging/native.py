"""The optional C extension (``_speedups.c``), loaded once; ``module`` is None
when it was not built (no C compiler at install time) or when
``SHARED_LOGGING_PURE_PYTHON=1`` switches it off. Every user of it keeps a
Python version that does the same work and is used for what C declines."""

from __future__ import annotations

import os
from types import ModuleType


def _load() -> ModuleType | None:
    if os.environ.get("SHARED_LOGGING_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from . import _speedups  # noqa: PLC0415 - optional
    except ImportError:
        return None
    return _speedups


module = _load()
