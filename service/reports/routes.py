"""HTML report routes: `GET /v1/evaluations/{id}/report` and `GET /v1/reports` (recent evaluations).

The job store is read from `app.state.store`, where service.app.create_app puts it (read from state rather
than injected, so these routes do not depend on how the app declares its dependencies).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Router, get
from litestar.enums import MediaType
from litestar.params import FromPath, QueryParameter
from litestar.response import Response

from schemas.errors import NotFinishedError
from service.auth import require_scope
from service.errors import error_responses
from service.reports.html import render_list_html, render_report_html
from service.routes.deps import team_filter, visible_job
from service.store.api import JobStore

_HTML = MediaType.HTML  # Litestar adds the one `charset=utf-8`


def store_of(request: Request[Any, Any, Any]) -> JobStore:
    """The app's job store (`app.state.store`)."""
    store: JobStore = request.app.state.store
    return store


@get(
    "/v1/evaluations/{job_id:str}/report",
    guards=[require_scope],
    security=[{"bearer": []}],
    opt={"scope": "read"},
    summary="The scorecard as an HTML page",
    media_type=_HTML,
    responses=error_responses(401, 403, 404, 409),
)
async def get_report(job_id: FromPath[str], request: Request[Any, Any, Any]) -> Response[str]:
    """The scorecard page; 404 for an unknown evaluation, 409 while it has no scorecard."""
    store = store_of(request)
    job = await visible_job(store, job_id, request)
    scorecard = await store.get_scorecard(job_id)
    if scorecard is None:
        raise NotFinishedError(f"evaluation {job_id} is `{job.status}`; it has no scorecard yet")
    return Response(render_report_html(scorecard), media_type=_HTML)


@get(
    "/v1/reports",
    guards=[require_scope],
    security=[{"bearer": []}],
    opt={"scope": "read"},
    summary="Recent evaluations as HTML",
    media_type=_HTML,
    responses=error_responses(400, 401, 403),
)
async def list_reports(
    request: Request[Any, Any, Any], limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50
) -> Response[str]:
    """The newest evaluations (at most `limit`, 1-200) with verdict badges and links to their reports."""
    page = await store_of(request).list_jobs(limit=limit, teams=team_filter(request))
    return Response(render_list_html(page.items), media_type=_HTML)


report_router = Router(path="/", route_handlers=[get_report, list_reports])
"""Mount in create_app's route_handlers."""
