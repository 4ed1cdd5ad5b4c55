"""The one logging set-up of every Stratus service process.

Lines go to standard error (``stratus up`` collects each child's), with the
process id and the id of the request being served (``-`` outside one), so a
request can be followed across log lines; a request made by another service
also names that service's (global) request id::

    2026-01-02 10:00:00,123 INFO blockstore.api[4242] req-7f3c...: volume 9a1b created
    2026-01-02 10:00:01,456 INFO blockstore.api[4242] req-8a2d... (global req-51c0...): ...
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from stratus.http.requestid import LogFilter

FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d] %(request_ids)s: %(message)s"


def setup_logging(
    level: int | str = logging.INFO, *, stream: TextIO | None = None, fmt: str = FORMAT
) -> None:
    """Log at ``level`` (a number or a name such as ``"info"``) to ``stream`` (stderr).

    Replaces whatever handlers the root logger had, so calling it twice
    does not print every line twice.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(LogFilter())
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
