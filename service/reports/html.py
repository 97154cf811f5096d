"""Server-rendered HTML: the scorecard page and the list of recent evaluations.

Everything is inline (CSS, SVG); all text from scorecards and jobs is escaped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from schemas.jobs import Job
from schemas.scorecard import CheckResult, Metric, Scorecard
from service.reports._common import CHECK_TITLES, as_scorecard, checks_of, fmt, fmt_interval, metric_label
from service.reports.charts import ChartSpec, render_chart

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:1000px;
color:#1f2328}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d0d7de}
.meta{color:#57606a;font-size:13px}code{font-size:12px;background:#f6f8fa;padding:1px 4px;border-radius:4px}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff;font-size:13px}
.badge.pass{background:#1a7f37}.badge.warn{background:#9a6700}.badge.fail{background:#cf222e}
.badge.skipped{background:#6e7781}.badge.error{background:#8250df}.badge.none{background:#afb8c1}
.glance{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{border:1px solid #d0d7de;border-radius:8px;padding:10px 14px;min-width:260px;flex:1}
.card h3{margin:0 0 6px;font-size:15px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #eaeef2;padding:4px 6px;text-align:left}
th{background:#f6f8fa}td.num{font-variant-numeric:tabular-nums;text-align:right}
svg.chart{display:block;margin:10px 0}.chart-title{font-weight:600;font-size:13px}
.grid{stroke:#eaeef2}.tick,.legend,.row-label{font-size:11px;fill:#57606a}.row-label{fill:#1f2328}
.whisker{stroke-width:2}.chance{stroke:#57606a;stroke-dasharray:4 3}
.threshold{stroke:#cf222e;stroke-dasharray:2 2}
.chance-label,.threshold-label{font-size:10px;fill:#57606a}
"""


_NO_ROWS = "<tr><td colspan=5>no evaluations yet</td></tr>"


def _badge(verdict: str | None) -> str:
    v = verdict or "none"
    return f'<span class="badge {escape(v)}">{escape(verdict or "—")}</span>'


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        # No external fetches of any kind: styles and charts are inline.
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>"
    )


def _chance(result: CheckResult) -> float | None:
    value = result.details.get("chance")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    chance = [m.value for m in result.metrics if m.model == "chance" and m.value is not None]
    return chance[0] if len(set(chance)) == 1 else None


def chart_specs(name: str, result: CheckResult) -> list[ChartSpec]:
    """One chart per metric name that is broken down by variant or by model.

    Works whatever the exact metric names are: rows are `Metric.variant`, series are `Metric.model`.
    """
    groups: dict[str, list[Metric]] = defaultdict(list)
    for m in result.metrics:
        if m.model != "chance":
            groups[m.name].append(m)
    specs = []
    chance = _chance(result) if name == "forget" else None
    for metric_name, metrics in groups.items():
        if not any(m.variant for m in metrics) and len({m.model for m in metrics}) < 2:
            continue
        thresholds = {m.threshold for m in metrics if m.threshold is not None}
        title = f"{CHECK_TITLES.get(name, name)}: {metric_name} by " + (
            "elicitation" if name == "forget" else "variant family" if name == "refusal" else "dataset"
        )
        specs.append(
            ChartSpec(
                title=title,
                metrics=metrics,
                chance=chance if metric_name.startswith("acc") else None,
                threshold=thresholds.pop() if len(thresholds) == 1 else None,
            )
        )
    return specs


def _headline_html(result: CheckResult) -> str:
    h = result.headline
    if h is None:
        return '<div class="meta">no headline figure</div>'
    threshold = f" · threshold {fmt(h.threshold)}" if h.threshold is not None else ""
    return (
        f'<div><code>{escape(metric_label(h))}</code> = <b class="figure">{fmt(h.value)}</b></div>'
        f'<div class="meta">{escape(fmt_interval(h))} · n={h.n}{threshold}</div>'
    )


