"""/v1/judges/calibrations, for admins: calibrate a model judge endpoint against XSTest's human labels (a queued
calibration a worker runs), list calibrations, read one with its per-item labels."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio.to_thread
from litestar import Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from evaluators.checks.refusal.judges.model_calibration import judge_endpoint_key
from schemas.bounds import MAX_URL_CHARS, NO_NUL
from schemas.errors import AuditError, NotFoundError, SecretNotAllowedError
from schemas.judge_calibration import (
    CalibrationStatus,
    JudgeCalibration,
    JudgeCalibrationPage,
    JudgeCalibrationRequest,
)
from service.errors import error_responses
from service.routes.deps import SettingsDep, StoreDep
from service.routes.keyed import KeyedController, needs_scope
from service.settings import Settings
from service.store.judge_calibrations import judge_calibrations

_MAX_ID = 64


def check_judge_endpoint(request: JudgeCalibrationRequest, settings: Settings) -> tuple[str, str]:
    """The (endpoint, model) key of the request's judge, once its secret name is one the operator allows
    (403 `secret_not_allowed`) and its URL is on the allowlist (403 `url_not_allowed`), as for an audit's
    judge. Resolves the host: call it off the event loop."""
    from evaluators.allowlist import check_url

    target = request.target
    if target.api_key_env is not None and target.api_key_env not in settings.endpoint_secret_names():
        raise SecretNotAllowedError(
            f"api_key_env {target.api_key_env!r} is not a name the operator allows requests to use; "
            "ask them to list it in UNLEARN_AUDIT_ENDPOINT_SECRETS",
            field="target.api_key_env",
        )
    url, field = (target.url, "target.url") if target.kind == "tgi" else (target.base_url, "target.base_url")
    try:
        check_url(url, settings.allowed_host_list(), settings.allow_link_local)
    except AuditError as exc:
        exc.field = field
        raise
    key = judge_endpoint_key(target)
    assert key is not None  # a tgi or openai target always has one
    return key


class JudgeCalibrationController(KeyedController):
    """/v1/judges/calibrations (`admin`)."""

    path = "/v1/judges/calibrations"
    opt = needs_scope("admin")
    tags = ("judges",)

    @post(
        "/",
        status_code=202,
        summary="Calibrate a model judge",
        description="Queues a calibration of the judge endpoint (given as `checks.refusal.judge.target`): a "
        "worker runs it over XSTest's human-labelled replies (the `split`, at most `limit` of them) and stores "
        "its agreement per source model and pooled, keyed by the endpoint's base URL and model name. Audits "
        "whose refusal check uses that judge show the newest stored calibration. The secret name and URL are "
        "checked as for an audit (4xx naming the field).",
        responses=error_responses(400, 401, 403, 413, 415, 422),
    )
    async def calibrate_judge(
        self, data: JSONBody[JudgeCalibrationRequest], store: StoreDep, settings: SettingsDep
    ) -> Response[JudgeCalibration]:
        """Validate and queue a calibration; 202 with it and its `Location`."""
        endpoint, model = await anyio.to_thread.run_sync(partial(check_judge_endpoint, data, settings))
        calibration = await judge_calibrations(store).create(data, endpoint, model)
        return Response(calibration, status_code=202, headers={"Location": f"/v1/judges/calibrations/{calibration.id}"})

    @get("/", summary="List model-judge calibrations, newest first", responses=error_responses(400, 401, 403))
    async def list_judge_calibrations(
        self,
        store: StoreDep,
        endpoint: Annotated[
            str | None,
            QueryParameter(max_length=MAX_URL_CHARS, pattern=NO_NUL, description="Only this base URL's."),
        ] = None,
        model: Annotated[
            str | None, QueryParameter(max_length=256, pattern=NO_NUL, description="Only this model name's.")
        ] = None,
        status: Annotated[CalibrationStatus | None, QueryParameter(description="Only these.")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=512)] = None,
    ) -> JudgeCalibrationPage:
        """A page of calibrations (figures without per-item labels)."""
        items, next_cursor = await judge_calibrations(store).page(
            endpoint=endpoint.rstrip("/") if endpoint else endpoint,
            model=model,
            status=status,
            limit=limit,
            cursor=cursor,
        )
        return JudgeCalibrationPage(items=items, next_cursor=next_cursor)

    @get(
        "/{calibration_id:str}",
        summary="Read one model-judge calibration",
        responses=error_responses(401, 403, 404),
    )
    async def get_judge_calibration(self, calibration_id: FromPath[str], store: StoreDep) -> JudgeCalibration:
        """The calibration: its status, and once ended its figures with the per-item labels (or its error)."""
        found = await judge_calibrations(store).get(calibration_id) if len(calibration_id) <= _MAX_ID else None
        if found is None:
            raise NotFoundError(f"no judge calibration {calibration_id[:_MAX_ID]!r}", field="calibration_id")
        return found
