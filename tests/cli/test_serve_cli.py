"""`serve` options: where it binds with and without API keys, and the parser's commands."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from service.auth import KeyRing
from service.cli import build_parser, main
from service.cli.serve import choose_host
from service.settings import Settings


def test_without_keys_serve_binds_localhost_only_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    no_keys = KeyRing.from_settings(Settings(data_dir=tmp_path, api_keys=None, api_keys_file=None))
    with caplog.at_level(logging.INFO, logger="unlearn_audit.serve"):
        assert choose_host(None, no_keys) == "127.0.0.1"
        assert choose_host("0.0.0.0", no_keys) == "127.0.0.1"
    assert "no API keys configured: binding to 127.0.0.1 only, not 0.0.0.0" in caplog.text


def test_with_keys_serve_binds_where_asked(tmp_path: Path) -> None:
    keys = KeyRing.from_settings(Settings(data_dir=tmp_path, api_keys="k"))
    assert choose_host(None, keys) == "0.0.0.0"
    assert choose_host("10.0.0.5", keys) == "10.0.0.5"


def test_parser_commands() -> None:
    parser = build_parser()
    serve = parser.parse_args(["serve", "--port", "9000", "--workers", "3"])
    assert (serve.command, serve.port, serve.workers, serve.host) == ("serve", 9000, 3, None)
    submit = parser.parse_args(["submit", "r.json", "--wait", "--fail-on", "warn", "--timeout", "60"])
    assert (submit.wait, submit.fail_on, submit.timeout) == (True, "warn", 60.0)
    assert parser.parse_args(["sandbox", "build", "--dir", "/x"]).dir == "/x"
    with pytest.raises(SystemExit):
        parser.parse_args(["submit", "r.json", "--fail-on", "never"])


def test_submit_of_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["submit", str(tmp_path / "nope.json"), "--server", "http://127.0.0.1:9"]) == 2
    assert "cannot read request" in capsys.readouterr().err
