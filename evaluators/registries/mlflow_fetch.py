"""Open a model version from an MLflow registry: resolve it, fetch its checkpoint files into the shared
cache through the tracking server's artifact proxy, find the checkpoint in MLflow's layout, and load it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluators.registries.mlflow import MLflowRegistry, RegistryAuth, ResolvedModel, checkpoint_files, find_checkpoint
from schemas.errors import BadInputError, NoWeightsError, excerpt
from schemas.targets import MLflowTarget

if TYPE_CHECKING:
    from evaluators.models.factory import BackendEnv
    from evaluators.models.protocol import LanguageModel


def tracking_uri(target: MLflowTarget, default: str | None) -> str:
    uri = target.tracking_uri or default
    if not uri:
        raise BadInputError(
            "an mlflow target needs `tracking_uri`, or the operator's UNLEARN_AUDIT_MLFLOW_TRACKING_URI",
            field="tracking_uri",
        )
    return uri


def auth_for(token: str | None, default: Any) -> RegistryAuth | None:
    """The target's own token (api_key_env) when it names one, else the operator's credentials."""
    return RegistryAuth(token=token) if token else default


def snapshot_key(model: ResolvedModel) -> str:
    """The cache key of a resolved MLflow model: unique per server and immutable name (version, logged model
    or run artifact path)."""
    ident = "|".join(
        str(x) for x in (model.tracking_uri, model.name, model.version, model.model_id, model.artifact_uri)
    )
    name = (model.name or model.model_id or "run").replace("/", "-")[:60]
    return f"mlflow--{name}--{model.version or 'x'}--{hashlib.sha256(ident.encode()).hexdigest()[:12]}"


async def resolve_with_files(registry: MLflowRegistry, target: MLflowTarget) -> tuple[ResolvedModel, list[Any], int]:
    """The pinned model, the checkpoint files to fetch and their bytes; NoWeightsError when there are none."""
    model = await registry.resolve(target.model_uri)
    want = checkpoint_files(allow_pickle=target.allow_pickle, trust_remote_code=target.trust_remote_code)
    files = await registry.list_artifacts(model.artifact_uri, want=want)
    if not any(f.path.endswith((".safetensors", ".bin", ".pt", ".pth")) for f in files):
        raise NoWeightsError(
            f"MLflow model {excerpt(model.pinned_uri)} has no weights to load under {excerpt(model.artifact_uri)}",
            field="model_uri",
        )
    return model, files, sum(f.size or 0 for f in files)


async def open_mlflow(target: MLflowTarget, env: BackendEnv) -> LanguageModel:
    """The loaded model of an MLflow target, its snapshot pinned in the cache until the model is closed."""
    from evaluators.models.factory import open_weights, secret

    uri = tracking_uri(target, env.mlflow_tracking_uri)
    auth = auth_for(secret(env, target.api_key_env), env.mlflow_auth)
    cache = env.model_cache()
    async with MLflowRegistry(uri, env.outbound_policy, auth=auth) as registry:
        model, files, size = await resolve_with_files(registry, target)

        async def download(destination: Path) -> None:
            await registry.download_artifacts(model.artifact_uri, destination, files, what=model.pinned_uri)

        source = model.model_source()
        snapshot = await cache.fetch(snapshot_key(model), size, download, source=source.model_dump())
    try:
        layout = find_checkpoint(snapshot.path)
        return await open_weights(
            target,
            layout.model_dir,
            [cache.root],
            env,
            on_close=snapshot.release,
            source=source,
            tokenizer_path=layout.tokenizer_dir,
        )
    except BaseException:
        snapshot.release()
        raise
