"""The HTML scorecard page and list page: content, charts, escaping, no external assets."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from schemas import SCHEMA_VERSION
from schemas.jobs import Job
from schemas.scorecard import Metric
from service.reports import render_list_html, render_report_html
from service.reports.charts import ChartSpec, render_chart
from service.reports.html import chart_specs
from tests.reports.scorecards import DATASETS, ELICITATIONS, FAMILIES, build_scorecard, refusal_result


def _section(html: str, check: str) -> str:
    match = re.search(rf'<section id="check-{check}">(.*?)</section>', html, re.S)
    assert match, check
    return match.group(1)


def test_report_has_verdicts_at_a_glance_and_a_chart_per_check() -> None:
    sc = build_scorecard()
    html = render_report_html(sc)
    glance = html.index('class="glance"')
    assert html.index('id="glance-forget"') > glance
    assert html.index('id="check-forget"') > html.index('id="glance-collateral"')  # glance comes first
    for check, rows in (("forget", ELICITATIONS), ("refusal", FAMILIES), ("collateral", DATASETS)):
        section = _section(html, check)
        assert section.count("<svg") >= 1
        for row in rows:
            assert f">{row}</text>" in section
    forget = _section(html, "forget")
    assert 'class="chance"' in forget  # chance line from details
    assert forget.count("<circle") >= 2 * len(ELICITATIONS)  # target and baseline per elicitation
    assert "series-baseline" in forget and "series-target" in forget
    assert "<circle" in _section(html, "collateral") and 'class="threshold"' in _section(html, "collateral")


def test_report_escapes_text_and_uses_no_external_assets() -> None:
    evil = "<script>alert(1)</script>"
    refusal = refusal_result().model_copy(update={"summary": evil})
    html = render_report_html(build_scorecard(refusal=refusal, labels={"run": evil}))
    assert evil not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<link" not in html and "@import" not in html


def test_chart_scale_covers_negative_differences() -> None:
    metrics = [
        Metric(
            name="accuracy_change",
            value=-0.3,
            ci_low=-0.4,
            ci_high=-0.2,
            n=50,
            model="difference",
            variant="virology",
            direction="higher_is_better",
        )
    ]
    svg = render_chart(ChartSpec(title="d", metrics=metrics))
    xs = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', svg)]
    assert xs and all(x >= 0 for x in xs)
    assert ">0</text>" in svg  # zero is on the axis


def test_chart_specs_ignore_unbroken_figures() -> None:
    result = refusal_result()
    names = {spec.metrics[0].name for spec in chart_specs("refusal", result)}
    assert names == {"refusal_rate"}  # retention and over-refusal are single figures, shown in the table


def test_list_page_links_succeeded_jobs_with_badges() -> None:
    now = datetime.now(UTC)
    jobs = [
        Job(schema_version=SCHEMA_VERSION, id="job-a", status="succeeded", verdict="fail", created_at=now),
        Job(schema_version=SCHEMA_VERSION, id="job-b", status="running", created_at=now, labels={"x": "<i>"}),
    ]
    html = render_list_html(jobs)
    assert '<a href="/v1/evaluations/job-a/report">job-a</a>' in html
    assert 'class="badge fail"' in html
    assert "/v1/evaluations/job-b/report" not in html
    assert "&lt;i&gt;" in html and "<i>" not in html
    assert "no evaluations yet" in render_list_html([])
