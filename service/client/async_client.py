"""`AsyncClient`: the API over an `httpx.AsyncClient`, method for method as `Client`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
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


async def _notify(on_update: Callable[[Job], Awaitable[None] | None] | None, job: Job) -> None:
    if on_update is not None:
        outcome = on_update(job)
        if outcome is not None:
            await outcome


class AsyncClient:
    """The unlearn-audit API. `server` defaults to `$UNLEARN_AUDIT_SERVER`, `api_key` to
    `$UNLEARN_AUDIT_API_KEY`; `transport` is any async httpx transport (`httpx.ASGITransport` calls an app
    in process).
    Every method raises the `schemas.errors` class of the server's error code; an unreachable server is an
    `UnavailableError`. Use as an async context manager, or call `aclose()`."""

    def __init__(
        self,
        server: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = calls.DEFAULT_TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.server = calls.server_url(server)
        self._http = httpx.AsyncClient(
            base_url=self.server, headers=calls.auth_headers(api_key), timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: Call) -> httpx.Response:
        try:
            return await self._http.request(
                call.method, call.path, params=call.params, json=call.body, headers=call.headers
            )
        except httpx.TransportError as exc:
            raise unreachable(self.server, exc) from exc

    async def submit(
        self, request: EvaluationRequest | Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> Job:
        """Submit an evaluation; the queued job (or, for a repeated idempotency key, the job it made)."""
        call = calls.submit_call(request, idempotency_key)
        attempts = calls.SUBMIT_ATTEMPTS if idempotency_key else 1
        for attempt in range(attempts):
            try:
                return calls.read_job(await self._send(call))
            except UnavailableError:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(1 + attempt)
        raise AssertionError("unreachable")

    async def dry_run(self, request: EvaluationRequest | Mapping[str, Any]) -> DryRun:
        """What `submit(request)` would do, with nothing queued (see `Client.dry_run`)."""
        return calls.read_dry_run(await self._send(calls.dry_run_call(request)))

    async def job(self, job_id: str) -> Job:
        """One evaluation: status, progress, verdict once finished, error when failed."""
        return calls.read_job(await self._send(calls.job_call(job_id)))

    async def jobs(
        self,
        *,
        status: str | None = None,
        labels: Mapping[str, str] | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> JobPage:
        """A page of evaluations, newest first; pass `next_cursor` back as `cursor`."""
        return calls.read_job_page(await self._send(calls.jobs_call(status, labels, limit, cursor)))

    async def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running evaluation; the job as it stands."""
        return calls.read_job(await self._send(calls.cancel_call(job_id)))

    async def events(
        self, job_id: str, *, after: int = 0, read_timeout: float | None = None
    ) -> AsyncGenerator[JobEvent, None]:
        """The job's events (server-sent events) after event `after`, until the job has ended. `read_timeout`:
        the longest quiet spell to accept (default the client's timeout; the server writes a keep-alive
        every 15 s)."""
        call = calls.events_call(job_id, after)
        timeout = self._http.timeout if read_timeout is None else calls.stream_timeout(self._http.timeout, read_timeout)
        try:
            async with self._http.stream(
                call.method, call.path, params=call.params, headers=call.headers, timeout=timeout
            ) as response:
                if not calls.is_event_stream(response):
                    await response.aread()
                    raise_for_answer(response)
                    raise UnavailableError(f"{call.path} is not an event stream on {self.server}")
                parser = EventParser()
                async for line in response.aiter_lines():
                    event = parser.feed(line)
                    if event is not None:
                        yield event
        except httpx.TransportError as exc:
            raise unreachable(self.server, exc) from exc

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109  # the same call as Client.wait
        on_update: Callable[[Job], Awaitable[None] | None] | None = None,
    ) -> Job:
        """The job once it has ended, following its event stream (polling where the stream is unavailable
        or breaks). `on_update` sees the job at each change. `DeadlineExceededError` after `timeout` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        job = await self.job(job_id)
        await _notify(on_update, job)
        try:
            async with aclosing(self.events(job_id, read_timeout=calls.remaining(deadline))) as stream:
                async for _ in stream:
                    job = await self.job(job_id)
                    await _notify(on_update, job)
                    if calls.is_finished(job):
                        return job
                    if deadline is not None and time.monotonic() >= deadline:
                        break
        except AuditError:
            pass  # no stream on this server, or it broke: polling reports what is really wrong
        return await self._poll(job_id, deadline, timeout, on_update)

    async def _poll(
        self,
        job_id: str,
        deadline: float | None,
        timeout_s: float | None,
        on_update: Callable[[Job], Awaitable[None] | None] | None,
    ) -> Job:
        delay = calls.POLL_START_S
        while True:
            try:
                job = await self.job(job_id)
            except UnavailableError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise
            else:  # a transient outage of the API must not fail a long wait
                await _notify(on_update, job)
                if calls.is_finished(job):
                    return job
            if deadline is not None and time.monotonic() >= deadline:
                raise DeadlineExceededError(f"evaluation {job_id} has not ended after {timeout_s:g} s")
            await asyncio.sleep(delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic())))
            delay = calls.next_poll_delay(delay)

    async def scorecard(self, job_id: str) -> Scorecard:
        """The scorecard of a succeeded evaluation (`NotFinishedError` before)."""
        return calls.read_scorecard(await self._send(calls.scorecard_call(job_id)))

    async def scorecard_json(self, job_id: str) -> dict[str, Any]:
        """The scorecard exactly as stored (hashes and signatures over it stay valid)."""
        return calls.read_json(await self._send(calls.scorecard_call(job_id)))

    async def scorecard_text(self, job_id: str, fmt: ScorecardFormat) -> str:
        """The scorecard rendered by the server: json, markdown (a pull-request summary), junit (XML), html."""
        return calls.read_text(await self._send(calls.scorecard_call(job_id, fmt)))

    async def items(
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
        return calls.read_item_page(await self._send(calls.items_call(job_id, check, variant, model, limit, cursor)))

    async def iter_items(
        self, job_id: str, *, check: str | None = None, variant: str | None = None, model: str | None = None
    ) -> AsyncIterator[ItemRecord]:
        """Every per-item record, page after page."""
        cursor: str | None = None
        while True:
            page = await self.items(job_id, check=check, variant=variant, model=model, limit=1000, cursor=cursor)
            for item in page.items:
                yield item
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def attestation(self, job_id: str, kind: EnvelopeKind = "scorecard") -> dict[str, Any]:
        """The signed scorecard: a DSSE envelope of the scorecard, or (`kind="in-toto"`) of its in-toto Statement."""
        return calls.read_json(await self._send(calls.attestation_call(job_id, kind)))

    async def report_link(self, job_id: str, *, ttl_s: int | None = None) -> ReportLink:
        """A short-lived URL that opens the evaluation's HTML report without an API key (default 15 minutes)."""
        return calls.read_report_link(await self._send(calls.report_link_call(job_id, ttl_s)))

    async def signing_keys(self) -> dict[str, Any]:
        """`GET /v1/signing-keys`: every public key that signed scorecards, active and retired."""
        return calls.read_json(await self._send(calls.signing_keys_call()))

    async def verify(self, envelope: Mapping[str, Any], *, keys: Mapping[str, Any] | None = None) -> Scorecard:
        """The scorecard an envelope signs, checked offline against `keys` (a `signing_keys()` answer; fetched
        from the server when not given). `InvalidEnvelopeError` when no trusted key's signature checks."""
        return verify_attestation(envelope, keys if keys is not None else await self.signing_keys())
