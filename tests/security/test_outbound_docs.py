"""docs/security.md names what the code enforces: its settings and metadata addresses cannot drift."""

from __future__ import annotations

from pathlib import Path

from evaluators.net.addresses import METADATA_ADDRESSES
from evaluators.net.policy import HOSTS_SETTING, LINK_LOCAL_SETTING
from service.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_security_doc_names_the_settings_and_metadata_addresses() -> None:
    text = DOC.read_text()
    prefix = Settings.model_config.get("env_prefix", "")
    for setting in (HOSTS_SETTING, LINK_LOCAL_SETTING):
        assert setting in text
        assert setting.removeprefix(prefix).lower() in Settings.model_fields
    for address in METADATA_ADDRESSES:
        assert str(address) in text
