"""Real usage of the public API, checked by mypy --strict (not run by pytest)."""

from __future__ import annotations

import logging
from pathlib import Path

from shared.json_formatter import JSONFormatter
from shared.logging_config import (
    LoggingStats,
    flush_logging,
    init_rollout_logging,
    logging_stats,
    setup_logging,
    shutdown_logging,
)
from shared.logging_context import bind_context, get_context, log_context, reset_context


def configure() -> Path:
    setup_logging(
        level="INFO",
        log_file="logs/app.jsonl",
        use_queue_handler=True,
        logger_levels={"bifrost": "DEBUG", "httpx": logging.WARNING},
        max_log_bytes=10_000_000,
        backup_count=3,
        overflow="drop",
        redact_keys=["ssn"],
    )
    stats: LoggingStats = logging_stats()
    assert stats.written >= 0
    ok: bool = flush_logging(timeout=1.0)
    assert ok
    shutdown_logging()
    return init_rollout_logging("exp", results_dir=Path("results"))


@log_context(job="sync")
def decorated(x: int) -> int:
    return x + 1


@log_context(job="async")
async def decorated_async(x: int) -> str:
    return str(x)


def context_usage() -> dict[str, object]:
    token = bind_context(rank=0)
    with log_context(step=1) as fields:
        fields.get("step")
    reset_context(token)
    handler = logging.StreamHandler()
    handler.setFormatter(JSONFormatter(redact=False))
    y: int = decorated(1)
    assert y == 2
    return get_context()
