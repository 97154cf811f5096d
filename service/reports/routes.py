"""HTML report routes: `GET /v1/evaluations/{id}/report`, `POST /v1/evaluations/{id}/report-links` (a
short-lived signed link that opens the report without an API key, see `links`) and `GET /v1/reports`.

Handlers take the store as a dependency (service.routes.deps); the report page's guard, which runs before
dependencies are resolved, reads it from the app's state the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Router, get, post
from litestar.connection import ASGIConnection
from litestar.enums import MediaType
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, QueryParameter
from litestar.response import Response

from schemas.errors import NotFinishedError
from schemas.report_links import DEFAULT_LINK_TTL_S, MAX_LINK_TTL_S, MIN_LINK_TTL_S, ReportLink
from service.auth import Principal, require_scope
from service.errors import error_responses
from service.reports.html import render_list_html, render_report_html
from service.reports.links import MAX_TOKEN_CHARS, LinkGrant, link_keys, mint_token, read_token
from service.routes.deps import SettingsDep, StoreDep, store_from_state, team_filter, visible_job
from service.routes.keyed import KeyedController, needs_scope
from service.settings import Settings
from service.signing.routes import signing_keys_of

_HTML = MediaType.HTML  # Litestar adds the one `charset=utf-8`


async def api_key_or_report_link(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard of the report page: a valid `?token=` opens this evaluation's report (and only it); without a
    token, the API key's `read` scope as on every other route. A bad or expired token is a 401 either way."""
    token = connection.query_params.get("token")
    if token is None:
        require_scope(connection, handler)
        return
    store = store_from_state(connection.app.state)
    now = datetime.now(UTC)
    published = await signing_keys_of(connection).published(store)
    job_id = str(connection.path_params["job_id"])
    read_token(token, link_keys(published, now), evaluation_id=job_id, format="html", now=now)
    job = await store.get_job(job_id)
    # The token names this evaluation (a key that could see it asked for it): the link sees that job's team and
    # holds no scope, so nothing past this handler accepts it.
    link = Principal(owner="report-link", scopes=frozenset(), team=job.team if job is not None else None)
    connection.scope.setdefault("state", {})["principal"] = link


@get(
    "/v1/evaluations/{job_id:str}/report",
    guards=[api_key_or_report_link],
    security=[{"bearer": []}, {}],
    opt={"scope": "read"},
    summary="The scorecard as an HTML page",
    description="Needs an API key with the `read` scope, or the `token` of a report link "
    "(POST /v1/evaluations/{id}/report-links), which opens this page in a browser without a key.",
    media_type=_HTML,
    responses=error_responses(400, 401, 403, 404, 409),
)
async def get_report(
    job_id: FromPath[str],
    store: StoreDep,
    request: Request[Any, Any, Any],
    token: Annotated[
        str | None,
        QueryParameter(
            description="A report link's token: opens this evaluation's report until it expires.",
            max_length=MAX_TOKEN_CHARS,
        ),
    ] = None,
) -> Response[str]:
    """The scorecard page; 404 for an unknown evaluation, 409 while it has no scorecard. (`token` is read and
    checked by the guard; it is declared here for the OpenAPI document.)"""
    job = await visible_job(store, job_id, request)
    scorecard = await store.get_scorecard(job_id)
    if scorecard is None:
        raise NotFinishedError(f"evaluation {job_id} is `{job.status}`; it has no scorecard yet")
    return Response(render_report_html(scorecard), media_type=_HTML)


def _base_url(request: Request[Any, Any, Any], settings: Settings) -> str:
    public_url = getattr(settings, "public_url", None)
    return str(public_url or request.base_url).rstrip("/")


class ReportController(KeyedController):
    """Report links and the list of reports (`read`)."""

    path = "/v1"
    opt = needs_scope("read")

    @post(
        "/evaluations/{job_id:str}/report-links",
        status_code=201,
        summary="A short-lived link that opens the HTML report without an API key",
        description="Answers a URL of GET /v1/evaluations/{id}/report with a signed `token` bound to this "
        "evaluation, the HTML format and an expiry (`ttl_s`, default 900 s, at most 86400 s): a browser opens it "
        "without a key (from a pull-request comment, say); it grants nothing else. Every API replica accepts it; "
        "access logs show the token as `[redacted]`.",
        responses=error_responses(400, 401, 403, 404),
    )
    async def create_report_link(
        self,
        job_id: FromPath[str],
        store: StoreDep,
        settings: SettingsDep,
        request: Request[Any, Any, Any],
        ttl_s: Annotated[
            int,
            QueryParameter(
                ge=MIN_LINK_TTL_S, le=MAX_LINK_TTL_S, description="Seconds the link lives (default 15 min)."
            ),
        ] = DEFAULT_LINK_TTL_S,
    ) -> ReportLink:
        """A report link for an evaluation the caller may see (finished or not: the page says 409 until done)."""
        job = await visible_job(store, job_id, request)
        expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=ttl_s)
        _, key = await signing_keys_of(request).active(store)
        token = mint_token(LinkGrant(job.id, "html", int(expires.timestamp())), key)
        url = f"{_base_url(request, settings)}/v1/evaluations/{quote(job.id, safe='')}/report?token={token}"
        return ReportLink(evaluation_id=job.id, url=url, expires_at=expires.isoformat(), ttl_s=ttl_s)

    @get(
        "/reports",
        summary="Recent evaluations as HTML",
        media_type=_HTML,
        responses=error_responses(400, 401, 403),
    )
    async def list_reports(
        self, store: StoreDep, request: Request[Any, Any, Any], limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50
    ) -> Response[str]:
        """The newest evaluations (at most `limit`, 1-200) with verdict badges and links to their reports."""
        page = await store.list_jobs(limit=limit, teams=team_filter(request))
        return Response(render_list_html(page.items), media_type=_HTML)


report_router = Router(path="/", route_handlers=[get_report, ReportController])
"""Mount in create_app's route_handlers (which provides `store`, see service.routes.deps)."""
