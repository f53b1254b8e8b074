"""A small async rollout service: what a day with shared-logging looks like.

Run it, then read what it wrote:

    python examples/async_demo.py
    logview results/            # pretty, merged, with tracebacks
    logview results/ --level ERROR --json | jq .
"""

from __future__ import annotations

import asyncio
import logging
import random

from shared.logging_config import (
    flush_logging,
    init_rollout_logging,
    logging_stats,
    shutdown_logging,
)
from shared.logging_context import log_context

logger = logging.getLogger("rollouts.demo")
http_logger = logging.getLogger("httpx")


async def call_model(rollout_id: int, api_key: str) -> float:
    """Pretend to call an inference server; sometimes it fails."""
    await asyncio.sleep(random.random() / 100)
    http_logger.info("POST /v1/completions", extra={"authorization": f"Bearer {api_key}"})
    if rollout_id % 7 == 3:
        raise TimeoutError(f"model server timed out for rollout {rollout_id}")
    return random.random()


async def rollout(rollout_id: int, api_key: str) -> float | None:
    # Every record logged inside carries rollout_id, even through the queue.
    with log_context(rollout_id=rollout_id, env="math-v2"):
        logger.debug("starting")
        try:
            reward = await call_model(rollout_id, api_key)
        except TimeoutError:
            logger.exception("rollout failed")
            return None
        logger.info("rollout finished", extra={"reward": round(reward, 3), "num_tokens": 512})
        return reward


async def main() -> None:
    run_dir = init_rollout_logging("demo", logger_levels={"rollouts": "DEBUG", "httpx": "WARNING"})
    api_key = "sk-demo-" + "x" * 24  # redacted wherever it would appear
    logger.info("run directory is %s", run_dir, extra={"api_key": api_key})
    rewards = await asyncio.gather(*(rollout(n, api_key) for n in range(20)))
    done = [r for r in rewards if r is not None]
    logger.warning("batch done", extra={"succeeded": len(done), "failed": len(rewards) - len(done)})
    flush_logging()  # everything queued so far is on disk
    stats = logging_stats()
    shutdown_logging()  # drains and closes (atexit would too)
    print(f"\nwrote {run_dir / 'error_log.jsonl'}")
    print(f"stats: {stats}")


if __name__ == "__main__":
    asyncio.run(main())
