"""Keep report-link tokens out of access logs: uvicorn logs each request's path with its query string.

`redact_link_tokens()` adds a filter to the `uvicorn.access` logger that replaces the value of every `token=`
query parameter by `[redacted]` before any handler formats the record. A logger's filters survive uvicorn's
own logging set-up (it replaces handlers, not filters), so `create_app` installs it once per process.
"""

from __future__ import annotations

import logging
import re

ACCESS_LOGGER = "uvicorn.access"
_TOKEN = re.compile(r"([?&]token=)[^&#\s\"]*")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """`text` with the value of each `token` query parameter replaced by `[redacted]`."""
    return _TOKEN.sub(rf"\g<1>{REDACTED}", text)


class LinkTokenFilter(logging.Filter):
    """Rewrites a record's message and string arguments so no link token reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def redact_link_tokens(logger_name: str = ACCESS_LOGGER) -> None:
    """Install the filter on `logger_name` (once: a second call adds nothing)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, LinkTokenFilter) for f in logger.filters):
        logger.addFilter(LinkTokenFilter())
