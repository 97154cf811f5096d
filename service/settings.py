"""Settings from UNLEARN_AUDIT_* environment variables.

docs/reference-configuration.md is generated from this model (`python -m service.reference`): every field
needs a `description` that says what it does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from service.store.api import TeamLimits

ENV_PREFIX = "UNLEARN_AUDIT_"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def _split_paths(value: str) -> list[Path]:
    return [Path(p).expanduser() for p in value.split(":") if p.strip()]


def _split_names(value: str) -> list[str]:
    return [n.strip() for n in value.split(",") if n.strip()]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UNLEARN_AUDIT_", extra="ignore")

    data_dir: Path = Field(
        Path("./data"),
        description="Where the default SQLite database, the sandbox (`sandbox/`), the model cache (`cache/`) and the "
        "webhook profiles file live.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy async URL; default sqlite+aiosqlite under data_dir. "
        "PostgreSQL: postgresql+asyncpg://user@host/db.",
    )
    api_keys: str | None = Field(
        None,
        description="Comma-separated `key`, `key:scope1+scope2` or `key:scope1+scope2:team` entries (scopes `submit`, "
        "`read`, `items`, `admin`, `unsafe`; none: `submit` and `read`; `key::team` keeps those). Unset (and no "
        "file): no auth, and `serve` binds 127.0.0.1 only.",
    )
    api_keys_file: Path | None = Field(
        None,
        description="File with one `key[:scopes[:team]]` per line (`#` comments); read with UNLEARN_AUDIT_API_KEYS.",
    )
    model_roots: str = Field("", description="`:`-separated directories checkpoints must live in.")
    data_roots: str = Field("", description="`:`-separated directories dataset files must live in.")
    allowed_hosts: str = Field(
        "127.0.0.1,localhost,::1",
        description="Comma-separated hosts (or host:port) outbound URLs may reach; `*` allows any public host.",
    )
    allow_link_local: bool = Field(False, description="Allow link-local and cloud-metadata addresses.")
    endpoint_secrets: str = Field(
        "",
        description="Comma-separated names of environment variables that a request's `api_key_env` may name "
        "(bearer tokens for endpoints and judges). Empty: none. The service's own UNLEARN_AUDIT_* settings can "
        "never be listed.",
    )
    allow_remote_code: bool = Field(
        False,
        description="Let requests set `trust_remote_code` (a checkpoint's own Python runs in the worker). "
        "Also needs a key with the `unsafe` scope.",
    )
    allow_pickle: bool = Field(
        False,
        description="Let requests set `allow_pickle` (pickle weights can run code when loaded). Also needs a key "
        "with the `unsafe` scope.",
    )
    hub_endpoint: str = Field(
        "https://huggingface.co",
        max_length=2048,
        description="The Hugging Face Hub, or an enterprise Hub or mirror, that `hf` targets are fetched from "
        "(its host, and the hosts its downloads redirect to, must pass UNLEARN_AUDIT_ALLOWED_HOSTS).",
    )
    hub_repos: str = Field(
        "",
        description="Comma-separated patterns (fnmatch) of the Hub repositories `hf` targets may name, e.g. "
        "`acme/*,cais/*`. Empty: none.",
    )
    hub_datasets: str = Field(
        "cais/wmdp,cais/mmlu,walledai/HarmBench,walledai/XSTest,locuslab/TOFU,muse-bench/MUSE-News,muse-bench/MUSE-Books",
        description="Comma-separated patterns (fnmatch) of the Hub dataset repositories a dataset's `hub` may name; "
        "the default lists those the standard suites use. Empty: none.",
    )
    dataset_revisions: str = Field(
        "",
        max_length=100_000,
        description="The operator's pins of Hub datasets: comma-separated `repo=sha` or `repo:config=sha`; a "
        "dataset asked at revision `main` is read at the pinned commit instead.",
    )
    mlflow_tracking_uri: str | None = Field(
        None, max_length=2048, description="The MLflow tracking server `mlflow` targets use when they name none."
    )
    mlflow_token: SecretStr | None = Field(
        None, description="Bearer token for the MLflow tracking server (reads and write-back tags), if it needs one."
    )
    mlflow_basic_auth: SecretStr | None = Field(
        None, description="`user:password` for an MLflow server with basic auth (instead of a token)."
    )
    hub_dataset_token: SecretStr | None = Field(
        None,
        description="A Hub token that reads datasets whose ref names no `api_key_env` (gated suite datasets: accept "
        "their conditions with this token's account); unset: anonymous.",
    )
    hub_write_token: SecretStr | None = Field(
        None,
        description="A Hub token that may comment and open pull requests on audited repositories (write-back); "
        "unset: Hub write-backs are recorded as not sent.",
    )
    public_url: str | None = Field(
        None,
        max_length=2048,
        description="The service's public base URL, for links in write-backs (e.g. https://audit.example).",
    )
    cache_dir: Path | None = Field(None, description="The fetched-model cache; default data_dir/cache.")
    cache_max_bytes: int = Field(
        100 * 1024**3,
        ge=1024**2,
        description="Bytes the fetched-model cache may hold; least recently used snapshots not in use are evicted.",
    )
    team_max_active: int | None = Field(
        None, ge=1, le=1_000_000, description="Queued plus running jobs one team may have (429 above); unset: no cap."
    )
    team_max_running: int | None = Field(
        None, ge=1, le=100_000, description="Jobs of one team that run at once; unset: no cap."
    )
    max_body_bytes: int = Field(10 * 1024 * 1024, description="Largest request body (413 above).")
    items_retention_days: int = Field(30, description="Per-item records expire after this; scorecards stay.")
    lease_s: float = Field(30.0, description="A job lease; a worker that stops heartbeating loses it after this.")
    heartbeat_s: float = Field(5.0, description="How often a worker renews its lease and flushes progress.")
    poll_s: float = Field(1.0, description="How often an idle worker looks for queued jobs.")
    model_cache_size: int = Field(2, description="Loaded checkpoints a worker keeps for reuse.")
    torch_threads: int = Field(
        0,
        ge=0,
        description="torch CPU threads per worker process; 0: the CPUs divided among the local worker processes.",
    )
    sandbox_dir: Path | None = Field(None, description="Built sandbox; default data_dir/sandbox.")
    check_plugins: str = Field(
        "", description="Comma-separated `name=package.module:attribute` checks a worker registers at start."
    )
    executor: Literal["local", "ray"] = Field(
        "local", description="Where a worker runs a job's checks: `local` (in the worker) or `ray` (a Ray cluster)."
    )
    ray_address: str | None = Field(
        None,
        max_length=512,
        description="The Ray cluster of `executor=ray` (`ray://head:10001`); unset: RAY_ADDRESS, else a local Ray.",
    )
    # Registry webhooks and result callbacks (service/webhooks, service/callbacks). A receiver whose
    # secret is unset answers 503 naming the variable.
    hf_webhook_secret: SecretStr | None = Field(None, description="Hugging Face Hub `X-Webhook-Secret`.")
    mlflow_webhook_secret: SecretStr | None = Field(None, description="MLflow 3.x registry webhook secret.")
    databricks_webhook_secret: SecretStr | None = Field(
        None, description="Databricks workspace registry webhook HMAC secret (`X-Databricks-Signature`)."
    )
    wandb_webhook_secret: SecretStr | None = Field(
        None, description="Weights & Biases automation bearer token (`Authorization: Bearer`)."
    )
    generic_webhook_secret: SecretStr | None = Field(
        None, description="HMAC secret of the generic webhook (`X-Unlearn-Audit-Signature` scheme)."
    )
    webhook_profiles_file: Path | None = Field(
        None,
        description="Audit profiles (YAML or JSON) imported into the database at start when its content is new; "
        "default data_dir/webhook_profiles.yaml.",
    )
    signing_key_file: Path | None = Field(
        None,
        description="PEM Ed25519 private key signing scorecards (a mounted secret, mode 0400 or 0440); "
        "unset: the key lives in the database.",
    )
    callback_secret: SecretStr | None = Field(
        None, description="HMAC secret signing result callbacks; unset: none are sent (recorded why)."
    )
    callback_max_attempts: int = Field(5, ge=1, le=20, description="Attempts per callback delivery.")
    callback_backoff_s: float = Field(1.0, ge=0, description="First retry delay of a callback; doubles each attempt.")

    @field_validator("dataset_revisions")
    @classmethod
    def _dataset_pins(cls, value: str) -> str:
        for entry in _split_names(value):
            name, _, sha = entry.partition("=")
            if not name.strip() or not re.fullmatch(r"[0-9a-f]{40}", sha.strip()):
                raise ValueError(
                    f"UNLEARN_AUDIT_DATASET_REVISIONS: {entry[:80]!r} is not `repo=sha` or `repo:config=sha` "
                    "(a full 40-character commit sha)"
                )
        return value

    @field_validator("endpoint_secrets")
    @classmethod
    def _secret_names(cls, value: str) -> str:
        for name in _split_names(value):
            if not ENV_NAME.match(name):
                raise ValueError(f"UNLEARN_AUDIT_ENDPOINT_SECRETS: {name[:40]!r} is not an environment variable name")
            if name.upper().startswith(ENV_PREFIX):
                raise ValueError(f"UNLEARN_AUDIT_ENDPOINT_SECRETS may not list the service's own settings ({name})")
        return value

    def operator_dataset_token(self) -> str | None:
        """The operator's Hub token for datasets whose ref names no `api_key_env`."""
        return self.hub_dataset_token.get_secret_value() if self.hub_dataset_token is not None else None

    def endpoint_secret_names(self) -> frozenset[str]:
        """The variable names a request's `api_key_env` may name."""
        return frozenset(_split_names(self.endpoint_secrets))

    def hub_repo_patterns(self) -> list[str]:
        """The Hub repositories `hf` targets may name (fnmatch patterns)."""
        return _split_names(self.hub_repos)

    def hub_dataset_patterns(self) -> list[str]:
        """The Hub dataset repositories a dataset's `hub` may name (fnmatch patterns)."""
        return _split_names(self.hub_datasets)

    def dataset_revision_pins(self) -> dict[str, str]:
        """The operator's pins: `repo` or `repo:config` -> commit sha."""
        pins = {}
        for entry in _split_names(self.dataset_revisions):
            name, _, sha = entry.partition("=")
            pins[name.strip()] = sha.strip()
        return pins

    def resolved_cache_dir(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else self.data_dir / "cache"

    def team_limits(self) -> TeamLimits:
        """The per-team caps, for the store's submit and claim."""
        from service.store.api import TeamLimits

        return TeamLimits(max_active=self.team_max_active, max_running=self.team_max_running)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'unlearn_audit.sqlite3').resolve()}"

    def model_root_paths(self) -> list[Path]:
        roots = _split_paths(self.model_roots)
        return [*roots, self.resolved_sandbox_dir()]

    def data_root_paths(self) -> list[Path]:
        return _split_paths(self.data_roots)

    def resolved_sandbox_dir(self) -> Path:
        return self.sandbox_dir if self.sandbox_dir is not None else self.data_dir / "sandbox"

    def allowed_host_list(self) -> list[str]:
        return [h.strip() for h in self.allowed_hosts.split(",") if h.strip()]
