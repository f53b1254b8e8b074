"""``JSONFormatter``: one strict JSON line per record, usable on its own.

    handler.setFormatter(JSONFormatter())
    # or in dictConfig: {"()": "shared.json_formatter.JSONFormatter"}

It writes the same document ``setup_logging`` writes to its files (see the
README for the schema), including redaction unless ``redact=False``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from ._logging import fields as F
from ._logging.encode import fit
from ._logging.record import broken_record_document, build_document, capture, process_identity
from ._logging.redact import Redactor

__all__ = ["JSONFormatter"]


class JSONFormatter(logging.Formatter):
    """Formats a record as one line of strict RFC 8259 JSON (without the newline)."""

    def __init__(
        self,
        *,
        redact: bool = True,
        redact_keys: Iterable[str] = (),
        redact_patterns: Iterable[str | re.Pattern[str]] = (),
        max_record_bytes: int = F.DEFAULT_MAX_RECORD_BYTES,
    ) -> None:
        super().__init__()
        if max_record_bytes < F.MIN_RECORD_BYTES:
            raise ValueError(
                f"max_record_bytes must be at least {F.MIN_RECORD_BYTES}, got {max_record_bytes}"
            )
        self._redactor = Redactor.default(redact_keys, redact_patterns) if redact else None
        self._identity = process_identity()
        self._limit = max_record_bytes

    def format(self, record: logging.LogRecord) -> str:
        try:
            capture(record)
            document = build_document(record, self._identity, self._redactor)
        except Exception as exc:  # a hand-built record with junk in its attributes
            document = broken_record_document(record, exc, self._redactor)
        return fit(document, self._limit - 1).decode("utf-8")
