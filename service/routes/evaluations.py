"""/v1/evaluations: submit, list, read, scorecard, attestation, per-item records, events, cancel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example, OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter
from litestar.response import ServerSentEvent

from schemas.dry_run import DryRun
from schemas.errors import (
    AlreadyFinishedError,
    BadParameterError,
    IdempotencyConflictError,
    NotFinishedError,
)
from schemas.jobs import TERMINAL_STATUSES, ItemPage, Job, JobPage, JobStatus
from schemas.requests import EvaluationRequest
from schemas.scorecard import Scorecard
from service.auth import current_principal
from service.dry_run import plan_dry_run
from service.errors import error_responses
from service.events import EventStreamMessage, job_event_stream, resume_point
from service.reports import REPORT_FORMATS, negotiate, render_scorecard
from service.routes.deps import SettingsDep, StoreDep, team_filter, visible_job
from service.routes.keyed import KeyedController, needs_scope
from service.routes.submission import checked_and_pinned
from service.signing.intoto import EnvelopeKind
from service.signing.routes import sign_for
from service.store.api import JobStore
from service.store.convert import MAX_ROW_ID
from service.writeback import target as writeback_target

_MAX_IDEMPOTENCY_KEY = 200


def _location(job: Job) -> str:
    return f"/v1/evaluations/{job.id}"


_MAX_LABEL_FILTERS = 20


def _parse_labels(labels: list[str] | None) -> dict[str, str] | None:
    # Checked here rather than by the parameter's validation: a bad label filter answers `bad_request`.
    if not labels:
        return None
    if len(labels) > _MAX_LABEL_FILTERS:
        raise BadParameterError(f"at most {_MAX_LABEL_FILTERS} label filters", field="label")
    parsed: dict[str, str] = {}
    for label in labels:
        key, sep, value = label.partition(":")
        if not sep or not key or len(key) > 100 or len(value) > 500:
            raise BadParameterError(
                f"label filter {label[:80]!r} must be `key:value` (key 1-100, value up to 500 characters)",
                field="label",
            )
        parsed[key] = value
    return parsed


@dataclass
class _ScorecardOperation(Operation):
    """The scorecard's 200 in every format it is served in (Litestar documents one media type per status)."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            text = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
            ok.content = {**ok.content, "text/markdown": text, "application/xml": text}


