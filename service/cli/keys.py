"""`keys list` and `keys rotate`: the scorecard signing keys every machine of the deployment shares.

`list` prints one line per key, newest first: key id, status, created, retired. `rotate` (the database key
source) makes a new active key and retires the old one, whose public key stays published so what it signed
still verifies. Exit codes: 0 done, 2 refused or broken configuration (the reason on stderr).
"""

from __future__ import annotations

import asyncio
import sys

from schemas.errors import AuditError
from service.settings import Settings


async def _run(command: str, settings: Settings) -> str:
    from service.signing.shared import SigningKeys
    from service.store import create_store

    store = await create_store(settings.resolved_database_url())
    try:
        keys = SigningKeys.from_settings(settings)
        if command == "rotate":
            return f"rotated: new active key {await keys.rotate(store)}; older keys retired, still published"
        lines = [f"source: {keys.source}"]
        for info in await keys.published(store):
            lines.append(f"{info.keyid}  {info.status:<7}  created {info.created_at}  retired {info.retired_at or '-'}")
        return "\n".join(lines)
    finally:
        await store.close()


def keys_command(command: str, settings: Settings | None = None) -> int:
    """Run `keys list|rotate` on the configured database; 0 done, 2 refused."""
    try:
        print(asyncio.run(_run(command, settings or Settings())))
    except AuditError as exc:
        print(f"unlearn-audit keys {command}: {exc.message}", file=sys.stderr)
        return 2
    return 0
