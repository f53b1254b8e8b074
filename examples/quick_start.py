"""The seed's Quick Start, verbatim."""

from shared.logging_config import setup_logging
import logging

# Setup logging once at app start
setup_logging(
    level="INFO",
    log_file="logs/app.jsonl",
    use_queue_handler=True,  # Recommended for async code
)

# Use logging everywhere
logger = logging.getLogger(__name__)
logger.info("Application started")
logger.error("Something went wrong", extra={"user_id": 123})
