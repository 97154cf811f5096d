"""`judges calibrate|list|show`: model-judge calibrations through the API (admin key in UNLEARN_AUDIT_API_KEY).

Exit 0 when the call (and with `--wait`, the calibration) succeeded, 2 otherwise.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import httpx

from service.cli.submit import DEFAULT_SERVER, EXIT_ERROR, EXIT_PASS, SubmitError, _load_request
from service.client.calls import auth_headers
from service.client.errors import error_from_response

CALIBRATIONS = "/v1/judges/calibrations"
POLL_S = 2.0


def _call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    try:
        response = client.request(method, path, headers=auth_headers(None), **kwargs)
    except httpx.TransportError as exc:
        raise SubmitError(f"cannot reach {client.base_url}: {exc}") from exc
    if response.status_code >= 400:
        error = error_from_response(response)
        raise SubmitError(f"{error} (field {error.field})" if error.field else str(error))
    body: dict[str, Any] = response.json()
    return body


def format_calibration(calibration: dict[str, Any]) -> str:
    """A few lines for a person: key, status, and pooled agreement in both binarisations with n and interval."""
    model = calibration["model"] or "(TGI: one model)"
    lines = [f"{calibration['id']}  {calibration['status']}  {calibration['endpoint']}  {model}"]
    figures = calibration.get("figures") or {}
    pooled = (figures.get("agreement") or {}).get("pooled") or {}
    for name in ("paper", "gate"):
        overall = (pooled.get(name) or {}).get("overall")
        if overall and overall.get("agreement") is not None:
            lines.append(
                f"  {name:5s} agreement {overall['agreement']:.3f} "
                f"[{overall['ci_low']:.3f}, {overall['ci_high']:.3f}] n={overall['n']}"
            )
    if figures:
        lines.append(
            f"  set {figures.get('set_version')} ({figures.get('split')}), rubric {figures.get('rubric_version')}, "
            f"calibrated {figures.get('calibrated_at')}"
        )
    if calibration.get("error"):
        lines.append(f"  error {calibration['error']['code']}: {calibration['error']['message']}")
    return "\n".join(lines)


def _wait(client: httpx.Client, calibration: dict[str, Any], timeout: float | None) -> dict[str, Any]:
    started = time.monotonic()
    while calibration["status"] in ("queued", "running"):
        if timeout is not None and time.monotonic() - started > timeout:
            raise SubmitError(f"calibration {calibration['id']} still {calibration['status']} after {timeout:.0f}s")
        time.sleep(POLL_S)
        calibration = _call(client, "GET", f"{CALIBRATIONS}/{calibration['id']}")
    return calibration


def judges_command(
    action: str,
    *,
    server: str | None,
    target: str | None = None,
    split: str | None = None,
    limit: int | None = None,
    wait: bool = False,
    timeout: float | None = None,
    calibration_id: str | None = None,
    endpoint: str | None = None,
    model: str | None = None,
    as_json: bool = False,
) -> int:
    """Run one `judges` action against the API; print the result (JSON with `as_json`); the exit code."""
    base_url = server or os.environ.get("UNLEARN_AUDIT_SERVER") or DEFAULT_SERVER
    try:
        with httpx.Client(base_url=base_url, timeout=30.0) as client:
            if action == "calibrate":
                body: dict[str, Any] = {"target": _load_request(target or "-")}
                body.update({k: v for k, v in (("split", split), ("limit", limit)) if v is not None})
                result = _call(client, "POST", CALIBRATIONS, json=body)
                print(f"judge calibration {result['id']}: {result['status']}", file=sys.stderr)
                if wait:
                    result = _wait(client, result, timeout)
            elif action == "list":
                params = {k: v for k, v in (("endpoint", endpoint), ("model", model), ("limit", limit)) if v}
                result = _call(client, "GET", CALIBRATIONS, params=params)
            else:
                result = _call(client, "GET", f"{CALIBRATIONS}/{calibration_id}")
    except SubmitError as exc:
        print(f"unlearn-audit: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if as_json:
        print(json.dumps(result, indent=2))
    elif action == "list":
        print("\n".join(format_calibration(c) for c in result["items"]) or "no calibrations")
    else:
        print(format_calibration(result))
    return EXIT_ERROR if result.get("status") == "failed" else EXIT_PASS
