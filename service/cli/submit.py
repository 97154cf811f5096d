"""`submit REQUEST.json [--wait]` and `wait JOB_ID`: the CI gate. Exit 0 pass, 1 fail (or warn with
--fail-on warn), 2 error. Both talk to the API through `service.client.Client`; the API key comes from
`$UNLEARN_AUDIT_API_KEY` (never the command line)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict, Unpack

from schemas.errors import AuditError
from service.cli.progress import ProgressLine
from service.cli.summary import format_scorecard
from service.client import Client
from service.client.calls import DEFAULT_SERVER

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
CI_RUN_ID_VARS = (
    "GITHUB_RUN_ID",
    "GITHUB_RUN_ATTEMPT",
    "CI_PIPELINE_ID",
    "CI_JOB_ID",
    "BUILDKITE_BUILD_ID",
    "CIRCLE_WORKFLOW_ID",
    "BUILD_ID",
)
"""Environment variables that identify one CI run: a retried step of the same run reuses its job."""
__all__ = ["DEFAULT_SERVER", "format_scorecard", "idempotency_key", "submit", "verdict_exit_code", "wait_command"]


class SubmitError(Exception):
    """A request file that cannot be read (exit 2)."""


def idempotency_key(request: dict[str, Any], environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """sha256 of the canonical request and the CI run ids; outside CI a fresh nonce (a new run each call)."""
    run_ids = {name: environ[name] for name in CI_RUN_ID_VARS if environ.get(name)}
    if not run_ids:
        run_ids = {"nonce": uuid.uuid4().hex}
    payload = json.dumps({"request": request, "run": run_ids}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _load_request(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
        request = json.loads(text)
    except (OSError, ValueError) as exc:
        raise SubmitError(f"cannot read request {path}: {exc}") from exc
    if not isinstance(request, dict):
        raise SubmitError(f"request {path} must be a JSON object")
    return request


def _error_exit(exc: Exception) -> int:
    field = getattr(exc, "field", None)
    print(f"unlearn-audit: {exc}" + (f" (field {field})" if field else ""), file=sys.stderr)
    return EXIT_ERROR


def verdict_exit_code(verdict: str, fail_on: str) -> int:
    """0 for pass (and warn unless `fail_on` is warn), 1 for fail."""
    if verdict == "fail" or (verdict == "warn" and fail_on == "warn"):
        return EXIT_FAIL
    return EXIT_PASS


def gate(
    client: Client,
    job_id: str,
    *,
    fail_on: str = "fail",
    timeout: float | None = None,
    output: str | None = None,
    junit: str | None = None,
    markdown: str | None = None,
) -> int:
    """Wait for the job (progress on stderr), write the reports asked for, print the summary; the exit code."""
    progress = ProgressLine(sys.stderr)
    try:
        job = client.wait(job_id, timeout=timeout, on_update=lambda job: progress.show(job.model_dump(mode="json")))
    finally:
        progress.close()
    if job.status != "succeeded":
        reason = f"{job.error.code} {job.error.message}" if job.error else "no error recorded"
        raise AuditError(f"evaluation {job.id} {job.status}: {reason}")
    scorecard = client.scorecard_json(job.id)
    if output:
        Path(output).write_text(json.dumps(scorecard, indent=2))
    if junit:  # rendered by the server, as its ?format= serves them
        Path(junit).write_text(client.scorecard_text(job.id, "junit"))
    if markdown:
        Path(markdown).write_text(client.scorecard_text(job.id, "markdown"))
    print(format_scorecard(scorecard))
    return verdict_exit_code(scorecard["verdict"], fail_on)


class GateOptions(TypedDict, total=False):
    """What `gate` takes besides the client and the job: the verdict that fails, the wait, the reports."""

    fail_on: str
    timeout: float | None
    output: str | None
    junit: str | None
    markdown: str | None


def submit(request_path: str, *, server: str | None, wait: bool, **options: Unpack[GateOptions]) -> int:
    """Submit one request; with `wait`, print the scorecard summary and return the gate's exit code."""
    try:
        request = _load_request(request_path)
    except SubmitError as exc:
        return _error_exit(exc)

    def submitted(client: Client) -> str | None:
        job = client.submit(request, idempotency_key=idempotency_key(request))
        print(f"evaluation {job.id}: {job.status}", file=sys.stderr)
        if not wait:
            print(job.id)
            return None
        return job.id

    return _gate_on(server, submitted, options)


def wait_command(job_id: str, *, server: str | None, **options: Unpack[GateOptions]) -> int:
    """`wait JOB_ID`: gate on an evaluation submitted earlier (`submit` without --wait)."""
    return _gate_on(server, lambda client: job_id, options)


def _gate_on(server: str | None, job_to_gate: Callable[[Client], str | None], options: GateOptions) -> int:
    """One client of `server`: `job_to_gate` names the job to gate on (None: nothing to wait for, exit 0);
    an error of the tree exits 2."""
    try:
        with Client(server) as client:
            job_id = job_to_gate(client)
            return EXIT_PASS if job_id is None else gate(client, job_id, **options)
    except AuditError as exc:
        return _error_exit(exc)
