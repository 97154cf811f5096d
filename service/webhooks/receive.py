"""What a verified registry event does: ignore it, record it, or submit an audit (once)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

from schemas.errors import AuditError, ProfileError
from service.routes.submission import checked_and_pinned
from service.settings import Settings
from service.store.api import JobStore
from service.webhooks.events import RegistryEvent
from service.webhooks.profiles import AuditProfile, build_request
from service.webhooks.stored import StoredProfiles
from service.writeback import target as writeback_target

WEBHOOK_OWNER = "webhook"
"""Owner of jobs submitted by webhooks (scopes their idempotency keys)."""


@dataclass(frozen=True)
class Outcome:
    """The HTTP answer to a registry: status code and JSON body."""

    status_code: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def dedupe_key(event: RegistryEvent) -> str:
    """The stored key: the event's own, hashed when too long for the column."""
    key = event.dedupe_key
    return key if len(key) <= 200 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def per_profile(event: RegistryEvent, profile: AuditProfile | None) -> RegistryEvent:
    """The event keyed as its profile asks: one audit per model version or commit (the default), or one per
    delivery (`audit_per: event`, where the registry gives delivery ids)."""
    if profile is None or profile.audit_per != "event" or not event.delivery_id:
        return event
    return replace(event, dedupe_key=f"{event.dedupe_key}#{event.delivery_id}")


def idempotency_key(event: RegistryEvent) -> str:
    raw = f"webhook:{event.registry}:{dedupe_key(event)}"
    return raw if len(raw) <= 255 else "webhook:" + hashlib.sha256(raw.encode()).hexdigest()


async def _record(
    store: JobStore, event: RegistryEvent, status: str, detail: str, profile: str | None, job_id: str | None
) -> None:
    await store.record_registry_delivery(
        event.registry,
        dedupe_key(event),
        event=event.event,
        model=event.model,
        status=status,
        detail=detail,
        profile=profile,
        job_id=job_id,
    )


async def handle_event(
    event: RegistryEvent, *, store: JobStore, profiles: StoredProfiles, settings: Settings
) -> Outcome:
    """202 ignored (not an audit event / no profile), 200 duplicate (already submitted), or 202 submitted
    with the job id. A profile that cannot build a runnable request is recorded and raised (ProfileError or
    the submit check's error, so the registry gets the same 4xx an API caller would); a team over its cap
    raises QuotaExceededError (429: the registry retries)."""
    if not event.starts_audit:
        return Outcome(202, {"status": "ignored", "reason": f"event {event.event!r} does not start an audit"})
    try:
        profile = await profiles.match(store, event)
    except ProfileError as exc:
        await _record(store, event, "invalid_profile", str(exc), None, None)
        raise
    event = per_profile(event, profile)
    earlier = await store.registry_delivery(event.registry, dedupe_key(event))
    if earlier is not None and earlier.status == "submitted":
        return Outcome(200, {"status": "duplicate", "job_id": earlier.job_id, "reason": "already submitted"})
    if profile is None:
        reason = f"no audit profile matches registry {event.registry!r} and model {event.model[:200]!r}"
        await _record(store, event, "no_profile", reason, None, None)
        return Outcome(202, {"status": "ignored", "reason": reason})
    try:
        request = build_request(profile, event)
        # The same checks as an API submit; profiles that need `unsafe` were saved by a key that has it.
        pins = await checked_and_pinned(request, settings, store, may_use_unsafe=True)
    except AuditError as exc:
        await _record(store, event, "invalid_profile", f"{exc.code}: {exc.message}", profile.name, None)
        raise
    # The idempotency key makes submission atomic: concurrent retries of one event get one job.
    job, created = await store.create_job(
        request,
        idempotency_key=idempotency_key(event),
        owner=WEBHOOK_OWNER,
        team=profile.team,
        limits=settings.team_limits(),
        resolved=pins.models,
        resolved_datasets=pins.datasets,
        write_back=(
            writeback_target.for_event(event, request, pins.models, settings, model_card_pr=profile.model_card_pr)
            if profile.write_back
            else None
        ),
    )
    await _record(store, event, "submitted", f"profile {profile.name}", profile.name, job.id)
    if not created:
        return Outcome(200, {"status": "duplicate", "job_id": job.id, "reason": "already submitted"})
    return Outcome(
        202,
        {"status": "submitted", "job_id": job.id, "profile": profile.name},
        {"Location": f"/v1/evaluations/{job.id}"},
    )
