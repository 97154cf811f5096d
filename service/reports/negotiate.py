"""Content negotiation for the scorecard endpoint: `?format=` wins over `Accept`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from schemas.errors import UnknownFormatError
from schemas.scorecard import Scorecard

ReportFormat = Literal["json", "markdown", "junit"]

REPORT_FORMATS: dict[str, ReportFormat] = {  # `?format=` value -> format
    "json": "json",
    "markdown": "markdown",
    "md": "markdown",
    "junit": "junit",
    "xml": "junit",
}
_MEDIA: dict[str, ReportFormat] = {
    "application/json": "json",
    "text/markdown": "markdown",
    "application/xml": "junit",
    "text/xml": "junit",
    "application/junit+xml": "junit",
}
MEDIA_TYPES: dict[ReportFormat, str] = {
    "json": "application/json",
    "markdown": "text/markdown",  # Litestar adds the one `charset=utf-8` to text/* types
    "junit": "application/xml",
}


def _parse_accept(accept: str) -> list[tuple[float, str]]:
    ranked: list[tuple[float, str]] = []
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        media, q = fields[0].lower(), 1.0
        for f in fields[1:]:
            if f.startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        if media:
            ranked.append((q, media))
    return sorted(ranked, key=lambda t: -t[0])  # stable: ties keep the client's order


def negotiate(accept: str | None, fmt: str | None) -> ReportFormat:
    """`json`, `markdown` or `junit`: `fmt` (`?format=`) if given, else the best `Accept` match, else json.

    Raises UnknownFormatError (400) for an unknown `fmt`.
    """
    if fmt:
        key = fmt.strip().lower()
        if key not in REPORT_FORMATS:
            raise UnknownFormatError(f"unknown format {fmt!r}; use json, markdown or junit", field="format")
        return REPORT_FORMATS[key]
    for q, media in _parse_accept(accept or ""):
        if q > 0 and media in _MEDIA:
            return _MEDIA[media]
    return "json"


def render_scorecard(sc: Scorecard | Mapping[str, Any], fmt: ReportFormat) -> tuple[str, str]:
    """(body, media type) of a scorecard in the negotiated format."""
    from service.reports.junit import to_junit
    from service.reports.markdown import to_markdown

    if fmt == "markdown":
        return to_markdown(sc), MEDIA_TYPES["markdown"]
    if fmt == "junit":
        return to_junit(sc), MEDIA_TYPES["junit"]
    card = sc if isinstance(sc, Scorecard) else Scorecard.model_validate(sc)
    return card.model_dump_json(), MEDIA_TYPES["json"]
