"""Artifact locations: which ones we can read (the tracking server's artifact proxy), and what the others are.

A tracking server started with `--serve-artifacts` (the default of `mlflow server`) gives runs and logged models
`mlflow-artifacts:/<path>` locations and serves them under `/api/2.0/mlflow-artifacts/artifacts`; that is plain
REST, so it goes through our checked transport. Every other store (S3, GCS, Azure, DBFS, the server's own disk,
...) needs that store's SDK and credentials, which this service does not hold: ArtifactStoreUnsupportedError,
naming the store. Resolution follows MLflow's `MlflowArtifactsRepository.resolve_uri`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from evaluators.registries.mlflow.uris import clean_relative_path
from schemas.errors import ArtifactStoreUnsupportedError, excerpt

ARTIFACTS_ROUTE = "/api/2.0/mlflow-artifacts/artifacts"

_STORES = {
    "s3": "Amazon S3 (s3://)",
    "s3a": "Amazon S3 (s3a://)",
    "gs": "Google Cloud Storage (gs://)",
    "wasbs": "Azure Blob Storage (wasbs://)",
    "wasb": "Azure Blob Storage (wasb://)",
    "abfss": "Azure Data Lake Storage (abfss://)",
    "dbfs": "Databricks DBFS (dbfs:)",
    "hdfs": "HDFS (hdfs://)",
    "viewfs": "HDFS (viewfs://)",
    "ftp": "an FTP server (ftp://)",
    "sftp": "an SFTP server (sftp://)",
    "r2": "Cloudflare R2 (r2://)",
    "b2": "Backblaze B2 (b2://)",
    "oss": "Alibaba Cloud OSS (oss://)",
    "file": "a directory on the tracking server's own disk (file:)",
    "": "a directory on the tracking server's own disk (a bare path)",
}


def store_name(uri: str) -> str:
    """What kind of store an artifact URI points into, in words."""
    scheme = urlsplit(uri).scheme.lower()
    if scheme in ("http", "https"):
        return f"a plain {scheme.upper()} location that is not an MLflow artifact proxy"
    if uri.startswith("/Volumes/"):
        return "a Databricks Unity Catalog volume"
    return _STORES.get(scheme, f"a {excerpt(scheme)}: store")


@dataclass(frozen=True)
class ProxiedArtifacts:
    """A directory (or file) the tracking server serves: `base_url` is where `/api/2.0/...` lives (scheme,
    host and any path prefix), `path` the location under the server's artifact root (no leading slash)."""

    base_url: str
    path: str

    def child(self, relative: str) -> ProxiedArtifacts:
        """The location `relative` (a clean relative path) below this one."""
        return ProxiedArtifacts(self.base_url, f"{self.path}/{relative}".strip("/") if relative else self.path)

    @property
    def list_url(self) -> str:
        """The listing endpoint (the path goes as the `path` query parameter)."""
        return self.base_url + ARTIFACTS_ROUTE

    @property
    def file_url(self) -> str:
        """The download endpoint of this location as a file."""
        return f"{self.base_url}{ARTIFACTS_ROUTE}/{quote(self.path, safe='/')}"

    @property
    def uri(self) -> str:
        return f"mlflow-artifacts:/{self.path}"


def proxied_artifacts(artifact_uri: str, tracking_uri: str, what: str) -> ProxiedArtifacts:
    """Where the tracking server at `tracking_uri` serves `artifact_uri` from. Raises
    ArtifactStoreUnsupportedError naming the store when it is not served through an MLflow artifact proxy;
    `what` names the model for that message."""
    parts = urlsplit(artifact_uri, allow_fragments=False)
    scheme = parts.scheme.lower()
    if scheme == "mlflow-artifacts":
        track = urlsplit(tracking_uri)
        # A URI with its own host (mlflow-artifacts://host:port/path) is served there, on the tracking
        # server's scheme and path prefix: what MlflowArtifactsRepository.resolve_uri does.
        base = f"{track.scheme}://{parts.netloc or track.netloc}{track.path.rstrip('/')}"
        return ProxiedArtifacts(base, clean_relative_path(parts.path, artifact_uri))
    prefix, route, rest = parts.path.partition(ARTIFACTS_ROUTE)
    if scheme in ("http", "https") and route and (not rest or rest.startswith("/")):
        base = f"{scheme}://{parts.netloc}{prefix.rstrip('/')}"
        return ProxiedArtifacts(base, clean_relative_path(rest, artifact_uri))
    raise ArtifactStoreUnsupportedError(
        f"the artifacts of {what} are in {store_name(artifact_uri)} ({excerpt(artifact_uri)}); this service reads "
        "MLflow artifacts only through a tracking server that serves them (`mlflow server --serve-artifacts`, "
        "locations mlflow-artifacts:/...): log the model to an experiment whose artifact location is "
        "mlflow-artifacts:, or audit a copy of it as a checkpoint or Hub target",
        field="model_uri",
    )
