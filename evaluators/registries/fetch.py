"""Open a model that lives in a registry: fetch its pinned snapshot into the shared cache, then load it.

A target reaches the worker pinned (the service resolved its revision or alias at submit and wrote the
commit sha or version into it); a target given here unpinned is resolved first. The snapshot stays pinned
in the cache while the job's model is open, and is inspected like a local checkpoint before loading.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING

from evaluators.registries import hub
from evaluators.registries.cache import snapshot_complete
from schemas.errors import BadInputError
from schemas.sources import ModelSource
from schemas.targets import HubTarget, MLflowTarget

if TYPE_CHECKING:
    from evaluators.models.factory import BackendEnv
    from evaluators.models.protocol import LanguageModel

COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")


def hub_access(target: HubTarget, env: BackendEnv) -> hub.HubAccess:
    from evaluators.models.factory import secret

    return hub.HubAccess(endpoint=env.hub_endpoint.rstrip("/"), token=secret(env, target.api_key_env))


def pinned_hub_source(target: HubTarget, endpoint: str) -> ModelSource | None:
    """The source of a target already pinned to a commit sha (no Hub request needed to name it)."""
    if not COMMIT_SHA.match(target.revision):
        return None
    return ModelSource(
        registry="hf",
        endpoint=endpoint,
        requested=target.revision,
        repo=target.repo,
        revision=target.revision,
        subfolder=target.subfolder,
    )


async def open_fetched(target: HubTarget | MLflowTarget, env: BackendEnv) -> LanguageModel:
    """The loaded model of a Hub or MLflow target, its snapshot pinned until the model is closed."""
    if isinstance(target, MLflowTarget):
        from evaluators.registries.mlflow_fetch import open_mlflow

        return await open_mlflow(target, env)
    return await _open_hub(target, env)


async def _open_hub(target: HubTarget, env: BackendEnv) -> LanguageModel:
    from evaluators.models.factory import open_weights

    hub.repo_allowed(target.repo, list(env.hub_repos))
    access = hub_access(target, env)
    cache = env.model_cache()
    source = pinned_hub_source(target, access.endpoint)
    size = 0
    if source is None or not snapshot_complete(cache.root, hub.snapshot_key(source)):
        # Not in the cache yet (or not pinned): the Hub names the commit and lists its files and sizes.
        resolved, files = await asyncio.to_thread(hub.resolve, target, access)
        source = source or resolved
        size = sum(f.size for f in hub.files_to_fetch(target, files))
    sha = source.revision
    assert sha is not None

    async def download(destination: Path) -> None:
        await asyncio.to_thread(hub.download, target, sha, access, destination)

    snapshot = await cache.fetch(hub.snapshot_key(source), size, download, source=source.model_dump())
    try:
        path = snapshot.path / target.subfolder if target.subfolder else snapshot.path
        if not path.is_dir():
            raise BadInputError(f"the snapshot of {target.repo}@{sha[:12]} has no folder {target.subfolder!r}")
        return await open_weights(target, path, [cache.root], env, on_close=snapshot.release, source=source)
    except BaseException:
        snapshot.release()
        raise
