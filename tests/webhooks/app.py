"""A real app with the webhook router on a real store, configured with secrets and a profiles file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.datastructures import State

from service.auth import KeyRing
from service.errors import EXCEPTION_HANDLERS
from service.routes.deps import STATE_DEPENDENCIES
from service.settings import Settings
from service.store import SqlJobStore
from service.webhooks.profiles import ProfileFile, ProfileSet
from service.webhooks.routes import webhook_router

SECRETS = {
    "hf_webhook_secret": "hf-secret-1",
    "mlflow_webhook_secret": "mlflow-secret-2",
    "databricks_webhook_secret": "dbx-secret-3",
    "wandb_webhook_secret": "wandb-secret-4",
    "generic_webhook_secret": "generic-secret-5",
}

CHECKS = {
    "forget": {
        "dataset": {"items": [{"question": "Q?", "choices": ["a", "b", "c", "d"], "answer": 1}]},
        "subject": "biology",
    }
}
HF_REVISIONS = ("a" * 40, "c" * 40, "d" * 40)
"""The commits the tests push: each has a checkpoint on the worker's disk."""

PROFILES: dict[str, list[dict[str, Any]]] = {
    "profiles": [
        {
            "name": "hf-unlearned",
            "registry": "huggingface",
            "model": "acme/*-unlearned",
            "target": {"kind": "checkpoint", "path": "{model}/{revision}"},
            "baseline": {"kind": "checkpoint", "path": "acme/base"},
            "checks": CHECKS,
            "policy": "strict",
            "labels": {"team": "safety"},
        },
        *[
            {
                "name": f"{registry}-unlearned",
                "registry": registry,
                "model": "llama-*",
                "target": {
                    "kind": "openai",
                    "base_url": "http://127.0.0.1:9/v1",
                    "model": "{model}-{version}",
                },
                "checks": CHECKS,
            }
            for registry in ("mlflow", "databricks", "wandb", "generic")
        ],
    ]
}


def _checkpoints(models: Path) -> None:
    """Directories the profiles' targets name, each with a (dummy) safetensors file: submit-time inspection
    looks at files, it does not load them."""
    for rel in ("acme/base", *(f"acme/llama-unlearned/{sha}" for sha in HF_REVISIONS)):
        (models / rel).mkdir(parents=True, exist_ok=True)
        (models / rel / "model.safetensors").write_bytes(b"{}")


def webhook_settings(tmp_path: Path, **overrides: object) -> Settings:
    _checkpoints(tmp_path / "models")
    values: dict[str, object] = {
        **SECRETS,
        "data_dir": tmp_path,
        "webhook_profiles_file": tmp_path / "p.yaml",
        "model_roots": str(tmp_path / "models"),
    }
    values.update(overrides)
    settings = Settings(**values)  # type: ignore[arg-type]
    ProfileFile(tmp_path / "p.yaml").save(ProfileSet.model_validate(PROFILES))
    return settings


def webhook_app(store: SqlJobStore, settings: Settings) -> Litestar:
    return Litestar(
        route_handlers=[webhook_router],
        dependencies=STATE_DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        state=State({"settings": settings, "keyring": KeyRing.from_settings(settings), "store": store}),
    )
