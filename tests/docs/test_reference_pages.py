"""The generated reference pages equal what the code generates: configuration from the settings model, the HTTP
API from the app's OpenAPI document; `python -m service.reference` writes them and `--check` finds drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.reference import PAGES
from service.reference.__main__ import main
from service.reference.configuration import CLIENT_ENVIRONMENT, configuration_reference_markdown, env_name
from service.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
REGENERATE = "regenerate it: python -m service.reference"
ENV_VARIABLE = re.compile(r"UNLEARN_AUDIT_[A-Z0-9]+[A-Z0-9_]*")


def test_the_configuration_page_is_generated_from_the_settings_model() -> None:
    page = (DOCS / "reference-configuration.md").read_text()
    assert page == configuration_reference_markdown(), f"docs/reference-configuration.md is stale; {REGENERATE}"
    for name, info in Settings.model_fields.items():
        assert info.description, f"Settings.{name} has no description for the configuration page"
        assert f"| `{env_name(name)}` |" in page


def test_every_environment_variable_the_code_reads_is_on_the_configuration_page() -> None:
    documented = {env_name(n) for n in Settings.model_fields} | set(CLIENT_ENVIRONMENT)
    found: dict[str, str] = {}
    for package in ("schemas", "evaluators", "service"):
        for path in (REPO / package).rglob("*.py"):
            if path.parent.name == "reference":
                continue
            for name in ENV_VARIABLE.findall(path.read_text()):
                found.setdefault(name, str(path.relative_to(REPO)))
    undocumented = {name: where for name, where in found.items() if name not in documented}
    assert not undocumented, f"variables named in the code but not on the configuration page: {undocumented}"
    assert set(CLIENT_ENVIRONMENT) <= set(found), "CLIENT_ENVIRONMENT lists a variable the code no longer reads"


def test_the_api_page_is_rendered_from_the_apps_openapi_document() -> None:
    from service.reference.api import api_reference_markdown, openapi_document

    document = openapi_document()
    page = (DOCS / "reference-api.md").read_text()
    assert page == api_reference_markdown(document), f"docs/reference-api.md is stale; {REGENERATE}"
    for path, item in document["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                assert f"### `{method.upper()} {path}`" in page


def test_the_regenerator_writes_every_page_and_check_finds_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--docs", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(PAGES)
    assert main(["--check", "--docs", str(tmp_path)]) == 0
    page = tmp_path / "reference-reasons.md"
    page.write_text(page.read_text() + "drift\n")
    capsys.readouterr()
    assert main(["--check", "--docs", str(tmp_path)]) == 1
    assert capsys.readouterr().out.strip() == f"stale: {page}"
    assert page.read_text().endswith("drift\n")  # --check writes nothing
