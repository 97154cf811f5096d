"""A real `unlearn-audit serve` process for end-to-end tests: started on a free port, waited for until ready,
stopped with SIGTERM, and never leaving a worker process behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.cli.server import free_port

ROOT = Path(__file__).resolve().parents[2]


def cli() -> list[str]:
    """The installed console script, or the same entry point through `python -m service`."""
    script = shutil.which("unlearn-audit")
    return [script] if script else [sys.executable, "-m", "service"]


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without its UNLEARN_AUDIT_* settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNLEARN_AUDIT_")}
    env.update(PYTHONPATH=str(ROOT), **settings)
    return env


def hub_serve_env(hub_url: str, sandbox_root: Path, tmp_path: Path) -> dict[str, str]:
    """Settings of a `serve` that audits sandbox models with datasets from the local Hub (and its CDN)."""
    return clean_env(
        UNLEARN_AUDIT_DATA_DIR=str(tmp_path / "data"),
        UNLEARN_AUDIT_SANDBOX_DIR=str(sandbox_root),
        UNLEARN_AUDIT_API_KEYS="admin-key:admin",
        UNLEARN_AUDIT_HUB_ENDPOINT=hub_url,
        UNLEARN_AUDIT_ALLOWED_HOSTS="127.0.0.1,localhost",
        UNLEARN_AUDIT_POLL_S="0.2",
        HF_HUB_DISABLE_TELEMETRY="1",
    )


def children_of(pid: int) -> list[int]:
    """Direct child processes (Linux /proc): the workers and multiprocessing's resource tracker."""
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def still_running(pids: list[int], grace_s: float = 10.0) -> list[int]:
    deadline = time.monotonic() + grace_s
    while True:
        alive = []
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:
                continue
            if state != "Z":  # a zombie has exited; only its parent's reaping is missing
                alive.append(pid)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


@dataclass
class Served:
    url: str
    log: Path
    children: list[int]


@contextmanager
def run_serve(env: dict[str, str], log: Path, *, workers: int = 1, ready_s: float = 90.0) -> Iterator[Served]:
    """`serve --workers N` on a free port until the block ends; asserts a clean exit and no orphaned worker."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [*cli(), "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        served = Served(url, log, [])
        try:
            deadline = time.monotonic() + ready_s
            while True:
                if process.poll() is not None:
                    raise AssertionError("serve exited early:\n" + log.read_text()[-3000:])
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError("serve not ready:\n" + log.read_text()[-3000:])
                time.sleep(0.3)
            served.children = children_of(process.pid)
            yield served
        finally:
            children = children_of(process.pid) if process.poll() is None else served.children
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
            finally:
                left = still_running(children)
                for pid in left:  # never leave an orphaned worker behind, even when the test fails
                    os.kill(pid, signal.SIGKILL)
            assert code == 0, log.read_text()[-3000:]
            assert not left, f"worker processes outlived serve: {left}"


def wait_until_ended(url: str, job_id: str, headers: dict[str, str] | None = None, timeout_s: float = 240) -> str:
    """The job's final status, polled over HTTP."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = str(httpx.get(f"{url}/v1/evaluations/{job_id}", headers=headers, timeout=10).json()["status"])
        if status not in ("queued", "running"):
            return status
        assert time.monotonic() < deadline, f"job {job_id} still {status}"
        time.sleep(0.5)
