"""Where an audit's result goes back, decided at submit: the registry whose event started it, or, when an
API request asks (`write_back: true`), the registry its target was fetched from."""

from __future__ import annotations

from collections.abc import Mapping

from schemas.errors import InvalidRequestError
from schemas.requests import EvaluationRequest
from schemas.sources import ModelSource, WriteBack
from schemas.targets import HubTarget, MLflowTarget
from service.settings import Settings
from service.webhooks.events import RegistryEvent


def _pr_number(ref: str) -> int | None:
    number = ref.removeprefix("refs/pr/")
    return int(number) if ref.startswith("refs/pr/") and number.isdigit() else None


def for_request(
    request: EvaluationRequest, resolved: Mapping[str, ModelSource], settings: Settings
) -> WriteBack | None:
    """The write-back an API request asks for; InvalidRequestError when its target is not in a registry."""
    if not request.write_back:
        return None
    target, source = request.target, resolved.get("target")
    if isinstance(target, HubTarget) and source is not None:
        return WriteBack(
            registry="hf",
            endpoint=source.endpoint,
            repo=target.repo,
            revision=source.revision,
            pr=_pr_number(target.revision),
        )
    if isinstance(target, MLflowTarget) and source is not None and source.name and source.version:
        return WriteBack(registry="mlflow", endpoint=source.endpoint, name=source.name, version=source.version)
    raise InvalidRequestError(
        "write_back needs a target of kind `hf` or `mlflow` (a registry model version to write back to)",
        field="write_back",
    )


def for_event(
    event: RegistryEvent,
    request: EvaluationRequest,
    resolved: Mapping[str, ModelSource],
    settings: Settings,
    *,
    model_card_pr: bool = False,
) -> WriteBack | None:
    """The write-back of an audit a registry started: a comment on the Hub pull request (a discussion for a
    push to a branch), or tags on the MLflow model version; None for registries we do not write back to."""
    if event.registry == "huggingface" and event.revision:
        return WriteBack(
            registry="hf",
            endpoint=settings.hub_endpoint.rstrip("/"),
            repo=event.model,
            revision=event.revision,
            pr=_pr_number(event.extra.get("ref", "")),
            model_card_pr=model_card_pr,
        )
    if event.registry == "mlflow" and event.model and event.version:
        source = resolved.get("target")
        endpoint = (
            source.endpoint
            if source is not None and source.registry == "mlflow"
            else (request.target.tracking_uri if isinstance(request.target, MLflowTarget) else None)
            or settings.mlflow_tracking_uri
        )
        if endpoint:
            return WriteBack(registry="mlflow", endpoint=endpoint, name=event.model, version=event.version)
    return None
