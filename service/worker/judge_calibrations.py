"""A worker's share of model-judge calibrations: when no audit is waiting, claim one, run the judge endpoint
over the labelled replies under a renewed lease, and store its figures (or its error).

The judge is opened through the worker's model pool, as an audit's model judge is (same backends, same
allowlist and secrets). Its calls are HTTP requests on the event loop; nothing here runs torch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from evaluators.checks.refusal.judges.layered import LayeredJudge
from evaluators.checks.refusal.judges.model_calibration import calibrate_model_judge
from evaluators.checks.refusal.judges.model_judge import ModelJudge
from evaluators.models.protocol import LanguageModel
from schemas.errors import AuditError
from schemas.jobs import JobError
from schemas.judge_calibration import JudgeCalibration
from schemas.policy import Policy
from service.runner import ModelPool
from service.settings import Settings
from service.store.judge_calibrations import JudgeCalibrationStore

log = logging.getLogger(__name__)


async def endpoint_claim(model: LanguageModel) -> dict[str, Any]:
    """What the endpoint says it serves (TGI: model_id@sha from /info; OpenAI-compatible: the model name), never
    verified against weights; `{"error": ...}` when it cannot say."""
    try:
        return (await model.fingerprint()).model_dump(mode="json")
    except AuditError as exc:
        return {"error": f"{exc.code}: {str(exc)[:300]}"}


class CalibrationRunner:
    """Runs queued judge calibrations one at a time on this worker."""

    def __init__(self, calibrations: JudgeCalibrationStore, settings: Settings, worker_id: str, models: ModelPool):
        self.calibrations = calibrations
        self.settings = settings
        self.worker_id = worker_id
        self.models = models

    async def run_next(self) -> bool:
        """Claim and run one calibration; False when none was waiting (or the store could not be asked)."""
        try:
            claimed = await self.calibrations.claim(self.worker_id, self.settings.lease_s)
        except Exception:
            log.exception("worker %s: claiming a judge calibration failed; retrying later", self.worker_id)
            return False
        if claimed is None:
            return False
        log.info("worker %s: judge calibration %s of %s", self.worker_id, claimed.id, claimed.endpoint)
        heartbeat = asyncio.create_task(self._heartbeat(claimed.id))
        try:
            figures, error = await self._calibrate(claimed), None
        except AuditError as exc:
            figures, error = None, JobError(code=exc.code, message=str(exc)[:1000])
        except Exception as exc:
            log.exception("judge calibration %s failed", claimed.id)
            figures, error = None, JobError(code="internal_error", message=f"{type(exc).__name__}: {str(exc)[:500]}")
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            await self.models.release()
        if not await self.calibrations.finish(claimed.id, self.worker_id, figures=figures, error=error):
            log.warning("judge calibration %s: lease lost before it could be stored", claimed.id)
        return True

    async def _calibrate(self, claimed: JudgeCalibration) -> dict[str, Any]:
        model = await self.models.get(claimed.request.target)
        judge = LayeredJudge(model=ModelJudge(model))
        figures = await calibrate_model_judge(
            judge, split=claimed.request.split, limit=claimed.request.limit, confidence=Policy().confidence
        )
        return {**figures, "endpoint_claim": await endpoint_claim(model)}

    async def _heartbeat(self, calibration_id: str) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_s)
            try:
                if not await self.calibrations.heartbeat(calibration_id, self.worker_id, self.settings.lease_s):
                    log.warning("judge calibration %s: lease lost", calibration_id)
                    return
            except Exception:
                log.exception("judge calibration %s: heartbeat failed", calibration_id)
