"""Open the LanguageModel a ModelTarget names. Heavy backends (torch) are imported only when needed, so an
endpoint-only deployment never imports torch.

Create one BackendEnv per worker and pass it to every `open_model` call: it owns the worker's checkpoint
cache, so a loaded model is reused across the checks of a job and across jobs while it fits.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluators.models.http_retry import RetryPolicy
from evaluators.models.protocol import LanguageModel
from evaluators.net import OutboundPolicy
from schemas.errors import BadInputError, SecretNotAllowedError, UnsafeNotAllowedError
from schemas.sources import ModelSource
from schemas.targets import (
    CheckpointTarget,
    HubTarget,
    MLflowTarget,
    OpenAITarget,
    SandboxTarget,
    TGITarget,
    WeightsTarget,
)

if TYPE_CHECKING:
    from evaluators.models.checkpoint_loader import CheckpointCache
    from evaluators.registries.cache import DownloadLock, ModelCache


@dataclass
class BackendEnv:
    """What backends need from the worker's settings."""

    model_roots: Sequence[Path] = ()
    allowed_hosts: Sequence[str] = ("127.0.0.1", "localhost", "::1")
    allow_link_local: bool = False
    outbound: OutboundPolicy | None = None
    """What endpoint backends may reach; by default the policy of `allowed_hosts` and `allow_link_local`."""
    sandbox_dir: Path | None = None
    cache_size: int = 2
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    """Where `api_key_env` names are looked up (the worker's environment)."""
    endpoint_secrets: frozenset[str] = frozenset()
    """The names `api_key_env` may take (the operator's UNLEARN_AUDIT_ENDPOINT_SECRETS)."""
    allow_remote_code: bool = False
    allow_pickle: bool = False
    """The operator's gates on checkpoints' own code and pickle weights (checked again at load)."""
    hub_endpoint: str = "https://huggingface.co"
    hub_repos: Sequence[str] = ()
    """The Hub repositories `hf` targets may name (fnmatch patterns; checked again before a download)."""
    mlflow_tracking_uri: str | None = None
    mlflow_auth: Any = None
    """The operator's MLflow credentials (`evaluators.registries.mlflow.RegistryAuth`), used when a target
    names no api_key_env of its own."""
    fetch_cache_dir: Path | None = None
    fetch_cache_bytes: int = 100 * 1024**3
    download_lock: DownloadLock | None = None
    """One download per snapshot across workers (a database lock); by default a file lock in the cache."""
    _cache: CheckpointCache | None = field(default=None, repr=False)
    _fetched: ModelCache | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.outbound is None:
            self.outbound = OutboundPolicy(self.allowed_hosts, self.allow_link_local)

    @property
    def outbound_policy(self) -> OutboundPolicy:
        """The outbound policy every endpoint backend's requests go through."""
        assert self.outbound is not None  # set in __post_init__
        return self.outbound

    @classmethod
    def from_settings(cls, settings: Any) -> BackendEnv:
        """From service Settings (duck-typed: evaluators never import the service layer)."""
        return cls(
            model_roots=list(settings.model_root_paths()),
            allowed_hosts=list(settings.allowed_host_list()),
            allow_link_local=bool(settings.allow_link_local),
            sandbox_dir=settings.resolved_sandbox_dir(),
            cache_size=int(settings.model_cache_size),
            endpoint_secrets=frozenset(settings.endpoint_secret_names()),
            allow_remote_code=bool(settings.allow_remote_code),
            allow_pickle=bool(settings.allow_pickle),
            hub_endpoint=str(settings.hub_endpoint),
            hub_repos=list(settings.hub_repo_patterns()),
            mlflow_tracking_uri=settings.mlflow_tracking_uri,
            mlflow_auth=operator_mlflow_auth(settings),
            fetch_cache_dir=settings.resolved_cache_dir(),
            fetch_cache_bytes=int(settings.cache_max_bytes),
        )

    def model_cache(self) -> ModelCache:
        """The shared cache of fetched models (created on first use)."""
        if self._fetched is None:
            from evaluators.registries.cache import ModelCache

            if self.fetch_cache_dir is None:
                raise BadInputError("no model cache is configured on this worker", field="target")
            self._fetched = ModelCache(self.fetch_cache_dir, self.fetch_cache_bytes, self.download_lock)
        return self._fetched

    def checkpoint_cache(self) -> CheckpointCache:
        """The worker's LRU of loaded checkpoints (created on first use)."""
        if self._cache is None:
            from evaluators.models.checkpoint_loader import CheckpointCache

            self._cache = CheckpointCache(self.cache_size)
        return self._cache


