"""What a verified registry event does: ignore it, record it, or submit an audit (once)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from service.store.api import JobStore
from service.webhooks.events import RegistryEvent
from service.webhooks.log import WebhookEventLog, dedupe_key
from service.webhooks.profiles import ProfileError, ProfileFile, build_request

WEBHOOK_OWNER = "webhook"
"""Owner of jobs submitted by webhooks (scopes their idempotency keys)."""


@dataclass(frozen=True)
class Outcome:
    """The HTTP answer to a registry: status code and JSON body."""

    status_code: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def idempotency_key(event: RegistryEvent) -> str:
    raw = f"webhook:{event.registry}:{dedupe_key(event)}"
    return raw if len(raw) <= 255 else "webhook:" + hashlib.sha256(raw.encode()).hexdigest()


async def handle_event(
    event: RegistryEvent, *, store: JobStore, profiles: ProfileFile, log: WebhookEventLog
) -> Outcome:
    """202 ignored (not an audit event / no profile), 422 (profile cannot build a request),
    200 duplicate (already submitted), or 202 submitted with the job id."""
    if not event.starts_audit:
        return Outcome(202, {"status": "ignored", "reason": f"event {event.event!r} does not start an audit"})
    earlier = await log.get(event.registry, dedupe_key(event))
    if earlier is not None and earlier.status == "submitted":
        return Outcome(200, {"status": "duplicate", "job_id": earlier.job_id, "reason": "already submitted"})
    try:
        profile = profiles.match(event)
    except ProfileError as exc:
        await log.record(event, status="invalid_profile", detail=str(exc), profile=None, job_id=None)
        return Outcome(422, {"error": {"code": "invalid_profile", "message": str(exc)}})
    if profile is None:
        reason = f"no audit profile matches registry {event.registry!r} and model {event.model!r}"
        await log.record(event, status="no_profile", detail=reason, profile=None, job_id=None)
        return Outcome(202, {"status": "ignored", "reason": reason})
    try:
        request = build_request(profile, event)
    except ProfileError as exc:
        await log.record(event, status="invalid_profile", detail=str(exc), profile=profile.name, job_id=None)
        return Outcome(422, {"error": {"code": "invalid_profile", "message": str(exc)}})
    # The idempotency key makes submission atomic: concurrent retries of one event get one job.
    job, created = await store.create_job(
        request, idempotency_key=idempotency_key(event), owner=WEBHOOK_OWNER
    )
    await log.record(
        event, status="submitted", detail=f"profile {profile.name}", profile=profile.name, job_id=job.id
    )
    if not created:
        return Outcome(200, {"status": "duplicate", "job_id": job.id, "reason": "already submitted"})
    return Outcome(
        202,
        {"status": "submitted", "job_id": job.id, "profile": profile.name},
        {"Location": f"/v1/evaluations/{job.id}"},
    )
