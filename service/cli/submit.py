"""`submit REQUEST.json [--wait]`: the CI gate. Exit 0 pass, 1 fail (or warn with --fail-on warn), 2 error."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from service.cli.progress import ProgressLine
from service.cli.summary import format_scorecard

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
DEFAULT_SERVER = "http://127.0.0.1:8000"
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


class SubmitError(Exception):
    """Anything that keeps `submit` from reaching a verdict (exit 2)."""


def idempotency_key(request: dict[str, Any], environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """sha256 of the canonical request and the CI run ids; outside CI a fresh nonce (a new run each call)."""
    run_ids = {name: environ[name] for name in CI_RUN_ID_VARS if environ.get(name)}
    if not run_ids:
        run_ids = {"nonce": uuid.uuid4().hex}
    payload = json.dumps({"request": request, "run": run_ids}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _headers() -> dict[str, str]:
    key = os.environ.get("UNLEARN_AUDIT_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


def _error_text(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        field = f" (field {error['field']})" if error.get("field") else ""
        return f"{response.status_code} {error['code']}: {error['message']}{field}"
    except (ValueError, KeyError, TypeError):
        return f"{response.status_code}: {response.text[:500]}"


def _load_request(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
        request = json.loads(text)
    except (OSError, ValueError) as exc:
        raise SubmitError(f"cannot read request {path}: {exc}") from exc
    if not isinstance(request, dict):
        raise SubmitError(f"request {path} must be a JSON object")
    return request


def _post(client: httpx.Client, request: dict[str, Any]) -> dict[str, Any]:
    headers = {**_headers(), "Idempotency-Key": idempotency_key(request)}
    for attempt in range(3):  # safe to retry: the idempotency key makes a repeat return the same job
        try:
            response = client.post("/v1/evaluations", json=request, headers=headers)
        except httpx.TransportError as exc:
            if attempt == 2:
                raise SubmitError(f"cannot reach {client.base_url}: {exc}") from exc
            time.sleep(1 + attempt)
            continue
        if response.status_code in (200, 202):
            job: dict[str, Any] = response.json()
            return job
        raise SubmitError(f"submission refused: {_error_text(response)}")
    raise AssertionError("unreachable")


def _get(client: httpx.Client, path: str) -> dict[str, Any]:
    try:
        response = client.get(path, headers=_headers())
    except httpx.TransportError as exc:
        raise SubmitError(f"cannot reach {client.base_url}: {exc}") from exc
    if response.status_code != 200:
        raise SubmitError(f"GET {path}: {_error_text(response)}")
    body: dict[str, Any] = response.json()
    return body


def wait_for(client: httpx.Client, job: dict[str, Any], timeout: float | None) -> dict[str, Any]:
    """Poll the job until it ends, showing progress on stderr; SubmitError on timeout."""
    deadline = None if timeout is None else time.monotonic() + timeout
    progress = ProgressLine(sys.stderr)
    delay = 0.5
    while job["status"] in ("queued", "running"):
        progress.show(job)
        if deadline is not None and time.monotonic() >= deadline:
            progress.close()
            raise SubmitError(f"evaluation {job['id']} still `{job['status']}` after {timeout:g} s")
        time.sleep(delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic())))
        delay = min(delay * 1.5, 5.0)
        try:
            job = _get(client, f"/v1/evaluations/{job['id']}")
        except SubmitError:
            if deadline is not None and time.monotonic() >= deadline:
                raise
            continue  # a transient outage of the API must not fail a long CI wait
    progress.show(job)
    progress.close()
    return job


def write_reports(scorecard: dict[str, Any], *, output: str | None, junit: str | None, markdown: str | None) -> None:
    """Write the scorecard JSON and the JUnit and Markdown reports that were asked for."""
    if output:
        Path(output).write_text(json.dumps(scorecard, indent=2))
    if junit or markdown:
        from service.reports import to_junit, to_markdown

        if junit:
            Path(junit).write_text(to_junit(scorecard))
        if markdown:
            Path(markdown).write_text(to_markdown(scorecard))


def verdict_exit_code(verdict: str, fail_on: str) -> int:
    """0 for pass (and warn unless `fail_on` is warn), 1 for fail."""
    if verdict == "fail" or (verdict == "warn" and fail_on == "warn"):
        return EXIT_FAIL
    return EXIT_PASS


def submit(
    request_path: str,
    *,
    server: str | None,
    wait: bool,
    fail_on: str = "fail",
    timeout: float | None = None,
    output: str | None = None,
    junit: str | None = None,
    markdown: str | None = None,
) -> int:
    """Submit one request; with `wait`, print the scorecard summary and return the gate's exit code."""
    base_url = server or os.environ.get("UNLEARN_AUDIT_SERVER") or DEFAULT_SERVER
    try:
        request = _load_request(request_path)
        with httpx.Client(base_url=base_url, timeout=30.0) as client:
            job = _post(client, request)
            print(f"evaluation {job['id']}: {job['status']}", file=sys.stderr)
            if not wait:
                print(job["id"])
                return EXIT_PASS
            job = wait_for(client, job, timeout)
            if job["status"] != "succeeded":
                error = job.get("error") or {}
                reason = f"{error.get('code', '')} {error.get('message', '')}".strip()
                raise SubmitError(f"evaluation {job['id']} {job['status']}: {reason or 'no error recorded'}")
            scorecard = _get(client, f"/v1/evaluations/{job['id']}/scorecard")
    except SubmitError as exc:
        print(f"unlearn-audit: {exc}", file=sys.stderr)
        return EXIT_ERROR
    write_reports(scorecard, output=output, junit=junit, markdown=markdown)
    print(format_scorecard(scorecard))
    return verdict_exit_code(scorecard["verdict"], fail_on)