def operator_mlflow_auth(settings: Any) -> Any:
    """The operator's MLflow credentials from settings (a token, or `user:password`), or None."""
    from evaluators.registries.mlflow import RegistryAuth

    token, basic = getattr(settings, "mlflow_token", None), getattr(settings, "mlflow_basic_auth", None)
    if token is not None:
        return RegistryAuth(token=token.get_secret_value())
    if basic is not None:
        user, _, password = basic.get_secret_value().partition(":")
        return RegistryAuth(username=user, password=password)
    return None


def secret(env: BackendEnv, name: str | None) -> str | None:
    """The value of an operator-listed variable; a name off the list is refused whatever the submit said."""
    if name is None:
        return None
    if name not in env.endpoint_secrets:
        raise SecretNotAllowedError(
            f"api_key_env {name!r} is not a name the operator allows (UNLEARN_AUDIT_ENDPOINT_SECRETS)",
            field="target.api_key_env",
        )
    value = env.environ.get(name)
    if not value:
        raise BadInputError(f"api_key_env {name!r} is allowed but not set on this worker", field="target.api_key_env")
    return value


async def open_weights(
    target: WeightsTarget,
    path: Path,
    roots: Sequence[Path],
    env: BackendEnv,
    *,
    on_close: Callable[[], None] | None = None,
    source: ModelSource | None = None,
    tokenizer_path: Path | None = None,
) -> LanguageModel:
    """Load the checkpoint at `path` (a directory inside `roots`) as `target`'s options say: the operator's
    gates on remote code and pickle, then the same inspection as at submit, then the weights."""
    from evaluators.models.adapters import is_adapter, open_adapter
    from evaluators.models.weights import inspect_checkpoint

    if (target.trust_remote_code and not env.allow_remote_code) or (target.allow_pickle and not env.allow_pickle):
        raise UnsafeNotAllowedError(
            "this worker does not allow remote code or pickle weights (UNLEARN_AUDIT_ALLOW_REMOTE_CODE, "
            "UNLEARN_AUDIT_ALLOW_PICKLE)",
            field="target",
        )
    weights = inspect_checkpoint(
        path, roots, allow_pickle=target.allow_pickle, trust_remote_code=target.trust_remote_code
    )
    if is_adapter(path):
        return await open_adapter(target, path, weights, env, on_close=on_close, source=source)
    return await env.checkpoint_cache().open(
        path,
        dtype=target.dtype,
        device=target.device,
        allow_pickle=target.allow_pickle,
        trust_remote_code=target.trust_remote_code,
        chat_template=target.chat_template,
        on_close=on_close,
        source=source,
        tokenizer_path=tokenizer_path,
    )


async def open_model(target: Any, env: BackendEnv) -> LanguageModel:
    """The backend for `target` (checkpoint, sandbox, tgi or openai). Paths are confined to the model roots;
    URLs must pass the allowlist (checked again by the backends' transport on every request and connection).
    Raises BadInputError subclasses for refused or broken targets."""
    if isinstance(target, SandboxTarget):
        from evaluators.sandbox import control_path

        if env.sandbox_dir is None:
            raise BadInputError("no sandbox directory is configured on this worker", field="target.name")
        path = control_path(target.name, env.sandbox_dir)
        return await env.checkpoint_cache().open(path, chat_template=target.chat_template)
    if isinstance(target, CheckpointTarget):
        from evaluators.paths import resolve_inside

        path = resolve_inside(target.path, list(env.model_roots), "checkpoint")
        return await open_weights(target, path, list(env.model_roots), env)
    if isinstance(target, HubTarget | MLflowTarget):
        from evaluators.registries.fetch import open_fetched

        return await open_fetched(target, env)
    if isinstance(target, TGITarget):
        from evaluators.models.tgi import TGIModel

        url = env.outbound_policy.check_url(target.url)
        token = secret(env, target.api_key_env)
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return TGIModel(
            url, headers=headers, policy=env.retry, chat_template=target.chat_template, outbound=env.outbound_policy
        )
    if isinstance(target, OpenAITarget):
        from evaluators.models.openai_compat import OpenAICompatModel

        url = env.outbound_policy.check_url(target.base_url)
        return OpenAICompatModel(
            url,
            target.model,
            api_key=secret(env, target.api_key_env),
            chat_only=target.chat_only,
            policy=env.retry,
            chat_template=target.chat_template,
            outbound=env.outbound_policy,
        )
    raise BadInputError(f"unknown model target {type(target).__name__}", field="target.kind")
