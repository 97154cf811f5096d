"""The invariants every accepted job must meet, checked in the database and through the API."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import httpx
from pydantic import ValidationError

from bench.fault_bench.config import API_KEY, SERVICE_SETTINGS, SUBMIT_DEADLINE_S, TERMINAL, Options, timestamp
from bench.fault_bench.fleet import Fleet
from bench.fault_bench.observer import Observer, json_column
from bench.fault_bench.receiver import Answer, CallbackReceiver
from bench.fault_bench.schedule import Faults
from bench.fault_bench.submitting import Submission
from schemas.scorecard import Scorecard
from service.callbacks.deliver import STORE_PATIENCE_S
from service.signing import InvalidEnvelopeError, verify_envelope
from service.signing.keys import load_public_pems


@dataclass
class _Observed:
    """What the database holds after the run."""

    jobs: dict[str, Any]
    finished: Counter[str]
    finished_status: dict[str, Any]
    claimers: dict[str, list[str]]
    recorded_ok: set[str]


async def _observe(observer: Observer) -> _Observed:
    jobs = {
        r["id"]: r
        for r in await observer.fetch(
            "SELECT id, status, scorecard, verdict, error, lease_until, callback_due_at, attempts, "
            "idempotency_key FROM jobs"
        )
    }
    finished = Counter(
        {
            r["job_id"]: r["n"]
            for r in await observer.fetch(
                "SELECT job_id, count(*) AS n FROM job_events WHERE kind = 'job_finished' GROUP BY job_id"
            )
        }
    )
    finished_status = {
        r["job_id"]: json_column(r["data"]).get("status")
        for r in await observer.fetch("SELECT job_id, data FROM job_events WHERE kind = 'job_finished'")
    }
    claimers: dict[str, list[str]] = {}
    for r in await observer.fetch("SELECT job_id, data FROM job_events WHERE kind = 'job_claimed' ORDER BY id"):
        claimers.setdefault(r["job_id"], []).append(str(json_column(r["data"]).get("worker_id")))
    recorded_ok = {r["delivery_id"] for r in await observer.fetch("SELECT delivery_id FROM callback_attempts WHERE ok")}
    return _Observed(jobs, finished, finished_status, claimers, recorded_ok)


async def check(
    options: Options,
    observer: Observer,
    receiver: CallbackReceiver,
    client: httpx.AsyncClient,
    fleet: Fleet,
    subs: list[Submission],
    faults: Faults,
) -> dict[str, Any]:
    """The figures of the run and its violations (each a sentence naming the job)."""
    seen = await _observe(observer)
    answered = receiver.snapshot()
    keys = await _published_keys(client, fleet)
    violations = _submission_violations(subs, seen.jobs)
    for job_id, job in seen.jobs.items():
        violations += await _job_violations(options, client, fleet, keys, seen, job_id, job, answered.get(job_id, []))
    violations += [f"a callback was rejected by the receiver: {r}" for r in receiver.rejected]
    return _figures(options, receiver, fleet, subs, faults, seen, answered, violations)


def _submission_violations(subs: list[Submission], jobs: dict[str, Any]) -> list[str]:
    violations: list[str] = []
    for s in subs:
        if s.rejected is not None:
            violations.append(f"submission {s.index} was refused: {s.rejected}")
        elif s.job_id is None:
            violations.append(f"submission {s.index} was not accepted in {SUBMIT_DEADLINE_S:.0f} s: {s.failures[-3:]}")
    by_key = Counter(r["idempotency_key"] for r in jobs.values())
    violations += [f"Idempotency-Key {k} made {n} jobs" for k, n in by_key.items() if n > 1]
    accepted = [s for s in subs if s.job_id is not None]
    violations += [f"job {s.job_id} was accepted but is not in the database" for s in accepted if s.job_id not in jobs]
    return violations


async def _job_violations(
    options: Options,
    client: httpx.AsyncClient,
    fleet: Fleet,
    keys: dict[str, Any],
    seen: _Observed,
    job_id: str,
    job: Any,
    answers: list[Answer],
) -> list[str]:
    """One job: terminal with a verifying scorecard or an error, ended once, no lease or callback left, its
    callback answered once (or again only after its sender was killed), each delivery valid."""
    violations: list[str] = []
    status = job["status"]
    if status not in TERMINAL:
        violations.append(f"job {job_id} is still {status} (attempts {job['attempts']})")
    elif status == "succeeded":
        violations += await _check_scorecard(client, fleet, keys, job_id, json_column(job["scorecard"]))
    else:
        error = json_column(job["error"]) or {}
        if not (error.get("code") and error.get("message")):
            violations.append(f"job {job_id} is {status} without an error code and message: {error}")
    if seen.finished[job_id] != 1:
        violations.append(f"job {job_id} has {seen.finished[job_id]} job_finished events (expected exactly 1)")
    elif seen.finished_status.get(job_id) != status:
        violations.append(f"job {job_id} is {status} but its job_finished event says {seen.finished_status[job_id]}")
    if job["lease_until"] is not None:
        violations.append(f"job {job_id} still has a lease until {job['lease_until']}")
    if job["callback_due_at"] is not None:
        violations.append(f"job {job_id} still owes its callback (due {job['callback_due_at']})")
    if not answers:
        violations.append(f"job {job_id}: its callback was never answered 2xx")
    elif len(answers) > 1 and (options.strict_once or not _lost_to_kills(answers, fleet.killed)):
        violations.append(f"job {job_id}: its callback was answered 2xx {len(answers)} times")
    for answer in answers:
        violations += _check_callback(keys, job_id, status, answer.payload)
    return violations


def _figures(
    options: Options,
    receiver: CallbackReceiver,
    fleet: Fleet,
    subs: list[Submission],
    faults: Faults,
    seen: _Observed,
    answered: dict[str, list[Answer]],
    violations: list[str],
) -> dict[str, Any]:
    jobs = seen.jobs
    accepted = [s for s in subs if s.job_id is not None]
    killed = {k["worker_id"] for k in faults.kills if k["worker_id"] is not None}
    # Each claim after a job's first took it from the claimer before: a killed worker, or a live one whose
    # lease lapsed (the database unreachable for longer than its lease, or its event loop blocked).
    taken_from = [ids[i - 1] for ids in seen.claimers.values() for i in range(1, len(ids))]
    from_killed = sum(1 for worker_id in taken_from if worker_id in killed)
    statuses = Counter(j["status"] for j in jobs.values())
    worker_kills = [k for k in faults.kills if k["victim"].startswith("worker")]
    return {
        "date": timestamp(),
        "options": {
            "jobs": options.jobs,
            "kills": options.kills,
            "pg_restart": options.pg_restart,
            "seed": options.seed,
            "kill_every_s": options.kill_every_s,
            "pg_down_s": options.pg_down_s,
            "receiver_delay_s": options.receiver_delay_s,
            "kills_during_restart": options.kills_during_restart,
            "strict_once": options.strict_once,
            "api_processes": options.api_processes,
            "workers": options.workers,
            "service_settings": SERVICE_SETTINGS,
        },
        "jobs": {
            "submitted": len(subs),
            "accepted": len(accepted),
            "accepted_on_retry": sum(1 for s in accepted if s.failures),
            "answered_200_as_a_retry": sum(1 for s in accepted if s.status_code == 200),
            "failed_submit_attempts": dict(Counter(f for s in subs for f in s.failures)),
            "in_database": len(jobs),
            "by_status": dict(statuses),
            "errors": dict(Counter(str(e.get("code")) for j in jobs.values() if (e := json_column(j["error"])))),
            "resumed_after_lost_lease": sum(1 for j in jobs.values() if j["attempts"] > 1),
            "most_attempts": max((j["attempts"] for j in jobs.values()), default=0),
            "claims_taken_from_a_killed_worker": from_killed,
            "claims_taken_from_a_live_worker": len(taken_from) - from_killed,
        },
        "kills": {
            "api": sum(1 for k in faults.kills if k["victim"].startswith("api")),
            "worker": len(worker_kills),
            "worker_kills_holding_a_job": sum(1 for k in worker_kills if k["held_a_job"]),
            "unexpected_exits": dict(fleet.unexpected_exits),
            "schedule": faults.kills,
        },
        "pg_restart": {"at_s": faults.pg_restart_at_s, **faults.pg_restart},
        "callbacks": {
            "answered_2xx": sum(len(v) for v in answered.values()),
            "jobs_answered": len(answered),
            "duplicates": sum(len(v) - 1 for v in answered.values() if len(v) > 1),
            "duplicates_after_the_sender_was_killed": sum(
                len(v) - 1 for v in answered.values() if len(v) > 1 and _lost_to_kills(v, fleet.killed)
            ),
            "answered_2xx_not_recorded_ok": sum(
                1 for v in answered.values() for a in v if a.delivery_id not in seen.recorded_ok
            ),
            "duplicate_evidence": _duplicate_evidence(answered, seen.recorded_ok, fleet.killed, faults.began),
            "rejected": len(receiver.rejected),
        },
        "violations": violations,
    }


async def _published_keys(client: httpx.AsyncClient, fleet: Fleet) -> dict[str, Any]:
    """The public keys the deployment publishes (GET /v1/signing-keys), as an outside verifier gets them: the
    signing keys live in the database, shared by every API process and worker."""
    resp = await client.get(f"{fleet.api_urls[0]}/v1/signing-keys")
    resp.raise_for_status()
    keys: dict[str, Any] = {}
    for entry in resp.json()["keys"]:
        keys.update(load_public_pems(entry["public_key_pem"]))
    return keys


async def _check_scorecard(
    client: httpx.AsyncClient, fleet: Fleet, keys: dict[str, Any], job_id: str, stored: dict[str, Any] | None
) -> list[str]:
    """The stored scorecard is a scorecard of this job with a figure, and its attestation verifies."""
    if stored is None:
        return [f"job {job_id} succeeded without a scorecard"]
    try:
        card = Scorecard.model_validate(stored)
    except ValidationError as exc:
        return [f"job {job_id}: its stored scorecard is not a valid scorecard: {exc}"]
    problems = []
    forget = card.checks.forget
    headline = forget.headline if forget is not None else None
    if card.evaluation_id != job_id or headline is None or headline.ci_low is None or headline.n < 1:
        problems.append(f"job {job_id}: its scorecard lacks the forget figure with n and an interval")
    url = f"{fleet.api_urls[0]}/v1/evaluations/{job_id}/attestation"
    resp = await client.get(url, headers={"Authorization": f"Bearer {API_KEY}"})
    if resp.status_code != 200:
        return [*problems, f"job {job_id}: attestation answered HTTP {resp.status_code}"]
    try:
        signed = verify_envelope(resp.json(), keys)
    except InvalidEnvelopeError as exc:
        return [*problems, f"job {job_id}: attestation does not verify: {exc}"]
    if signed != card:
        problems.append(f"job {job_id}: the attested scorecard differs from the stored one")
    return problems


def _lost_to_kills(answers: list[Answer], killed: dict[int, float]) -> bool:
    """Whether each answer but the last went to a process SIGKILLed before the next answer, while it could
    still be recording the 2xx (STORE_PATIENCE_S): the callback then stayed owed and was delivered again, as
    at-least-once delivery allows (receivers dedupe on `evaluation_id`). Any other second 2xx is a duplicate
    the service owes an explanation for."""
    for answer, redelivered in pairwise(answers):
        killed_at = killed.get(answer.sender_pid) if answer.sender_pid is not None else None
        if killed_at is None or not answer.at <= killed_at <= min(redelivered.at, answer.at + STORE_PATIENCE_S):
            return False
    return True


def _duplicate_evidence(
    answered: dict[str, list[Answer]], recorded_ok: set[str], killed: dict[int, float], began: float
) -> list[dict[str, Any]]:
    """For each callback answered 2xx more than once, each answer: when, whether the service recorded it as
    delivered, and whether (and how soon after) the process that sent it was SIGKILLed."""
    evidence = []
    for job_id, answers in answered.items():
        if len(answers) < 2:
            continue
        rows = []
        for a in answers:
            killed_at = killed.get(a.sender_pid) if a.sender_pid is not None else None
            rows.append(
                {
                    "t_s": round(a.at - began, 2),
                    "recorded_ok": a.delivery_id in recorded_ok,
                    "sender_pid": a.sender_pid,
                    "sender_killed_after_s": round(killed_at - a.at, 3) if killed_at is not None else None,
                }
            )
        evidence.append({"job": job_id, "answers": rows})
    return evidence


def _check_callback(keys: dict[str, Any], job_id: str, status: str, body: dict[str, Any]) -> list[str]:
    if body.get("status") != status:
        return [f"job {job_id}: a callback said {body.get('status')} but the job is {status}"]
    envelope = body.get("scorecard_envelope")
    if status != "succeeded":
        return [] if envelope is None else [f"job {job_id}: a {status} job's callback carried a scorecard"]
    try:
        card = verify_envelope(envelope or {}, keys)
    except InvalidEnvelopeError as exc:
        return [f"job {job_id}: the callback's envelope does not verify: {exc}"]
    return [] if card.evaluation_id == job_id else [f"job {job_id}: the callback carried {card.evaluation_id}'s card"]
