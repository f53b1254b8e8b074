"""``python -m shared.logview``."""

from ._main import main

raise SystemExit(main())
