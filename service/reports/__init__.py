"""Scorecard reports: Markdown (pull-request comments), JUnit XML (CI), HTML pages with inline SVG charts.

All renderers are pure functions of a `schemas.Scorecard` (or its JSON dict). Routes: `routes.report_router`.
"""

from service.reports.html import render_list_html, render_report_html
from service.reports.junit import to_junit
from service.reports.markdown import to_markdown
from service.reports.negotiate import MEDIA_TYPES, REPORT_FORMATS, ReportFormat, negotiate, render_scorecard

__all__ = [
    "MEDIA_TYPES",
    "REPORT_FORMATS",
    "ReportFormat",
    "negotiate",
    "render_list_html",
    "render_report_html",
    "render_scorecard",
    "to_junit",
    "to_markdown",
]
