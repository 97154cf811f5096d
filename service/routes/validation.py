"""Submit-time checks beyond the schema: what the operator allows (secret names, remote code, pickle),
paths inside allowed roots and checkpoints safe to load, URLs on the allowlist, datasets loadable.

They run before a job is stored (API submits and webhook-made jobs alike), so that a request which could
never run gets a 4xx naming the field instead of a job that fails later. The checks themselves live in
evaluators (paths, allowlist, weights, datasets); this module only walks the request and says which field
each value came from. Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from evaluators.registries.dataset_fetch import hub_ref_key
from evaluators.registries.hub_datasets import COMMIT_SHA, Listings, operator_pinned
from evaluators.request_datasets import request_datasets
from evaluators.suites import filled_by_suite
from schemas.dataset_sources import DatasetSource
from schemas.errors import AuditError, BadInputError, SecretNotAllowedError, UnsafeNotAllowedError
from schemas.requests import EvaluationRequest
from schemas.sources import ModelSource
from schemas.targets import (
    CheckpointTarget,
    HubTarget,
    MLflowTarget,
    OpenAITarget,
    SandboxTarget,
    TGITarget,
)
from service.routes.dataset_sources import pin_hub_dataset
from service.routes.sources import pin_source
from service.settings import Settings
from service.store.dataset_pins import pin_key

T = TypeVar("T")


@dataclass
class Pins:
    """What a submission resolved, by the request field that names each: fetched models, Hub datasets."""

    models: dict[str, ModelSource] = dataclasses.field(default_factory=dict)
    datasets: dict[str, DatasetSource] = dataclasses.field(default_factory=dict)
    first_resolved: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)
    """A suite's datasets whose moving revision this deployment resolved for the first time: (repo, revision)
    -> commit, to remember as the deployment's pins (service/store/dataset_pins.py)."""


def check_checkpoint(target: CheckpointTarget, field: str, settings: Settings) -> Path:
    """The checkpoint directory resolved inside the model roots and inspected (weights present in an allowed
    format, no code it may not run, every file inside the roots after resolving links); else a 4xx
    AuditError naming `field`."""
    from evaluators.models.weights import inspect_checkpoint
    from evaluators.paths import resolve_inside

    roots = settings.model_root_paths()
    resolved = _with_field(lambda: resolve_inside(target.path, roots, "checkpoint"), f"{field}.path")
    if not resolved.is_dir():
        raise BadInputError(f"checkpoint path {target.path!r} is not a directory", field=f"{field}.path")
    _with_field(
        partial(
            inspect_checkpoint,
            resolved,
            roots,
            allow_pickle=target.allow_pickle,
            trust_remote_code=target.trust_remote_code,
        ),
        field,
    )
    return resolved


_UNSAFE_OPTIONS = {
    "trust_remote_code": ("allow_remote_code", "UNLEARN_AUDIT_ALLOW_REMOTE_CODE", "runs the checkpoint's own code"),
    "allow_pickle": ("allow_pickle", "UNLEARN_AUDIT_ALLOW_PICKLE", "loads pickle weights, which can run code"),
}


def check_request_policy(request: EvaluationRequest, settings: Settings, *, may_use_unsafe: bool) -> None:
    """What the operator allows, independent of files and hosts: `api_key_env` names on the operator's list
    (403 `secret_not_allowed`, naming no environment), remote code and pickle only where the deployment
    allows them and the key has the `unsafe` scope (403 `unsafe_not_allowed`)."""
    allowed_secrets = settings.endpoint_secret_names()
    for field, target in request.named_models():
        if isinstance(target, TGITarget | OpenAITarget | HubTarget | MLflowTarget) and target.api_key_env is not None:
            if target.api_key_env not in allowed_secrets:
                raise SecretNotAllowedError(
                    f"api_key_env {target.api_key_env!r} is not a name the operator allows requests to use; "
                    "ask them to list it in UNLEARN_AUDIT_ENDPOINT_SECRETS",
                    field=f"{field}.api_key_env",
                )
        if isinstance(target, CheckpointTarget | HubTarget | MLflowTarget):
            for option, (setting, variable, what) in _UNSAFE_OPTIONS.items():
                if not getattr(target, option):
                    continue
                if not getattr(settings, setting):
                    raise UnsafeNotAllowedError(
                        f"{option} {what}; this deployment does not allow it ({variable} is off)",
                        field=f"{field}.{option}",
                    )
                if not may_use_unsafe:
                    raise UnsafeNotAllowedError(
                        f"{option} {what}; it needs an API key with the `unsafe` scope",
                        field=f"{field}.{option}",
                    )


