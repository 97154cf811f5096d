"""Submit-time checks beyond the schema: paths inside allowed roots, URLs on the allowlist, datasets loadable.

They run before a job is stored, so that a request which could never run gets a 4xx naming the field
instead of a job that fails later. The checks themselves live in evaluators (paths, allowlist,
datasets); this module only walks the request and says which field each value came from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TypeVar

from evaluators.checks.base import DatasetKind
from evaluators.errors import AuditError, BadInputError
from evaluators.suites import effective_checks
from schemas.datasets import DatasetRef
from schemas.requests import EvaluationRequest
from schemas.targets import CheckpointTarget, ModelTarget, OpenAITarget, SandboxTarget, TGITarget
from service.settings import Settings

T = TypeVar("T")


def _targets(request: EvaluationRequest) -> Iterator[tuple[str, ModelTarget]]:
    for name in ("target", "baseline", "reference"):
        target = getattr(request, name)
        if target is not None:
            yield name, target
    checks = request.checks
    if checks is not None and checks.refusal is not None and checks.refusal.judge.target is not None:
        yield "checks.refusal.judge.target", checks.refusal.judge.target


def _datasets(request: EvaluationRequest) -> Iterator[tuple[str, DatasetRef, DatasetKind]]:
    checks = effective_checks(request)  # a `suite` fills in builtin datasets: they must be built
    if checks.forget is not None:
        forget = checks.forget
        yield "checks.forget.dataset", forget.dataset, "multiple_choice"
        if forget.corpus is not None:
            yield "checks.forget.corpus", forget.corpus, "text"
        if forget.holdout_corpus is not None:
            yield "checks.forget.holdout_corpus", forget.holdout_corpus, "text"
    if checks.refusal is not None:
        yield "checks.refusal.harmful", checks.refusal.harmful, "prompt"
        if checks.refusal.benign is not None:
            yield "checks.refusal.benign", checks.refusal.benign, "prompt"
    if checks.collateral is not None:
        collateral = checks.collateral
        for i, ref in enumerate(collateral.datasets):
            yield f"checks.collateral.datasets.{i}", ref, "multiple_choice"
        if collateral.corpus is not None:
            yield "checks.collateral.corpus", collateral.corpus, "text"
        if collateral.prompts is not None:
            yield "checks.collateral.prompts", collateral.prompts, "prompt"


def check_checkpoint(target: CheckpointTarget, field: str, settings: Settings) -> Path:
    """The checkpoint directory resolved inside the model roots; else a 4xx AuditError naming `field`."""
    from evaluators.paths import resolve_inside

    resolved = _with_field(
        lambda: resolve_inside(target.path, settings.model_root_paths(), "checkpoint"), f"{field}.path"
    )
    if not resolved.is_dir():
        raise BadInputError(f"checkpoint path {target.path!r} is not a directory", field=f"{field}.path")
    return resolved


def validate_submission(request: EvaluationRequest, settings: Settings) -> None:
    """Raise an AuditError subclass (with `field` set) for the first part of `request` that cannot run.

    Touches the file system (paths, dataset files): call it off the event loop.
    """
    from evaluators.allowlist import check_url

    hosts = settings.allowed_host_list()
    for field, target in _targets(request):
        if isinstance(target, CheckpointTarget):
            check_checkpoint(target, field, settings)
        elif isinstance(target, SandboxTarget):
            from evaluators.sandbox import control_path  # imports torch: fine here, off the event loop

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
    for field, ref, kind in _datasets(request):
        _with_field(partial(validate_ref, ref, kind, roots, sandbox_dir, request.limit), field)


def _with_field(check: Callable[[], T], field: str) -> T:
    """Run `check()`; an AuditError it raises gets `field` (kept when it already names a sub-field)."""
    try:
        return check()
    except AuditError as exc:
        if not (exc.field and exc.field.startswith(field)):
            exc.field = f"{field}.{exc.field}" if exc.field else field
        raise