def _metrics_table(result: CheckResult) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(m.name)}</code></td><td>{escape(m.variant or '')}</td>"
        f"<td>{escape(m.model)}</td>"
        f'<td class="num">{fmt(m.value)}</td><td>{escape(fmt_interval(m))}</td><td class="num">{m.n}</td>'
        f'<td class="num">{fmt(m.threshold) if m.threshold is not None else ""}</td>'
        f"<td>{'yes' if m.gated else ''}</td><td>{escape(m.note or '')}</td></tr>"
        for m in result.metrics
    )
    return (
        "<table><thead><tr><th>metric</th><th>variant</th><th>model</th><th>value</th><th>interval</th>"
        "<th>n</th><th>threshold</th><th>gated</th><th>note</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def render_report_html(sc: Scorecard | Mapping[str, Any]) -> str:
    """The scorecard page: verdicts at a glance, then per check a chart per broken-down figure and a table."""
    card = as_scorecard(sc)
    checks = list(checks_of(card))
    glance = "".join(
        f'<div class="card" id="glance-{escape(n)}">'
        f"<h3>{escape(CHECK_TITLES.get(n, n))} {_badge(r.verdict)}</h3>"
        f'{_headline_html(r)}<div class="meta">{escape(", ".join(r.reasons))}</div></div>'
        for n, r in checks
    )
    sections = []
    for name, result in checks:
        charts = "".join(render_chart(spec) for spec in chart_specs(name, result))
        sections.append(
            f'<section id="check-{escape(name)}"><h2>{escape(CHECK_TITLES.get(name, name))} '
            f"{_badge(result.verdict)}</h2><p>{escape(result.summary)}</p>{charts}{_metrics_table(result)}</section>"
        )
    target = card.provenance.target
    fingerprint = (
        f" · target weights <code>{escape(target.fingerprint)}</code>"
        f" ({'verified' if target.fingerprint_verified else 'claimed'})"
        if target is not None and target.fingerprint
        else ""
    )
    skipped = "".join(f"<li>{escape(s)}</li>" for s in card.skipped)
    reasons = ", ".join(f"<code>{escape(r)}</code>" for r in card.reasons)
    labels = " ".join(f"<code>{escape(k)}={escape(v)}</code>" for k, v in card.labels.items())
    body = (
        f"<h1>Unlearning audit {_badge(card.verdict)}</h1>"
        f'<div class="meta">evaluation <code>{escape(card.evaluation_id)}</code> · '
        f"{escape(card.created_at)} · "
        f"policy <code>{escape(card.policy.name)}</code> · service {escape(card.provenance.service_version)}"
        f'{fingerprint}</div><div class="meta">{labels}</div>'
        f'<div class="glance">{glance}</div>'
        + (f'<p class="meta">verdict reasons: {reasons}</p>' if reasons else "")
        + (f"<h2>Skipped</h2><ul>{skipped}</ul>" if skipped else "")
        + "".join(sections)
        + '<p class="meta"><a href="/v1/reports">All evaluations</a> · '
        f'<a href="/v1/evaluations/{escape(card.evaluation_id)}/scorecard">scorecard JSON</a></p>'
    )
    return _page(f"Audit {card.evaluation_id}: {card.verdict}", body)


def render_list_html(jobs: Iterable[Job | Mapping[str, Any]]) -> str:
    """Recent evaluations, newest first as given, with verdict badges and links to their reports."""
    rows = []
    for j in jobs:
        job = j if isinstance(j, Job) else Job.model_validate(j)
        jid = escape(job.id)
        verdict = job.verdict if job.status == "succeeded" else None
        link = f'<a href="/v1/evaluations/{jid}/report">{jid}</a>' if job.status == "succeeded" else jid
        labels = " ".join(f"<code>{escape(k)}={escape(v)}</code>" for k, v in job.labels.items())
        rows.append(
            f"<tr><td>{link}</td><td>{escape(job.status)}</td><td>{_badge(verdict)}</td>"
            f"<td>{escape(job.created_at.isoformat(timespec='seconds'))}</td><td>{labels}</td></tr>"
        )
    table = (
        "<table><thead><tr><th>evaluation</th><th>status</th><th>verdict</th><th>created</th><th>labels</th>"
        f"</tr></thead><tbody>{''.join(rows) or _NO_ROWS}</tbody></table>"
    )
    return _page("unlearn-audit: evaluations", f"<h1>Recent evaluations</h1>{table}")
