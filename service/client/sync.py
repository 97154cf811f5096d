"""`Client`: the API over a blocking `httpx.Client`."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import closing
from typing import Any

import httpx

from schemas.dry_run import DryRun
from schemas.errors import AuditError, DeadlineExceededError, UnavailableError
from schemas.jobs import ItemPage, ItemRecord, Job, JobPage
from schemas.report_links import ReportLink
from schemas.requests import EvaluationRequest
from schemas.scorecard import Scorecard
from service.client import calls
from service.client.calls import Call, ScorecardFormat
from service.client.errors import raise_for_answer, unreachable
from service.client.sse import EventParser, JobEvent
from service.client.verify import verify_attestation
from service.signing.intoto import EnvelopeKind


class Client:
    """The unlearn-audit API. `server` defaults to `$UNLEARN_AUDIT_SERVER`, `api_key` to
    `$UNLEARN_AUDIT_API_KEY`; `transport` is any httpx transport (`httpx.MockTransport`, a proxy's).
    Every method raises the `schemas.errors` class of the server's error code; an unreachable server is an
    `UnavailableError`. Use as a context manager, or call `close()`."""

    def __init__(
        self,
        server: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = calls.DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.server = calls.server_url(server)
        self._http = httpx.Client(
            base_url=self.server, headers=calls.auth_headers(api_key), timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: Call) -> httpx.Response:
        try:
            return self._http.request(call.method, call.path, params=call.params, json=call.body, headers=call.headers)
        except httpx.TransportError as exc:
            raise unreachable(self.server, exc) from exc

    def submit(self, request: EvaluationRequest | Mapping[str, Any], *, idempotency_key: str | None = None) -> Job:
        """Submit an evaluation; the queued job (or, for a repeated idempotency key, the job it made)."""
        call = calls.submit_call(request, idempotency_key)
        attempts = calls.SUBMIT_ATTEMPTS if idempotency_key else 1
        for attempt in range(attempts):
            try:
                return calls.read_job(self._send(call))
            except UnavailableError:
                if attempt == attempts - 1:
                    raise
                time.sleep(1 + attempt)
        raise AssertionError("unreachable")

    def dry_run(self, request: EvaluationRequest | Mapping[str, Any]) -> DryRun:
        """What `submit(request)` would do, with nothing queued: the request resolved, models pinned, item counts
        per dataset, the checks and attacks that would run, an estimated time. A bad request raises as `submit`."""
        return calls.read_dry_run(self._send(calls.dry_run_call(request)))

    def job(self, job_id: str) -> Job:
        """One evaluation: status, progress, verdict once finished, error when failed."""
        return calls.read_job(self._send(calls.job_call(job_id)))

    def jobs(
        self,
        *,
        status: str | None = None,
        labels: Mapping[str, str] | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> JobPage:
        """A page of evaluations, newest first; pass `next_cursor` back as `cursor`."""
        return calls.read_job_page(self._send(calls.jobs_call(status, labels, limit, cursor)))

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running evaluation; the job as it stands."""
        return calls.read_job(self._send(calls.cancel_call(job_id)))

    def events(
        self, job_id: str, *, after: int = 0, read_timeout: float | None = None
    ) -> Generator[JobEvent, None, None]:
        """The job's events (server-sent events) after event `after`, until the job has ended. `read_timeout`:
        the longest quiet spell to accept (default the client's timeout; the server writes a keep-alive
        every 15 s)."""
        call = calls.events_call(job_id, after)
        timeout = self._http.timeout if read_timeout is None else calls.stream_timeout(self._http.timeout, read_timeout)
        try:
            with self._http.stream(
                call.method, call.path, params=call.params, headers=call.headers, timeout=timeout
            ) as response:
                if not calls.is_event_stream(response):
                    response.read()
                    raise_for_answer(response)
                    raise UnavailableError(f"{call.path} is not an event stream on {self.server}")
                parser = EventParser()
                for line in response.iter_lines():
                    event = parser.feed(line)
                    if event is not None:
                        yield event
        except httpx.TransportError as exc:
            raise unreachable(self.server, exc) from exc

    def wait(self, job_id: str, *, timeout: float | None = None, on_update: Callable[[Job], None] | None = None) -> Job:
        """The job once it has ended, following its event stream (polling where the stream is unavailable
        or breaks). `on_update` sees the job at each change. `DeadlineExceededError` after `timeout` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        job = self.job(job_id)
        if on_update:
            on_update(job)
        try:
            with closing(self.events(job_id, read_timeout=calls.remaining(deadline))) as stream:
                for _ in stream:
                    job = self.job(job_id)
                    if on_update:
                        on_update(job)
                    if calls.is_finished(job):
                        return job
                    if deadline is not None and time.monotonic() >= deadline:
                        break
        except AuditError:
            pass  # no stream on this server, or it broke: polling reports what is really wrong
        return self._poll(job_id, deadline, timeout, on_update)

    def _poll(
        self, job_id: str, deadline: float | None, timeout: float | None, on_update: Callable[[Job], None] | None
    ) -> Job:
        delay = calls.POLL_START_S
        while True:
            try:
                job = self.job(job_id)
            except UnavailableError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise
            else:  # a transient outage of the API must not fail a long wait
                if on_update:
                    on_update(job)
                if calls.is_finished(job):
                    return job
            if deadline is not None and time.monotonic() >= deadline:
                raise DeadlineExceededError(f"evaluation {job_id} has not ended after {timeout:g} s")
            time.sleep(delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic())))
            delay = calls.next_poll_delay(delay)

    def scorecard(self, job_id: str) -> Scorecard:
        """The scorecard of a succeeded evaluation (`NotFinishedError` before)."""
        return calls.read_scorecard(self._send(calls.scorecard_call(job_id)))

    def scorecard_json(self, job_id: str) -> dict[str, Any]:
        """The scorecard exactly as stored (hashes and signatures over it stay valid)."""
        return calls.read_json(self._send(calls.scorecard_call(job_id)))

    def scorecard_text(self, job_id: str, fmt: ScorecardFormat) -> str:
        """The scorecard rendered by the server: json, markdown (a pull-request summary), junit (XML), html."""
        return calls.read_text(self._send(calls.scorecard_call(job_id, fmt)))

    def items(
        self,
        job_id: str,
        *,
        check: str | None = None,
        variant: str | None = None,
        model: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> ItemPage:
        """A page of per-item records (needs the `items` scope); pass `next_cursor` back as `cursor`."""
        return calls.read_item_page(self._send(calls.items_call(job_id, check, variant, model, limit, cursor)))

    def iter_items(
        self, job_id: str, *, check: str | None = None, variant: str | None = None, model: str | None = None
    ) -> Iterator[ItemRecord]:
        """Every per-item record, page after page."""
        cursor: str | None = None
        while True:
            page = self.items(job_id, check=check, variant=variant, model=model, limit=1000, cursor=cursor)
            yield from page.items
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def attestation(self, job_id: str, kind: EnvelopeKind = "scorecard") -> dict[str, Any]:
        """The signed scorecard: a DSSE envelope of the scorecard, or (`kind="in-toto"`) of its in-toto Statement."""
        return calls.read_json(self._send(calls.attestation_call(job_id, kind)))

    def report_link(self, job_id: str, *, ttl_s: int | None = None) -> ReportLink:
        """A short-lived URL that opens the evaluation's HTML report without an API key (default 15 minutes)."""
        return calls.read_report_link(self._send(calls.report_link_call(job_id, ttl_s)))

    def signing_keys(self) -> dict[str, Any]:
        """`GET /v1/signing-keys`: every public key that signed scorecards, active and retired."""
        return calls.read_json(self._send(calls.signing_keys_call()))

    def verify(self, envelope: Mapping[str, Any], *, keys: Mapping[str, Any] | None = None) -> Scorecard:
        """The scorecard an envelope signs, checked offline against `keys` (a `signing_keys()` answer; fetched
        from the server when not given). `InvalidEnvelopeError` when no trusted key's signature checks."""
        return verify_attestation(envelope, keys if keys is not None else self.signing_keys())
