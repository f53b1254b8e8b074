"""What Ray's identity fields cost a worker's log call.

    python benchmarks/ray_fields.py     # needs the ray extra; about 20 seconds

A local Ray cluster, configured through ``ray_runtime_env()`` with the console
off: an actor logs 20,000 records with the identity filter on, then 20,000
with it off (interleaved rounds), and times the filter alone. Medians of 5.
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    import ray

    from shared.logging_config import ray_runtime_env, setup_logging, shutdown_logging

    directory = Path(tempfile.mkdtemp())
    setup_logging(log_file=directory / "driver.jsonl", console=False)
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
             runtime_env=ray_runtime_env())  # fmt: skip

    @ray.remote
    class Bench:
        def run(self, count: int, rounds: int) -> dict[str, float]:
            from shared import logging_config

            handler = logging_config._current_handler()
            assert handler is not None
            identity = handler.filters[0]
            log = logging.getLogger("bench")
            on: list[float] = []
            off: list[float] = []
            alone: list[float] = []
            record = logging.LogRecord("bench", logging.INFO, "", 0, "m", None, None)
            for _ in range(rounds):
                for results, attached in ((on, True), (off, False)):
                    if attached:
                        handler.addFilter(identity)
                    else:
                        handler.removeFilter(identity)
                    start = time.perf_counter()
                    for i in range(count):
                        log.info("step %d done", i, extra={"loss": 0.5})
                    results.append((time.perf_counter() - start) / count * 1e6)
                start = time.perf_counter()
                for _ in range(count):
                    identity.filter(record)
                alone.append((time.perf_counter() - start) / count * 1e6)
            return {
                "with_fields_us": statistics.median(on),
                "without_us": statistics.median(off),
                "filter_alone_us": statistics.median(alone),
            }

    figures = ray.get(Bench.remote().run.remote(20_000, 5))
    ray.shutdown()
    shutdown_logging()
    print(f"Python {sys.version.split()[0]}, ray {ray.__version__}, one actor, synchronous "
          "file, console off, medians of 5 rounds of 20,000 records:")  # fmt: skip
    print(f"  log call with Ray's identity fields: {figures['with_fields_us']:.2f} µs")
    print(f"  log call without them:               {figures['without_us']:.2f} µs")
    print(f"  so the fields cost:                  "
          f"{figures['with_fields_us'] - figures['without_us']:+.2f} µs per record")  # fmt: skip
    print(f"  (the identity filter alone:          {figures['filter_alone_us']:.2f} µs)")


if __name__ == "__main__":
    main()
