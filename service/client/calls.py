"""The API's routes as requests to send and answers to read, shared by `Client` and `AsyncClient`."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import httpx

from schemas.dry_run import DryRun
from schemas.jobs import TERMINAL_STATUSES, ItemPage, Job, JobPage
from schemas.report_links import ReportLink
from schemas.requests import EvaluationRequest
from schemas.scorecard import Scorecard
from service.client.errors import raise_for_answer
from service.signing.intoto import EnvelopeKind

ScorecardFormat = Literal["json", "markdown", "junit", "html"]
"""json, markdown and junit from `/scorecard?format=`; html from `/report`."""

DEFAULT_SERVER = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT_S = 30.0
SUBMIT_ATTEMPTS = 3
"""Tries of a submission that has an idempotency key (a repeat returns the same job, so retrying is safe)."""
POLL_START_S, POLL_MAX_S = 0.5, 5.0


@dataclass(frozen=True)
class Call:
    """One HTTP request of the API: method, path under the base URL, query, JSON body, extra headers."""

    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def server_url(server: str | None) -> str:
    """`server`, else `$UNLEARN_AUDIT_SERVER`, else the local default."""
    return (server or os.environ.get("UNLEARN_AUDIT_SERVER") or DEFAULT_SERVER).rstrip("/")


def auth_headers(api_key: str | None) -> dict[str, str]:
    """The bearer header of `api_key`, else of `$UNLEARN_AUDIT_API_KEY`; none when neither is set."""
    key = api_key if api_key is not None else os.environ.get("UNLEARN_AUDIT_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


def _job_path(job_id: str, tail: str = "") -> str:
    return f"/v1/evaluations/{quote(job_id, safe='')}{tail}"


def submit_call(request: EvaluationRequest | Mapping[str, Any], idempotency_key: str | None) -> Call:
    body = request.model_dump(mode="json", exclude_unset=True) if isinstance(request, EvaluationRequest) else request
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return Call("POST", "/v1/evaluations", body=dict(body), headers=headers)


def dry_run_call(request: EvaluationRequest | Mapping[str, Any]) -> Call:
    body = request.model_dump(mode="json", exclude_unset=True) if isinstance(request, EvaluationRequest) else request
    return Call("POST", "/v1/evaluations", params={"dry_run": "true"}, body=dict(body))


def job_call(job_id: str) -> Call:
    return Call("GET", _job_path(job_id))


def cancel_call(job_id: str) -> Call:
    return Call("POST", _job_path(job_id, "/cancel"))


def jobs_call(status: str | None, labels: Mapping[str, str] | None, limit: int, cursor: str | None) -> Call:
    params: dict[str, Any] = {"limit": limit}
    if status:
        params["status"] = status
    if labels:
        params["label"] = [f"{key}:{value}" for key, value in labels.items()]
    if cursor:
        params["cursor"] = cursor
    return Call("GET", "/v1/evaluations", params=params)


def scorecard_call(job_id: str, fmt: ScorecardFormat = "json") -> Call:
    if fmt == "html":
        return Call("GET", _job_path(job_id, "/report"), headers={"Accept": "text/html"})
    return Call("GET", _job_path(job_id, "/scorecard"), params={"format": fmt})


def items_call(
    job_id: str, check: str | None, variant: str | None, model: str | None, limit: int, cursor: str | None
) -> Call:
    given = {"check": check, "variant": variant, "model": model, "cursor": cursor}
    params: dict[str, Any] = {"limit": limit, **{key: value for key, value in given.items() if value is not None}}
    return Call("GET", _job_path(job_id, "/items"), params=params)


def attestation_call(job_id: str, kind: EnvelopeKind = "scorecard") -> Call:
    params = {"format": kind} if kind != "scorecard" else {}
    return Call("GET", _job_path(job_id, "/attestation"), params=params)


def report_link_call(job_id: str, ttl_s: int | None) -> Call:
    return Call("POST", _job_path(job_id, "/report-links"), params={"ttl_s": ttl_s} if ttl_s is not None else {})


def signing_keys_call() -> Call:
    return Call("GET", "/v1/signing-keys")


def events_call(job_id: str, after: int) -> Call:
    return Call("GET", _job_path(job_id, "/events"), params={"after": after}, headers={"Accept": "text/event-stream"})


def read_job(response: httpx.Response) -> Job:
    raise_for_answer(response)
    return Job.model_validate(response.json())


def read_json(response: httpx.Response) -> dict[str, Any]:
    raise_for_answer(response)
    body: dict[str, Any] = response.json()
    return body


def read_text(response: httpx.Response) -> str:
    raise_for_answer(response)
    return response.text


def read_job_page(response: httpx.Response) -> JobPage:
    raise_for_answer(response)
    return JobPage.model_validate(response.json())


def read_item_page(response: httpx.Response) -> ItemPage:
    raise_for_answer(response)
    return ItemPage.model_validate(response.json())


def read_dry_run(response: httpx.Response) -> DryRun:
    raise_for_answer(response)
    return DryRun.model_validate(response.json())


def read_scorecard(response: httpx.Response) -> Scorecard:
    raise_for_answer(response)
    return Scorecard.model_validate(response.json())


def read_report_link(response: httpx.Response) -> ReportLink:
    raise_for_answer(response)
    return ReportLink.model_validate(response.json())


def is_event_stream(response: httpx.Response) -> bool:
    """A 200 answer that really is an event stream (a server without the route answers 404 or 405)."""
    return response.status_code == 200 and response.headers.get("content-type", "").startswith("text/event-stream")


def remaining(deadline: float | None) -> float | None:
    """Seconds left until a `time.monotonic()` deadline (at least 0.1), or None for no deadline."""
    return None if deadline is None else max(0.1, deadline - time.monotonic())


def stream_timeout(timeout: httpx.Timeout, read_s: float) -> httpx.Timeout:
    """The client's timeouts with the read timeout of a stream set to `read_s`."""
    return httpx.Timeout(connect=timeout.connect, read=read_s, write=timeout.write, pool=timeout.pool)


def is_finished(job: Job) -> bool:
    return job.status in TERMINAL_STATUSES


def next_poll_delay(delay: float) -> float:
    return min(delay * 1.5, POLL_MAX_S)
