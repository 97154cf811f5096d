"""An MLflow model registry client of our own: MLflow's REST API 2.0 over the checked outbound transport.

    async with MLflowRegistry(tracking_uri, policy, auth=RegistryAuth(token=token)) as registry:
        model = await registry.resolve("models:/zephyr-rmu@candidate")       # -> ResolvedModel (version pinned)
        files = await registry.list_artifacts(model.artifact_uri, want=checkpoint_files())
        await registry.download_artifacts(model.artifact_uri, destination, files)
        layout = find_checkpoint(destination)                               # -> model_dir, tokenizer_dir
        await registry.set_model_version_tag(model.name, model.version, "unlearn_audit.verdict", "pass")

MLflow's own client opens its own connections (requests), so it cannot be made to pass our allowlist; this
one is plain httpx through `checked_async_client`, and needs neither mlflow nor torch. Artifacts download
only through a tracking server that serves them (`mlflow-artifacts:` locations, `mlflow server
--serve-artifacts`); other stores are ArtifactStoreUnsupportedError naming the store.

REST endpoints used (checked against MLflow 3.17):

    GET  /api/2.0/mlflow/model-versions/get                  a version: source, run_id, status, tags, aliases
    GET  /api/2.0/mlflow/registered-models/alias             the version an alias points at
    GET  /api/2.0/mlflow/model-versions/get-download-uri     where a version's files are
    GET  /api/2.0/mlflow/logged-models/<model_id>            an MLflow 3 logged model (models:/m-...)
    GET  /api/2.0/mlflow/runs/get                            a run's artifact root (runs:/...)
    POST /api/2.0/mlflow/model-versions/set-tag              write a verdict back as a version tag
    GET  /api/2.0/mlflow-artifacts/artifacts?path=           list a folder of proxied artifacts
    GET  /api/2.0/mlflow-artifacts/artifacts/<path>          download one file

Modules: `uris` (parsing model URIs), `rest` (credentials, retries, MLflow's errors as ours), `resolve`,
`stores` (which artifact locations we can read), `artifacts` (list and download), `layout` (where the
checkpoint is in MLflow's layouts), `client` (`MLflowRegistry`).
"""

from evaluators.registries.mlflow.artifacts import ArtifactFile, FileFilter, checkpoint_files
from evaluators.registries.mlflow.client import MLflowRegistry
from evaluators.registries.mlflow.layout import CheckpointLayout, find_checkpoint
from evaluators.registries.mlflow.resolve import ModelVersion, ResolvedModel
from evaluators.registries.mlflow.rest import RegistryAuth
from evaluators.registries.mlflow.uris import AliasRef, LoggedModelRef, ModelRef, RunRef, VersionRef, parse_model_uri

__all__ = [
    "AliasRef",
    "ArtifactFile",
    "CheckpointLayout",
    "FileFilter",
    "LoggedModelRef",
    "MLflowRegistry",
    "ModelRef",
    "ModelVersion",
    "RegistryAuth",
    "ResolvedModel",
    "RunRef",
    "VersionRef",
    "checkpoint_files",
    "find_checkpoint",
    "parse_model_uri",
]
