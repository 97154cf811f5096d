"""`MLflowRegistry`: one tracking server, reached only through the checked outbound transport.

Tags are read with `GET /api/2.0/mlflow/model-versions/get` and written with
`POST /api/2.0/mlflow/model-versions/set-tag` (`{"name", "version", "key", "value"}`; an existing key is
overwritten).
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import httpx

from evaluators.models.http_retry import RetryPolicy
from evaluators.net import OutboundPolicy, checked_async_client
from evaluators.registries.mlflow.artifacts import ArtifactFile, FileFilter, download_files, list_files
from evaluators.registries.mlflow.resolve import (
    ModelVersion,
    ResolvedModel,
    get_model_version,
    resolve_model_uri,
    version_label,
)
from evaluators.registries.mlflow.rest import DEFAULT_RETRY, MLflowREST, RegistryAuth, server_origin
from evaluators.registries.mlflow.stores import proxied_artifacts


class MLflowRegistry:
    """The model registry and artifact proxy of the tracking server at `tracking_uri`.

        async with MLflowRegistry(uri, policy, auth=RegistryAuth(token=...)) as registry:
            model = await registry.resolve("models:/zephyr-rmu@candidate")
            files = await registry.list_artifacts(model.artifact_uri, want=checkpoint_files())
            await registry.download_artifacts(model.artifact_uri, destination, files)
            await registry.set_model_version_tag(model.name, model.version, "unlearn_audit.verdict", "pass")

    `policy` checks every request and connection (URLNotAllowedError when the tracking server, or a host an
    artifact location names, is not allowed); the constructor checks `tracking_uri` at once.
    """

    def __init__(
        self,
        tracking_uri: str,
        policy: OutboundPolicy,
        *,
        auth: RegistryAuth | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        file_timeout_s: float = 3600.0,
        download_concurrency: int = 4,
    ) -> None:
        policy.check_url(server_origin(tracking_uri))
        client = checked_async_client(
            policy, timeout=httpx.Timeout(30.0, connect=10.0), follow_redirects=True, max_redirects=5
        )
        self.rest = MLflowREST(client, tracking_uri, auth, retry, file_timeout_s=file_timeout_s)
        self.download_concurrency = download_concurrency

    @property
    def tracking_uri(self) -> str:
        return self.rest.server

    async def __aenter__(self) -> MLflowRegistry:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.rest.client.aclose()

    async def resolve(self, model_uri: str) -> ResolvedModel:
        """What `model_uri` names now and where its files are (see `resolve_model_uri`)."""
        return await resolve_model_uri(self.rest, model_uri)

    async def model_version(self, name: str, version: str) -> ModelVersion:
        return await get_model_version(self.rest, name, version)

    async def model_version_tags(self, name: str, version: str) -> dict[str, str]:
        """The tags of a model version."""
        return (await self.model_version(name, version)).tags

    async def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        """Set (or overwrite) tag `key` of a model version. ModelAccessDeniedError when the credentials may read
        but not edit the model; BadInputError when MLflow refuses the key or value (its limits)."""
        await self.rest.call(
            "POST",
            "/api/2.0/mlflow/model-versions/set-tag",
            f"tag {key!r} of {version_label(name, version)}",
            body={"name": name, "version": version, "key": key, "value": value},
        )

    async def list_artifacts(
        self, artifact_uri: str, want: FileFilter | None = None, *, what: str | None = None
    ) -> list[ArtifactFile]:
        """The files under `artifact_uri` (recursively) that `want` takes; their sizes tell a cache how much
        room the download needs. ArtifactStoreUnsupportedError when the server does not proxy that store."""
        label = what or artifact_uri
        location = proxied_artifacts(artifact_uri, self.rest.server, label)
        return await list_files(self.rest, location, label, want)

    async def download_artifacts(
        self,
        artifact_uri: str,
        destination: Path,
        files: list[ArtifactFile] | None = None,
        *,
        want: FileFilter | None = None,
        what: str | None = None,
    ) -> list[ArtifactFile]:
        """Download `files` (default: those `want` takes) from `artifact_uri` into `destination`, streaming;
        the files. Files already in `destination` at their listed size are kept (a retry resumes)."""
        label = what or artifact_uri
        location = proxied_artifacts(artifact_uri, self.rest.server, label)
        chosen = files if files is not None else await list_files(self.rest, location, label, want)
        await download_files(self.rest, location, chosen, destination, label, concurrency=self.download_concurrency)
        return chosen
