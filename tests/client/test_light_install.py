"""`pip install unlearn-audit` without extras, into a fresh virtual environment, from the package index.

The light install must hold the client and the client commands, and none of torch, Litestar or SQLAlchemy.
One venv per run (module scope): creating it and installing takes about a minute.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.client import Client
from service.settings import Settings
from tests.api.helpers import KEYS, valid_request
from tests.cli.server import running_api

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
INSTALL_BUDGET_S = 240


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run outside this test's environment: no PYTHONPATH or VIRTUAL_ENV leaking the checkout in."""
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(args, capture_output=True, text=True, timeout=INSTALL_BUDGET_S, env={**clean, **(env or {})})


@pytest.fixture(scope="module")
def light_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A venv with the project installed as a user would from a release: no extras, dependencies from the
    index. The sources are copied so the build leaves nothing in the checkout."""
    base = tmp_path_factory.mktemp("light")
    source = base / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for package in ("schemas", "evaluators", "service"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    venv = base / "venv"
    began = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=INSTALL_BUDGET_S)
    pip = _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(source)])
    assert pip.returncode == 0, pip.stdout + pip.stderr
    print(f"light venv created and installed in {time.monotonic() - began:.0f} s")
    yield venv


def test_the_light_install_has_the_client_and_not_the_server(light_venv: Path) -> None:
    python = str(light_venv / "bin" / "python")
    probe = (
        "import importlib.util, json, sys; import service.client, service.cli.submit; "
        "print(json.dumps({'absent': [m for m in ('torch', 'litestar', 'sqlalchemy', 'transformers', 'peft') "
        "if importlib.util.find_spec(m) is None], 'client': service.client.Client.__name__}))"
    )
    result = _run([python, "-c", probe])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "absent": ["torch", "litestar", "sqlalchemy", "transformers", "peft"],
        "client": "Client",
    }
    cli = str(light_venv / "bin" / "unlearn-audit")
    for command in ("submit", "wait", "verify"):
        shown = _run([cli, command, "--help"])
        assert shown.returncode == 0 and f"unlearn-audit {command}" in shown.stdout, shown.stderr
    for command, extra in (("serve", "worker"), ("keys", "server")):
        refused = _run([cli, command, *(["list"] if command == "keys" else [])])
        assert refused.returncode == 2 and f"pip install 'unlearn-audit[{extra}]'" in refused.stderr
        assert "Traceback" not in refused.stderr


def test_the_light_cli_submits_to_a_real_server(light_venv: Path, tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text(json.dumps(valid_request()))
    with running_api(Settings(data_dir=tmp_path / "data", api_keys=f"{KEYS['submitter']}")) as url:
        submitted = _run(
            [str(light_venv / "bin" / "unlearn-audit"), "submit", str(request), "--server", url],
            env={"UNLEARN_AUDIT_API_KEY": KEYS["submitter"]},
        )
        assert submitted.returncode == 0, submitted.stderr
        job_id = submitted.stdout.strip()
        with Client(url, api_key=KEYS["submitter"]) as client:
            assert client.job(job_id).status == "queued"
