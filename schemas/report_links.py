"""Short-lived signed report links: POST /v1/evaluations/{id}/report-links answers one."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

DEFAULT_LINK_TTL_S = 900
"""A link's lifetime when the request names none (15 minutes)."""
MIN_LINK_TTL_S = 60
MAX_LINK_TTL_S = 86_400
"""The longest a link may live (24 hours); links claiming more are refused when opened."""


class ReportLink(BaseModel):
    """A URL that opens one evaluation's HTML report without an API key, until `expires_at`."""

    evaluation_id: str
    format: Literal["html"] = Field("html", description="What the link opens: the HTML report.")
    url: str = Field(..., description="The report URL with its `token`; absolute when the server knows its base.")
    expires_at: str = Field(..., description="When the link stops working (ISO 8601, UTC).")
    ttl_s: int = Field(..., description="Its lifetime in seconds, as granted.")
