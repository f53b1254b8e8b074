"""logview: read, filter, follow and merge JSONL logs.

    logview logs/app.jsonl                      # the file and its rotated siblings, oldest first
    logview results/ --level ERROR              # every *.jsonl in a directory, merged by time
    logview a.jsonl b.jsonl.gz - --json         # files, gzip, stdin; raw JSONL out for pipes
    logview app.jsonl -f --logger bifrost       # follow, across rotation and truncation
    logview app.jsonl --stats                   # counts, top messages, records per time bucket

Reads our records and, with no configuration, python-json-logger's, structlog's
and loguru's (``serialize=True``). Run ``logview --help`` for every option.
"""

from ._main import main

__all__ = ["main"]
