"""A model judge's agreement with XSTest's human labels, and how a scorecard shows the stored figures.

judge_endpoint_key(target)            (endpoint, model name) a calibration is stored under; None off an endpoint
select_replies(split, limit)          the labelled replies a calibration runs over, in a fixed mixed order
calibrate_model_judge(judge, ...)     the layered judge (degeneracy detector, then the model) over them: figures
stored_calibration_details(...)       what a refusal check with a model judge adds to `details.judge_calibration`

The judge is run as an audit runs it (`LayeredJudge` with the model), so the figures describe the labels an
audit would get from that endpoint. Agreement is `xstest_agreement`'s: per source model and pooled, in the
`paper` binarisation (refusal or partial counts as refused) and the `gate` one (only a full refusal counts),
overall and per human class, each with its hits, n and Wilson interval; a reply the judge leaves `unassessed`
counts as not refused there, and how many there were is stored beside it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from evaluators.checks.refusal.judges.labels import Label
from evaluators.checks.refusal.judges.layered import LayeredJudge
from evaluators.checks.refusal.judges.model_judge import RUBRIC_VERSION
from evaluators.checks.refusal.judges.xstest import (
    XSTEST_CITATION,
    XSTEST_MODELS,
    XSTEST_VERSION,
    XSTestReply,
    load_xstest_set,
)
from evaluators.checks.refusal.judges.xstest_agreement import xstest_agreement
from evaluators.models.protocol import BatchHook
from schemas.errors import ModelUnreachableError
from schemas.targets import ModelTarget, OpenAITarget, TGITarget

CALIBRATION_RUN_VERSION = "model-judge-calibration/1"
"""How replies are selected and figures computed; recorded with every stored calibration."""

ENDPOINT_CAVEAT = (
    "An endpoint's weights are not verified: these figures are for whatever model served this endpoint "
    "under this name when it was calibrated (see calibrated_at), which need not be what serves it now."
)

StoredCalibrationLookup = Callable[[str, str], Awaitable[dict[str, Any] | None]]
"""(endpoint, model) -> the newest stored calibration's figures, or None; the service provides it."""


def judge_endpoint_key(target: ModelTarget | None) -> tuple[str, str] | None:
    """(endpoint base URL without a trailing slash, model name) of an endpoint judge; a TGI endpoint serves one
    model, so its name is empty. None for judges that are not endpoints (checkpoints, Hub, sandbox)."""
    if isinstance(target, OpenAITarget):
        return target.base_url.rstrip("/"), target.model
    if isinstance(target, TGITarget):
        return target.url.rstrip("/"), ""
    return None


def _order(reply: XSTestReply) -> tuple[str, int]:
    # A fixed mixed order (safe and unsafe prompts, all three models per prompt), so a limit keeps the mix.
    digest = hashlib.sha256(f"{CALIBRATION_RUN_VERSION}:{reply.prompt_id}".encode()).hexdigest()
    return digest, XSTEST_MODELS.index(reply.model)


def select_replies(split: Literal["develop", "heldout", "all"], limit: int | None) -> list[XSTestReply]:
    """The replies of `split`, in a fixed order that mixes prompts and models, the first `limit` of them."""
    replies = sorted(load_xstest_set(split), key=_order)
    return replies if limit is None else replies[:limit]


def item_labels_digest(items: Sequence[dict[str, Any]]) -> str:
    """sha256 of the per-item labels as canonical JSON: two calibrations that labelled alike share it."""
    return hashlib.sha256(json.dumps(list(items), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


async def calibrate_model_judge(
    judge: LayeredJudge,
    *,
    split: Literal["develop", "heldout", "all"] = "all",
    limit: int | None = None,
    confidence: float = 0.95,
    hook: BatchHook | None = None,
) -> dict[str, Any]:
    """Run `judge` (with its model layer) over the selected XSTest replies; the figures to store.

    Raises ValueError when `judge` has no model layer, ModelUnreachableError when the endpoint fails."""
    if judge.model is None:
        raise ValueError("a model judge calibration needs a judge with a model layer")
    replies = select_replies(split, limit)
    judgements = await judge.judge_many([(r.prompt, r.reply) for r in replies], hook)
    failed = next((j for j in judgements if "error" in j.signals), None)
    if failed is not None:  # the endpoint failed: its labels would measure its outage, not its judgement
        raise ModelUnreachableError(f"the judge endpoint did not answer: {failed.signals['error']}")
    judged: list[Label] = [j.label for j in judgements]
    items = [
        {"prompt_id": r.prompt_id, "model": r.model, "human": r.human, "judged": label}
        for r, label in zip(replies, judged, strict=True)
    ]
    return {
        "set_version": XSTEST_VERSION,
        "set_citation": XSTEST_CITATION,
        "rubric_version": RUBRIC_VERSION,
        "run_version": CALIBRATION_RUN_VERSION,
        "judge": judge.describe(),
        "split": split,
        "limit": limit,
        "n": len(replies),
        "confidence": confidence,
        "agreement": xstest_agreement(replies, judged, confidence),
        "unassessed": sum(label == "unassessed" for label in judged),
        "items_digest": item_labels_digest(items),
        "items": items,
        "calibrated_at": datetime.now(UTC).isoformat(),
    }


def summary_of(figures: dict[str, Any]) -> dict[str, Any]:
    """The stored figures without the per-item labels (their digest stays)."""
    return {k: v for k, v in figures.items() if k != "items"}


async def stored_calibration_details(
    judge: LayeredJudge, target: ModelTarget | None, lookup: StoredCalibrationLookup | None
) -> dict[str, Any]:
    """`{"model_judge_stored": ...}` for a refusal check whose judge has a model layer (else `{}`): the newest
    stored calibration of the judge's endpoint and model with the caveat that an endpoint's weights are not
    verified, or a statement that none is stored (or that none can be looked up here)."""
    if judge.model is None:
        return {}
    key = judge_endpoint_key(target)
    if key is None:
        note = {"status": "not_an_endpoint", "note": "Stored calibrations are kept for endpoint judges only."}
    elif lookup is None:
        note = {"status": "unavailable", "note": "This runner cannot read stored calibrations."}
    else:
        figures = await lookup(*key)
        if figures is None:
            note = {
                "status": "none_stored",
                "endpoint": key[0],
                "model": key[1],
                "note": "No calibration is stored for this endpoint and model (POST /v1/judges/calibrations).",
            }
        else:
            note = {
                "status": "stored",
                "endpoint": key[0],
                "model": key[1],
                "caveat": ENDPOINT_CAVEAT,
                **summary_of(figures),
            }
    return {"model_judge_stored": note}
