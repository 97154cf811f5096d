"""`migrate`: bring the database's schema to the newest revision this version ships, once, before a rollout.

The API and the workers migrate on start-up too (serialised by a lock, so replicas starting together are safe);
a deployment that runs this first (the Kubernetes migration Job, compose's `migrate` service) starts its
replicas on a schema that is already current. Exit codes: 0 at the newest revision, 1 the database could not
be reached or migrated, 2 bad configuration (the reason on stderr).
"""

from __future__ import annotations

import asyncio
import sys

from schemas.errors import AuditError
from service.settings import Settings


async def _migrate(settings: Settings) -> str:
    from service.store import create_store
    from service.store.migrate import head_revision

    settings.data_dir.mkdir(parents=True, exist_ok=True)  # a SQLite database lives there
    store = await create_store(settings.resolved_database_url())  # runs the pending migrations
    try:
        revision = await store.schema_revision()
    finally:
        await store.close()
    return f"database schema at revision {revision} (newest: {head_revision()})"


def migrate_command(settings: Settings | None = None) -> int:
    """Run the pending migrations on the configured database and print the revision it is at."""
    try:
        print(asyncio.run(_migrate(settings or Settings())))
    except ValueError as exc:  # settings that do not validate
        print(f"unlearn-audit migrate: bad configuration: {exc}", file=sys.stderr)
        return 2
    except AuditError as exc:
        print(f"unlearn-audit migrate: {exc.message}", file=sys.stderr)
        return 2
    except (OSError, ConnectionError) as exc:
        print(f"unlearn-audit migrate: the database could not be reached: {exc}", file=sys.stderr)
        return 1
    return 0