def validate_submission(
    request: EvaluationRequest,
    settings: Settings,
    *,
    may_use_unsafe: bool = False,
    deployment_pins: Mapping[str, str] | None = None,
) -> Pins:
    """Raise an AuditError subclass (with `field` set) for the first part of `request` that cannot run;
    return the fetched models' sources pinned (a Hub revision's commit sha, an MLflow alias's version) and
    the Hub datasets' (a commit sha and the split's files), by the field that names each.

    `may_use_unsafe`: the caller's key has the `unsafe` scope. `deployment_pins`: `repo@revision` -> commit, the
    revisions this deployment first read its suites' datasets at (applied to a suite's datasets only; the
    operator's UNLEARN_AUDIT_DATASET_REVISIONS win). Touches the file system (paths, checkpoint
    files, dataset files), resolves hosts and asks registries: call it off the event loop.
    """
    from evaluators.allowlist import check_url

    check_request_policy(request, settings, may_use_unsafe=may_use_unsafe)
    refusal = request.checks.refusal if request.checks is not None else None
    if refusal is not None and refusal.generation.chat_template is not None:
        from evaluators.models.chat_template import check_chat_template  # renders in a limited child process

        check_chat_template(refusal.generation.chat_template)
    hosts = settings.allowed_host_list()
    for field, target in request.named_models():
        if isinstance(target, CheckpointTarget):
            check_checkpoint(target, field, settings)
        elif isinstance(target, SandboxTarget):
            from evaluators.sandbox import control_path

            _with_field(partial(control_path, target.name, settings.resolved_sandbox_dir()), field)
        elif isinstance(target, TGITarget):
            _with_field(partial(check_url, target.url, hosts, settings.allow_link_local), f"{field}.url")
        elif isinstance(target, OpenAITarget):
            _with_field(
                partial(check_url, target.base_url, hosts, settings.allow_link_local),
                f"{field}.base_url",
            )
    if request.callback is not None:
        url = request.callback.url
        _with_field(lambda: check_url(url, hosts, settings.allow_link_local), "callback.url")
    from evaluators.datasets import validate_ref

    roots, sandbox_dir = settings.data_root_paths(), settings.resolved_sandbox_dir()
    pins = Pins()
    seen: dict[str, DatasetSource] = {}  # one resolution per distinct Hub ref
    listings: Listings = {}  # one listing per repository and revision (a suite names many configs of one)
    operator = settings.dataset_revision_pins()
    for where, ref, kind in request_datasets(request):
        if ref.hub is not None:
            suite = filled_by_suite(request, where)
            key = f"{suite}|{hub_ref_key(ref.hub)}"
            if key not in seen:
                remembered = deployment_pins if suite else None
                seen[key] = _with_field(
                    partial(pin_hub_dataset, ref.hub, settings, listings, remembered), f"{where}.hub"
                )
            pins.datasets[where] = source = seen[key]
            moving = not COMMIT_SHA.match(ref.hub.revision)
            if suite and moving and operator_pinned(ref.hub, operator) == ref.hub:
                if pin_key(ref.hub.repo, ref.hub.revision) not in (deployment_pins or {}):
                    pins.first_resolved.setdefault((ref.hub.repo, ref.hub.revision), source.revision)
        else:
            _with_field(partial(validate_ref, ref, kind, roots, sandbox_dir, request.limit), where)
    for where, target in request.named_models():
        if isinstance(target, HubTarget | MLflowTarget):
            pins.models[where] = _with_field(partial(pin_source, target, settings), where)
    return pins


def _with_field(check: Callable[[], T], field: str) -> T:
    """Run `check()`; an AuditError it raises gets `field` (kept when it already names a sub-field)."""
    try:
        return check()
    except AuditError as exc:
        if not (exc.field and exc.field.startswith(field)):
            exc.field = f"{field}.{exc.field}" if exc.field else field
        raise
