"""`webhooks import FILE` and `webhooks export FILE`: copy audit profiles between a YAML or JSON file and the
database every API replica reads them from.

`import` validates every profile as PUT /v1/webhooks/profiles does (the CLI runs as the operator: profiles
may use what the deployment allows) and replaces the stored profiles; `export` writes them (JSON for a
`.json` file, else YAML; `-` for standard output). Exit codes: 0 done, 2 refused (the reason on stderr).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import yaml

from schemas.errors import AuditError
from service.settings import Settings


async def _run(command: str, path: str, settings: Settings) -> str:
    from service.store import create_store
    from service.webhooks.profiles import ProfileFile
    from service.webhooks.stored import StoredProfiles, check_profiles

    store = await create_store(settings.resolved_database_url())
    try:
        stored = StoredProfiles.from_settings(settings)
        if command == "import":
            if not await asyncio.to_thread(Path(path).is_file):
                raise AuditError(f"{path}: no such file")
            profiles = await asyncio.to_thread(ProfileFile(Path(path)).load)
            check_profiles(profiles, settings, may_use_unsafe=True)
            await stored.save(store, profiles)
            return f"imported {len(profiles.profiles)} audit profiles from {path}"
        profiles = await stored.load(store)
        if path == "-":
            data = profiles.model_dump(mode="json", exclude_none=True)
            sys.stdout.write(yaml.safe_dump(data, sort_keys=False))
            return f"exported {len(profiles.profiles)} audit profiles"
        await asyncio.to_thread(ProfileFile(Path(path)).save, profiles)
        return f"exported {len(profiles.profiles)} audit profiles to {path}"
    finally:
        await store.close()


def webhooks_command(command: str, path: str, settings: Settings | None = None) -> int:
    """Run `webhooks import|export PATH` on the configured database; 0 done, 2 refused."""
    try:
        print(asyncio.run(_run(command, path, settings or Settings())), file=sys.stderr)
    except AuditError as exc:
        print(f"unlearn-audit webhooks {command}: {exc.message}", file=sys.stderr)
        return 2
    return 0
