"""Private mechanisms behind ``shared.logging_config``; no stable API here."""
