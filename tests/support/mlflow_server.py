"""Shared test fixtures: a real MLflow tracking server, MLflow installed in a virtualenv of its own.

MLflow pins much of what the project uses (SQLAlchemy, FastAPI, transformers...), so it never joins the project's
virtualenv: `mlflow_venv` builds `python -m venv` + `pip install mlflow[auth]==MLFLOW_VERSION transformers==...`
once, under `$UNLEARN_AUDIT_TEST_CACHE/mlflow-<version>` when that variable is set, else
`<repo>/.sandbox/mlflow-<version>` (git-ignored), behind a lock so concurrent sessions wait for one build.
transformers is the newest MLflow MLFLOW_VERSION supports: its transformers flavor logs a local checkpoint
offline, without torch.

`mlflow_server` runs `mlflow server --app-name basic-auth` on a free 127.0.0.1 port for the session (SQLite
backend store, artifacts served from a temporary folder with `--serve-artifacts`): a `RunningMLflow` with an
admin and a read-only user, and `run_script` to drive MLflow's own client inside that virtualenv.

`python -m tests.support.mlflow_server` builds the virtualenv ahead (as CI may, before pytest).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

MLFLOW_VERSION = "3.17.2"
TRANSFORMERS_FOR_MLFLOW = "5.17.0"
READY = "READY.json"
ADMIN = ("admin", "admin-password-for-tests")
READER = ("reader", "reader-password-for-tests")
START_TIMEOUT_S = 120.0

QUIET_MLFLOW = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
}
"""No telemetry, no Hub: the tests reach nothing beyond 127.0.0.1."""


def mlflow_venv_root() -> Path:
    """Where MLflow's virtualenv is cached."""
    cache = os.environ.get("UNLEARN_AUDIT_TEST_CACHE")
    name = f"mlflow-{MLFLOW_VERSION}"
    if cache:
        return Path(cache) / name
    return Path(__file__).resolve().parents[2] / ".sandbox" / name


def build_mlflow_venv(root: Path) -> dict[str, Any]:
    """Create (once) the virtualenv with MLflow; its READY record ({mlflow, transformers, build_s})."""
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second session waits here for the first one's build
        ready = root / READY
        if ready.is_file():
            return dict(json.loads(ready.read_text()))
        shutil.rmtree(root, ignore_errors=True)  # what an interrupted build left
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=300)
        subprocess.run(
            [
                str(root / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                f"mlflow[auth]=={MLFLOW_VERSION}",
                f"transformers=={TRANSFORMERS_FOR_MLFLOW}",
            ],
            check=True,
            timeout=1200,
            env={**os.environ, **QUIET_MLFLOW},
        )
        record = {
            "mlflow": MLFLOW_VERSION,
            "transformers": TRANSFORMERS_FOR_MLFLOW,
            "build_s": round(time.monotonic() - started, 1),
        }
        ready.write_text(json.dumps(record))
        return record


@dataclass
class RunningMLflow:
    """A running tracking server: its URL, users, and MLflow's own client to drive it."""

    url: str
    venv: Path
    root: Path
    startup_s: float
    admin: tuple[str, str] = ADMIN
    reader: tuple[str, str] = READER

    def run_script(self, script: Path, *args: str, timeout: float = 120.0) -> Any:
        """Run `script` with MLflow's virtualenv python, as the admin user against this server; the JSON its
        last line of output prints."""
        env = {
            **os.environ,
            **QUIET_MLFLOW,
            "MLFLOW_TRACKING_URI": self.url,
            "MLFLOW_TRACKING_USERNAME": self.admin[0],
            "MLFLOW_TRACKING_PASSWORD": self.admin[1],
        }
        done = subprocess.run(
            [str(self.venv / "bin" / "python"), str(script.resolve()), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=self.root,
        )
        if done.returncode != 0:
            raise AssertionError(f"{script.name} failed ({done.returncode}):\n{done.stderr[-4000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    import httpx

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited ({process.returncode}):\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"mlflow server did not answer within {START_TIMEOUT_S:g}s:\n{log.read_text()[-4000:]}")


def _add_reader(url: str) -> None:
    import httpx

    response = httpx.post(
        f"{url}/api/2.0/mlflow/users/create",
        json={"username": READER[0], "password": READER[1]},
        auth=ADMIN,
        timeout=30.0,
    )
    response.raise_for_status()


def _stop(process: subprocess.Popen[bytes]) -> None:
    # The server runs uvicorn in a child process: the whole session (its own process group) is stopped.
    for sig, wait_s in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def running_mlflow(venv: Path, root: Path) -> Iterator[RunningMLflow]:
    """`mlflow server` with basic auth, its stores under `root`, until the block ends."""
    root.mkdir(parents=True, exist_ok=True)
    auth_ini = root / "basic_auth.ini"
    auth_ini.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = sqlite:///{root / 'auth.db'}\n"
        f"admin_username = {ADMIN[0]}\n"
        f"admin_password = {ADMIN[1]}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        # Each request would otherwise pay a slow PBKDF2 hash of the password.
        "auth_cache_ttl_seconds = 600\n"
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        **QUIET_MLFLOW,
        "MLFLOW_AUTH_CONFIG_PATH": str(auth_ini),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "test-only-secret-key",
        # The job runner (huey consumers) serves GenAI features these tests do not use: seven fewer processes.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        # Registry webhooks to a service on this machine, over plain HTTP, seen as soon as they are created.
        "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
        "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
        "MLFLOW_WEBHOOK_CACHE_TTL": "1",
    }
    command = [
        str(venv / "bin" / "mlflow"),
        "server",
        "--app-name",
        "basic-auth",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--serve-artifacts",
        "--artifacts-destination",
        str(root / "artifacts"),
    ]
    log = root / "server.log"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True
        )
    try:
        _wait_healthy(url, process, log)
        _add_reader(url)
        yield RunningMLflow(url, venv, root, startup_s=round(time.monotonic() - started, 1))
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def mlflow_venv() -> Path:
    """MLflow's own virtualenv (built on first use, then reused from the cache)."""
    root = mlflow_venv_root()
    build_mlflow_venv(root)
    return root


@pytest.fixture(scope="session")
def mlflow_server(mlflow_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMLflow]:
    """A running `mlflow server` (basic auth: `admin` may do anything, `reader` only read) for the session."""
    with running_mlflow(mlflow_venv, tmp_path_factory.mktemp("mlflow")) as running:
        yield running


if __name__ == "__main__":  # `python -m tests.support.mlflow_server`: build MLflow's virtualenv ahead
    print(json.dumps(build_mlflow_venv(mlflow_venv_root())))