async def _stored_scorecard(store: JobStore, job_id: str, request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The stored scorecard; 404 unknown, 409 with the job's status (and error) while there is none."""
    job = await visible_job(store, job_id, request)
    if job.status != "succeeded":
        if job.status in TERMINAL_STATUSES:
            reason = f": {job.error.code}: {job.error.message}" if job.error else ""
            message = f"evaluation {job_id} ended `{job.status}`{reason}; it has no scorecard"
        else:
            message = f"evaluation {job_id} is `{job.status}`; the scorecard is available once it has succeeded"
        raise NotFinishedError(message)
    scorecard = await store.get_scorecard(job_id)
    if scorecard is None:
        raise NotFinishedError(f"evaluation {job_id} has no stored scorecard")
    return scorecard


class EvaluationController(KeyedController):
    """/v1/evaluations: submit, list, read, scorecard, attestation, per-item records, events, cancel (`read` but
    where a handler names another scope)."""

    path = "/v1/evaluations"
    opt = needs_scope("read")

    @post(
        "/",
        status_code=202,
        opt={"scope": "submit"},
        summary="Submit an evaluation",
        description="Stores a queued job and answers 202 with it and a `Location` header. With an "
        "`Idempotency-Key`, a retried call with the same body gets the same job (200); the same key with "
        "another body is a 409. Paths, URLs, secret names, unsafe options and datasets are checked before the "
        "job is stored (4xx naming the field). A team at its cap of queued and running jobs gets 429. With "
        "`?dry_run=true` the same checks run and nothing is stored: 200 with a `DryRun` (the request resolved, "
        "models pinned, item counts per dataset, the checks and attacks that would run, an estimated time).",
        responses={
            202: ResponseSpec(
                data_container=Job,
                description="Queued: the job (its `Location` header names it).",
                generate_examples=False,
            ),
            200: ResponseSpec(
                data_container=Job | DryRun,  # type: ignore[arg-type]  # Litestar documents a union as oneOf
                description="A retried call: the job of this Idempotency-Key (`Job`); "
                "or a dry run's answer (`DryRun`).",
                generate_examples=False,
            ),
            **error_responses(400, 401, 403, 409, 413, 415, 422, 429),
        },
    )
    async def submit_evaluation(
        self,
        request: Request[Any, Any, State],
        data: JSONBody[EvaluationRequest],
        store: StoreDep,
        settings: SettingsDep,
        idempotency_key: Annotated[
            str | None, HeaderParameter(name="Idempotency-Key", required=False, max_length=_MAX_IDEMPOTENCY_KEY)
        ] = None,
        dry_run: Annotated[
            bool,
            QueryParameter(
                description="Check the request and answer what the submit would do (200, a `DryRun`); store nothing: "
                "no job, no idempotency record, no events. The team's cap of active jobs is not checked."
            ),
        ] = False,
    ) -> Response[Job | DryRun]:
        """Validate, store a queued job, and answer with it (a dry run: validate and answer the plan)."""
        principal = current_principal(request)
        pins = await checked_and_pinned(
            data, settings, store, may_use_unsafe=principal.has("unsafe"), remember_pins=not dry_run
        )
        if dry_run:
            write_back = writeback_target.for_request(data, pins.models, settings)
            plan = await anyio.to_thread.run_sync(plan_dry_run, data, pins, settings, write_back)
            return Response(plan, status_code=200)
        job, created = await store.create_job(
            data,
            idempotency_key=idempotency_key,
            owner=principal.owner,
            team=principal.team,
            limits=settings.team_limits(),
            resolved=pins.models,
            resolved_datasets=pins.datasets,
            write_back=writeback_target.for_request(data, pins.models, settings),
        )
        if not created:
            stored = await store.get_request(job.id)
            if stored is None or stored.model_dump(mode="json") != data.model_dump(mode="json"):
                raise IdempotencyConflictError(
                    f"Idempotency-Key {idempotency_key!r} was already used with a different request body "
                    f"(evaluation {job.id}); use a new key for a new request",
                    field="Idempotency-Key",
                )
        return Response(job, status_code=202 if created else 200, headers={"Location": _location(job)})

    @get(
        "/",
        summary="List evaluations, newest first",
        description="Only the evaluations the key's team may see (all for `admin`).",
        responses=error_responses(400, 401, 403),
    )
    async def list_evaluations(
        self,
        request: Request[Any, Any, State],
        store: StoreDep,
        status: FromQuery[JobStatus | None] = None,
        label: Annotated[
            list[str] | None,
            QueryParameter(
                description="`key:value`; repeat to require several labels.",
                examples=[Example(value="ci:42")],
                schema_extra={"maxItems": _MAX_LABEL_FILTERS},
            ),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    ) -> JobPage:
        """A page of jobs filtered by status and labels; pass `next_cursor` back as `cursor`."""
        return await store.list_jobs(
            status=status, labels=_parse_labels(label), limit=limit, cursor=cursor, teams=team_filter(request)
        )

    @get(
        "/{job_id:str}",
        summary="Read one evaluation",
        responses=error_responses(401, 403, 404),
    )
    async def get_evaluation(self, job_id: FromPath[str], store: StoreDep, request: Request[Any, Any, State]) -> Job:
        """The job: status, progress, verdict once finished, error when failed."""
        return await visible_job(store, job_id, request)

    @get(
        "/{job_id:str}/scorecard",
        summary="Read the scorecard of a finished evaluation",
        description="409 until the evaluation has succeeded. JSON by default; `text/markdown` (a pull-request "
        "summary) or `application/xml` (JUnit) by `Accept` or `?format=json|markdown|junit`.",
        operation_class=_ScorecardOperation,
        responses={
            200: ResponseSpec(
                data_container=Scorecard, description="The scorecard, exactly as stored.", generate_examples=False
            ),
            **error_responses(400, 401, 403, 404, 409),
        },
    )
    async def get_scorecard(
        self,
        job_id: FromPath[str],
        store: StoreDep,
        request: Request[Any, Any, Any],
        format: Annotated[
            str | None,
            QueryParameter(
                description="json, markdown or junit (`md` and `xml` too); wins over `Accept`.",
                max_length=32,
                schema_extra={"enum": list(REPORT_FORMATS)},
            ),
        ] = None,
    ) -> Response[Any]:
        """The scorecard in the negotiated format."""
        fmt = negotiate(request.headers.get("accept"), format)
        scorecard = await _stored_scorecard(store, job_id, request)
        if fmt == "json":
            # Served as stored, not re-serialised: hashes and signatures over it stay valid.
            return Response(scorecard)
        body, media_type = render_scorecard(scorecard, fmt)
        return Response(body, media_type=media_type)

    @get(
        "/{job_id:str}/attestation",
        summary="The scorecard signed: a DSSE envelope (Ed25519 over its RFC 8785 canonical JSON)",
        description="By default the envelope signs the scorecard itself (payloadType "
        "`application/vnd.unlearn-audit.scorecard+json`). With `?format=in-toto` it signs an in-toto Statement v1 "
        "(payloadType `application/vnd.in-toto+json`): subject the target model with its weight digest, predicate "
        "type `https://unlearn-audit.dev/scorecard/v1`, predicate the scorecard. Verify offline with "
        "`unlearn-audit verify FILE --server URL` or with the keys of GET /v1/signing-keys.",
        responses={**error_responses(400, 401, 403, 404, 409)},
    )
    async def get_attestation(
        self,
        job_id: FromPath[str],
        store: StoreDep,
        request: Request[Any, Any, Any],
        format: Annotated[
            EnvelopeKind,
            QueryParameter(description="`scorecard` (the default) or `in-toto` (an in-toto Statement v1)."),
        ] = "scorecard",
    ) -> Response[dict[str, Any]]:
        """The DSSE envelope of the stored scorecard (or of its in-toto Statement), signed with the active key."""
        scorecard = await _stored_scorecard(store, job_id, request)
        envelope = await sign_for(request, store, scorecard, format)
        return Response(envelope, media_type="application/json")

    @get(
        "/{job_id:str}/items",
        opt={"scope": "items"},
        summary="Per-item records (needs the `items` scope)",
        description="The evidence behind each figure: prompt, choices, log-likelihoods or generations, label. "
        "Records hold hazardous questions and generations, hence the separate scope.",
        responses=error_responses(400, 401, 403, 404),
    )
    async def list_items(
        self,
        job_id: FromPath[str],
        store: StoreDep,
        request: Request[Any, Any, State],
        check: Annotated[str | None, QueryParameter(max_length=32)] = None,
        variant: Annotated[str | None, QueryParameter(max_length=64)] = None,
        model: Annotated[str | None, QueryParameter(max_length=16)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    ) -> ItemPage:
        """A page of per-item records of one evaluation."""
        await visible_job(store, job_id, request)
        return await store.list_items(job_id, check=check, variant=variant, model=model, limit=limit, cursor=cursor)

    @post(
        "/{job_id:str}/cancel",
        status_code=200,
        opt={"scope": "submit"},
        summary="Cancel an evaluation",
        description="A queued job is cancelled at once (200); a running one is flagged and its worker stops "
        "at the next batch (202). A job that already succeeded or failed is a 409.",
        responses={
            200: ResponseSpec(
                data_container=Job, description="Cancelled (or already cancelled).", generate_examples=False
            ),
            202: ResponseSpec(
                data_container=Job, description="Running: it stops at its next batch.", generate_examples=False
            ),
            **error_responses(401, 403, 404, 409),
        },
    )
    async def cancel_evaluation(
        self, job_id: FromPath[str], store: StoreDep, request: Request[Any, Any, State]
    ) -> Response[Job]:
        """Request cancellation and answer with the job as it stands."""
        job = await visible_job(store, job_id, request)
        if job.status in {"succeeded", "failed"}:
            raise AlreadyFinishedError(f"evaluation {job_id} already ended `{job.status}`")
        updated = await store.request_cancel(job_id)
        if updated is None:  # deleted between the two reads
            updated = await visible_job(store, job_id, request)
        return Response(updated, status_code=202 if updated.status == "running" else 200)

    @get(
        "/{job_id:str}/events",
        summary="Follow an evaluation's events (server-sent events)",
        description="A `text/event-stream` of the job's events (`id:` event id, `event:` kind, `data:` JSON), "
        "from the start or after `Last-Event-ID` / `after`; it ends once the job has finished.",
        media_type="text/event-stream",
        responses={
            200: ResponseSpec(
                data_container=EventStreamMessage,
                media_type="text/event-stream",
                description="The stream; its schema is that of each message.",
                generate_examples=False,
            ),
            **error_responses(400, 401, 403, 404),
        },
    )
    async def stream_evaluation_events(
        self,
        job_id: FromPath[str],
        store: StoreDep,
        request: Request[Any, Any, Any],
        last_event_id: Annotated[
            str | None, HeaderParameter(name="Last-Event-ID", required=False, max_length=32)
        ] = None,
        after: Annotated[
            int | None,
            # `minimum` stated again: Litestar leaves a bound of 0 out of the document.
            QueryParameter(ge=0, le=MAX_ROW_ID, description="Send events after this id.", schema_extra={"minimum": 0}),
        ] = None,
    ) -> ServerSentEvent:
        """404 for an unknown evaluation (or another team's); otherwise the stream."""
        start = resume_point(last_event_id, after)
        await visible_job(store, job_id, request)
        return ServerSentEvent(job_event_stream(store, job_id, start))
