"""`cache import DIR --repo ORG/NAME --revision REV`: seed the fetched-model cache for air-gapped deployments."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from schemas.errors import AuditError
from service.settings import Settings


def import_command(directory: str, *, repo: str, revision: str, subfolder: str | None, offline: bool) -> int:
    """Copy a local checkpoint into the cache as (repo, commit); 0 done, 2 refused (the reason on stderr)."""
    from evaluators.net import OutboundPolicy, configure_hub
    from evaluators.registries import hub
    from evaluators.registries.cache import ModelCache
    from evaluators.registries.seed import seed_from_directory
    from schemas.targets import HubTarget

    settings = Settings()
    try:
        target = HubTarget(repo=repo, revision=revision, subfolder=subfolder)
        if not Path(directory).is_dir():
            raise AuditError(f"{directory} is not a directory")
        configure_hub(OutboundPolicy(settings.allowed_host_list(), settings.allow_link_local))
        access = hub.HubAccess(endpoint=settings.hub_endpoint.rstrip("/"))
        cache = ModelCache(settings.resolved_cache_dir(), settings.cache_max_bytes)
        seeded = asyncio.run(seed_from_directory(Path(directory), target, access, cache, offline=offline))
    except (AuditError, ValueError) as exc:
        print(f"unlearn-audit cache import: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    print(
        json.dumps(
            {
                "repo": repo,
                "revision": seeded.source.revision,
                "verified": seeded.verified,
                "files": seeded.files,
                "cache_key": seeded.key,
            }
        )
    )
    return 0
