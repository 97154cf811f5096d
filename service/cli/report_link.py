"""`report-link <id>`: a short-lived URL that opens an evaluation's HTML report without an API key.

Prints the URL (or, with `--json`, the API's answer). Exit 0 on success, 2 on an error. The key comes from
UNLEARN_AUDIT_API_KEY, as for `submit`.
"""

from __future__ import annotations

import json
import sys

from schemas.errors import AuditError
from service.client import Client


def report_link_command(job_id: str, *, server: str | None, ttl_s: int | None, as_json: bool) -> int:
    """Ask the server for a report link and print it; the exit code."""
    try:
        with Client(server) as client:
            link = client.report_link(job_id, ttl_s=ttl_s)
    except AuditError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(link.model_dump(mode="json"), indent=2))
    else:
        print(link.url)
        print(f"expires {link.expires_at}", file=sys.stderr)
    return 0
