"""HTML report routes: `GET /v1/evaluations/{id}/report` and `GET /v1/reports` (recent evaluations).

The job store is read from `app.state.store`, where service.app.create_app puts it (read from state rather
than injected, so these routes do not depend on how the app declares its dependencies).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from service.auth import require_scope
from service.errors import APIError
from service.reports.html import render_list_html, render_report_html
from service.store.api import JobStore

_HTML = "text/html; charset=utf-8"


def store_of(request: Request[Any, Any, Any]) -> JobStore:
    """The app's job store (`app.state.store`)."""
    store: JobStore = request.app.state.store
    return store


@get(
    "/v1/evaluations/{job_id:str}/report",
    guards=[require_scope],
    opt={"scope": "read"},
    summary="The scorecard as an HTML page",
    media_type=_HTML,
)
async def get_report(job_id: FromPath[str], request: Request[Any, Any, Any]) -> Response[str]:
    """The scorecard page; 404 for an unknown evaluation, 409 while it has no scorecard."""
    store = store_of(request)
    job = await store.get_job(job_id)
    if job is None:
        raise APIError(404, "not_found", f"no evaluation {job_id}")
    scorecard = await store.get_scorecard(job_id)
    if scorecard is None:
        raise APIError(409, "not_finished", f"evaluation {job_id} is `{job.status}`; it has no scorecard yet")
    return Response(render_report_html(scorecard), media_type=_HTML)


@get(
    "/v1/reports",
    guards=[require_scope],
    opt={"scope": "read"},
    summary="Recent evaluations as HTML",
    media_type=_HTML,
)
async def list_reports(request: Request[Any, Any, Any], limit: FromQuery[int] = 50) -> Response[str]:
    """The newest evaluations (at most `limit`, 1-200) with verdict badges and links to their reports."""
    if not 1 <= limit <= 200:
        raise APIError(400, "bad_request", "limit must be between 1 and 200", field="limit")
    page = await store_of(request).list_jobs(limit=limit)
    return Response(render_list_html(page.items), media_type=_HTML)


report_router = Router(path="/", route_handlers=[get_report, list_reports])
"""Mount in create_app's route_handlers."""
