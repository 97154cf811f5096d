"""Writing an ended audit back to its registry: tags on an MLflow model version, a comment on a Hub pull
request (or a new discussion for a push to a branch) and, when the profile asks, a pull request that adds
the results to the model card's `model-index`.

Each attempt is recorded with the job's deliveries (channel `mlflow` or `huggingface`) and retried with
backoff when the registry is unreachable or busy; a refusal (no credentials, access denied) is recorded and
not retried. Nothing here can change or fail the audit: it has ended before its write-back is due.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from evaluators.net import OutboundPolicy
from schemas.errors import AuditError, ModelUnreachableError
from schemas.jobs import Job
from schemas.sources import WriteBack
from service.callbacks.deliver import DeliveryResult, store_patiently
from service.settings import Settings
from service.store.api import JobStore
from service.store.convert import utcnow
from service.store.outside import DeliveryAttempt
from service.writeback import content

Sleep = Callable[[float], Awaitable[None]]
CHANNELS = {"hf": "huggingface", "mlflow": "mlflow"}


class NotSent(Exception):
    """A write-back that cannot be sent as configured (no credentials): recorded once, not retried."""


async def _to_mlflow(target: WriteBack, job: Job, scorecard: dict[str, Any] | None, settings: Settings) -> str:
    from evaluators.models.factory import operator_mlflow_auth
    from evaluators.registries.mlflow import MLflowRegistry

    assert target.name is not None and target.version is not None
    policy = OutboundPolicy(settings.allowed_host_list(), settings.allow_link_local)
    tags = content.mlflow_tags(job, scorecard, settings.public_url)
    async with MLflowRegistry(target.endpoint, policy, auth=operator_mlflow_auth(settings)) as r:
        for key, value in tags.items():
            await r.set_model_version_tag(target.name, target.version, key, value)
    return f"{len(tags)} tags on {target.name} version {target.version}"


def _to_hub(target: WriteBack, job: Job, scorecard: dict[str, Any] | None, settings: Settings) -> str:
    """Sync (huggingface_hub): comment on the PR or open a discussion; optionally a model-card PR."""
    from huggingface_hub import HfApi, errors

    if settings.hub_write_token is None:
        raise NotSent("not sent: set UNLEARN_AUDIT_HUB_WRITE_TOKEN to comment on the Hub")
    assert target.repo is not None
    api = HfApi(endpoint=target.endpoint, token=settings.hub_write_token.get_secret_value())
    text = content.hub_comment(job, scorecard, settings.public_url, target.revision)
    try:
        if target.pr is not None:
            api.comment_discussion(target.repo, target.pr, text)
            done = f"commented on {target.repo}#{target.pr}"
        else:
            title = (
                f"unlearn-audit: {scorecard['verdict'] if scorecard else job.status} for {(target.revision or '')[:12]}"
            )
            created = api.create_discussion(target.repo, title=title, description=text)
            done = f"opened discussion {target.repo}#{created.num}"
        if target.model_card_pr and scorecard is not None:
            done += " and " + _model_card_pr(
                api, target.repo, content.model_index(target.repo, scorecard, settings.public_url)
            )
    except (errors.HfHubHTTPError, OSError) as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status is not None and 400 <= status < 500 and status not in (408, 429):
            raise AuditError(f"the Hub refused the write-back (HTTP {status}): {str(exc)[:300]}") from exc
        raise ModelUnreachableError(f"the Hub did not take the write-back: {str(exc)[:300]}") from exc
    return done


def _model_card_pr(api: Any, repo: str, metadata: dict[str, Any]) -> str:
    """A pull request that sets the card's `model-index` (the rest of README.md kept), on `api`'s endpoint."""
    import tempfile
    from pathlib import Path

    from huggingface_hub import CommitOperationAdd, errors
    from huggingface_hub.repocard import metadata_load, metadata_save

    with tempfile.TemporaryDirectory() as tmp:
        card = Path(tmp) / "README.md"
        try:
            card.write_bytes(Path(api.hf_hub_download(repo, "README.md", local_dir=tmp + "/in")).read_bytes())
        except errors.EntryNotFoundError:
            card.write_text("")
        data = metadata_load(card) or {}
        data.update(metadata)
        metadata_save(card, data)
        commit = api.create_commit(
            repo,
            [CommitOperationAdd("README.md", str(card))],
            commit_message="Add unlearn-audit results to the model card",
            create_pr=True,
        )
    return f"model-card pull request {commit.pr_url or commit.commit_url}"


async def write_back(
    store: JobStore, settings: Settings, job_id: str, *, sleep: Sleep = asyncio.sleep
) -> DeliveryResult | None:
    """Write an ended job's result back to its registry; None when it has no write-back. Retries what may pass
    later (unreachable, 5xx, 429) with the callback backoff; records every attempt."""
    target = await store.write_back_of(job_id)
    job = await store.get_job(job_id)
    if target is None or job is None:
        return None
    scorecard = await store.get_scorecard(job_id)
    channel = CHANNELS[target.registry]
    delivery_id = str(uuid.uuid4())
    where = target.endpoint + (f" {target.repo}" if target.repo else f" {target.name}/{target.version}")

    async def record(n: int, ok: bool, error: str | None, took: float | None) -> None:
        attempt = DeliveryAttempt(delivery_id, n, where, ok, None, error, took, utcnow(), channel=channel)
        await store_patiently(
            partial(store.record_delivery_attempt, job_id, attempt), f"job {job_id}: write-back", sleep
        )

    error: str | None = None
    for n in range(1, settings.callback_max_attempts + 1):
        started = time.monotonic()
        try:
            if target.registry == "mlflow":
                done = await _to_mlflow(target, job, scorecard, settings)
            else:
                done = await asyncio.to_thread(_to_hub, target, job, scorecard, settings)
        except NotSent as exc:
            await record(0, False, str(exc), None)
            return DeliveryResult(delivery_id, False, 0, str(exc))
        except ModelUnreachableError as exc:
            error = f"{exc.code}: {exc.message}"
            await record(n, False, error, time.monotonic() - started)
        except AuditError as exc:  # refused: access, a missing model version, a bad request
            error = f"{exc.code}: {exc.message}"
            await record(n, False, f"{error} (not retried)", time.monotonic() - started)
            return DeliveryResult(delivery_id, False, n, error)
        else:
            await record(n, True, done, time.monotonic() - started)
            return DeliveryResult(delivery_id, True, n, None)
        if n < settings.callback_max_attempts:
            await sleep(settings.callback_backoff_s * 2 ** (n - 1))
    return DeliveryResult(delivery_id, False, settings.callback_max_attempts, error)
