"""What a registry is told when an audit ends: MLflow version tags, a Hub comment, model-index results.

Pure functions of the job and its scorecard, so what is written can be tested and read before it is sent.
"""

from __future__ import annotations

from typing import Any

from schemas.canonical import sha256_hex
from schemas.jobs import Job
from schemas.scorecard import Metric, Scorecard
from service.reports._common import checks_of, fmt, fmt_interval
from service.reports.markdown import to_markdown

TAG_PREFIX = "unlearn_audit."
_MAX_TAG_VALUE = 5000  # MLflow's limit on a tag value


def links(job_id: str, public_url: str | None) -> dict[str, str]:
    """The evaluation's scorecard, report and attestation URLs (relative when no public URL is set)."""
    base = f"{(public_url or '').rstrip('/')}/v1/evaluations/{job_id}"
    return {
        "scorecard_url": f"{base}/scorecard",
        "report_url": f"{base}/report",
        "attestation_url": f"{base}/attestation",
    }


def attestation_digest(scorecard: dict[str, Any]) -> str:
    """sha256 of the canonical scorecard: the DSSE envelope's payload, whatever key signs it."""
    return "sha256:" + sha256_hex(scorecard)


def _figure(metric: Metric) -> str:
    return f"{fmt(metric.value)} {fmt_interval(metric)} n={metric.n}"


def mlflow_tags(job: Job, scorecard: dict[str, Any] | None, public_url: str | None) -> dict[str, str]:
    """The tags set on the audited model version: overall and per-check verdicts, headline figures with their
    interval and n, the evaluation id, links, and the attestation digest."""
    tags = {"status": job.status, "evaluation_id": job.id}
    if job.error is not None:
        tags["error"] = f"{job.error.code}: {job.error.message}"
    if scorecard is not None:
        card = Scorecard.model_validate(scorecard)
        tags["verdict"] = card.verdict
        tags["policy"] = card.policy.name
        for name, result in checks_of(card):
            tags[f"{name}.verdict"] = result.verdict
            if result.headline is not None:
                tags[f"{name}.{result.headline.name}"] = _figure(result.headline)
        tags["attestation_digest"] = attestation_digest(scorecard)
        tags.update(links(job.id, public_url))
    else:
        tags["verdict"] = "error" if job.status == "failed" else job.status
    return {TAG_PREFIX + k: v[:_MAX_TAG_VALUE] for k, v in tags.items()}


def hub_comment(job: Job, scorecard: dict[str, Any] | None, public_url: str | None, revision: str | None) -> str:
    """The Markdown posted on the pull request (or discussion): the scorecard table and its links."""
    where = f"commit `{revision}`" if revision else "this revision"
    if scorecard is None:
        error = f": `{job.error.code}`: {job.error.message}" if job.error else ""
        body = f"## unlearn-audit: {job.status}\n\nThe audit of {where} ended `{job.status}`{error}."
    else:
        body = f"Audit of {where}.\n\n" + to_markdown(scorecard)
    urls = links(job.id, public_url)
    footer = " · ".join(f"[{k.removesuffix('_url')}]({v})" for k, v in urls.items())
    digest = f" · attestation `{attestation_digest(scorecard)[:23]}…`" if scorecard is not None else ""
    return f"{body}\n\n{footer}{digest}\n"


def model_index(repo: str, scorecard: dict[str, Any], public_url: str | None) -> dict[str, Any]:
    """The card metadata `model-index` entry of the Hub's documented format: one result per check, its
    headline figure as a metric (`verified: false`: the service, not the Hub, computed it)."""
    card = Scorecard.model_validate(scorecard)
    report = links(card.evaluation_id, public_url)["report_url"]
    results = []
    for name, result in checks_of(card):
        if result.headline is None or result.headline.value is None:
            continue
        results.append(
            {
                "task": {"type": "text-generation", "name": f"Unlearning audit: {name}"},
                "dataset": {"name": f"unlearn-audit {name} check", "type": "unlearn-audit"},
                "metrics": [
                    {
                        "type": result.headline.name,
                        "value": round(float(result.headline.value), 4),
                        "name": f"{result.headline.name} ({result.verdict})",
                        "verified": False,
                    }
                ],
                "source": {"name": "unlearn-audit", "url": report},
            }
        )
    return {"model-index": [{"name": repo.split("/")[-1], "results": results}]}
