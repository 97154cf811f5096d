"""Reference pages of the documentation site, generated from the code's own lists.

`PAGES` maps a page under docs/ to the function that renders it; `python -m service.reference` writes them
(`--check` only reports the stale ones). Tests keep each committed page equal to its generator's text.
"""

from __future__ import annotations

from collections.abc import Callable


def _errors() -> str:
    from service.errors import error_reference_markdown

    return error_reference_markdown()


def _reasons() -> str:
    from service.reference.reasons import reason_reference_markdown

    return reason_reference_markdown()


def _configuration() -> str:
    from service.reference.configuration import configuration_reference_markdown

    return configuration_reference_markdown()


def _api() -> str:
    from service.reference.api import api_reference_markdown

    return api_reference_markdown()


PAGES: dict[str, Callable[[], str]] = {
    "errors.md": _errors,
    "reference-reasons.md": _reasons,
    "reference-configuration.md": _configuration,
    "reference-api.md": _api,
}
"""Page name under docs/ -> its generator (imports wait until a page is rendered)."""
