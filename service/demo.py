"""`unlearn-audit demo`: every sandbox control audited through the real service, checked against the truth.

Builds the sandbox when needed, starts `unlearn-audit serve` as a child process on a free 127.0.0.1 port
with its own temporary data directory, submits one evaluation per control (baseline `base`, suite
`sandbox`) over HTTP, waits, prints a table of verdicts with a mark per cell against the truth table
(`evaluators.sandbox.EXPECTED_VERDICTS`), writes each scorecard (and its HTML report when the server
serves one) into the output directory, and stops the server with SIGTERM.

Exit codes: 0 every cell matches the truth, 1 some cell does not (a `warn`, `skipped` or `error` cell is a
mismatch), 2 the demo itself could not run (sandbox build, server start, timeout).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

import httpx

from schemas.errors import AuditError, NotFoundError, UnavailableError
from schemas.jobs import TERMINAL_STATUSES
from schemas.targets import SANDBOX_CONTROLS
from service.client import Client
from service.settings import Settings

CHECKS = ("forget", "refusal", "collateral")
_OK, _BAD = "✓", "✗"
_READY_TIMEOUT_S = 120.0
_STOP_GRACE_S = 30.0
_POLL_S = 1.0
_CONCLUSIVE = frozenset({"pass", "warn", "fail"})
SUBMISSION_ORDER = ("base", "retrain", "shallow", "robust_shallow", "ga", "quant_fragile", "norefusal", "rmu")
"""The order the demo submits its audits in; workers claim jobs first come, first served. `base` goes first:
its audit fills its worker's memo with the baseline's results, which every later audit there reuses, while the
other worker's first audit computes them as well (about one audit more). From then on the two workers take
turns, so the longer audits go where the worker that started with `base` will claim them: `ga` and `norefusal`
do not refuse, so their refusal replies run to the token limit. The two workers then finish closer together."""


class DemoError(Exception):
    """The demo could not run (not a mismatch with the truth): exit code 2."""


@dataclass
class Cell:
    """One check of one control: its verdict, headline figure, and whether it matches the truth."""

    check: str
    expected: str
    verdict: str
    figure: str = ""
    """`0.123 [0.050, 0.210]`: the headline value and its interval."""
    detail: str = ""
    """The headline's name, n and elicitation; or why the check did not run."""

    named_right: bool = True
    """For a forget `fail`: the elicitation named is one the control was built to be caught by."""

    @property
    def matches(self) -> bool:
        return cell_matches(self.expected, self.verdict) and self.named_right


@dataclass
class ControlOutcome:
    """One control's evaluation: the job's end state and one cell per check."""

    control: str
    job_id: str | None
    status: str
    cells: list[Cell] = field(default_factory=list)
    error: str | None = None
    files: list[Path] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return self.status == "succeeded" and all(cell.matches for cell in self.cells)


def cell_matches(expected: str, verdict: str) -> bool:
    """Whether a verdict satisfies the truth table: `any` accepts pass/warn/fail but never a check that did
    not run (`skipped`, `error`, missing); otherwise the verdict must equal the expectation."""
    if expected == "any":
        return verdict in _CONCLUSIVE
    return verdict == expected


def _num(x: Any) -> str:
    return "n/a" if x is None else f"{float(x):.3f}"


def format_figure(headline: dict[str, Any] | None) -> str:
    """`0.123 [0.050, 0.210]` (value and interval of a headline metric), or `` without one."""
    if not headline:
        return ""
    return f"{_num(headline.get('value'))} [{_num(headline.get('ci_low'))}, {_num(headline.get('ci_high'))}]"


def format_detail(result: dict[str, Any]) -> str:
    """`residual_knowledge n=48 via relearning` for a measured check; the reason for one that did not run."""
    headline = result.get("headline")
    if not headline:
        return str(result.get("summary") or ", ".join(result.get("reasons") or []) or "no headline figure")
    text = f"{headline.get('name', '?')} n={headline.get('n', '?')}"
    # The elicitation or attack behind a worst-case figure: the truth table says which one it must be.
    return f"{text} via {headline['variant']}" if headline.get("variant") else text


def cells_from_scorecard(control: str, scorecard: dict[str, Any]) -> list[Cell]:
    """One cell per check, read from a scorecard's JSON; a check missing from it reads as `skipped`. A forget
    `fail` of a control built to be caught by certain elicitations matches only when it names one of them."""
    from evaluators.sandbox import BUILT_FOR, EXPECTED_VERDICTS

    expected = EXPECTED_VERDICTS[control]
    checks = scorecard.get("checks") or {}
    cells = []
    for name, want in zip(CHECKS, expected, strict=True):
        result = checks.get(name)
        if result is None:
            cells.append(Cell(name, want, "skipped", detail="not on the scorecard: the check did not run"))
            continue
        verdict = str(result.get("verdict"))
        cell = Cell(name, want, verdict, format_figure(result.get("headline")), format_detail(result))
        chosen = (result.get("details") or {}).get("chosen_elicitation")
        if name == "forget" and want == verdict == "fail" and control in BUILT_FOR:
            cell.named_right = chosen in BUILT_FOR[control]
            if not cell.named_right:
                cell.detail += f" (built to be caught by {', '.join(sorted(BUILT_FOR[control]))})"
        cells.append(cell)
    return cells


def render_table(outcomes: list[ControlOutcome]) -> str:
    """The verdict table (one row per control; per check: mark, verdict, headline value and interval), then
    what each figure is (name, n, elicitation) or why a check did not run, then the count of matches."""
    header = ["control", *CHECKS]
    rows = [header]
    details: list[str] = []
    for outcome in outcomes:
        if outcome.status != "succeeded":
            rows.append([outcome.control, f"{_BAD} {outcome.status}", "", ""])
            details.append(f"{outcome.control}: {outcome.status}: {outcome.error or 'no error recorded'}")
            continue
        row = [outcome.control]
        for cell in outcome.cells:
            mark = _OK if cell.matches else _BAD
            want = "" if cell.matches else f" (want {cell.expected})"
            row.append(f"{mark} {cell.verdict}{want} {cell.figure}".rstrip())
            details.append(f"{outcome.control}/{cell.check}: {cell.verdict}: {cell.detail}")
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    matched = sum(cell.matches for o in outcomes for cell in o.cells)
    total = len(outcomes) * len(CHECKS)
    return "\n".join([*lines, "", *details, "", f"{matched}/{total} cells match the truth table"])


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the server binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server_env(data_dir: Path, sandbox_root: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The demo's server is private: its own SQLite store, no API keys (so it binds 127.0.0.1 only).
    for name in ("UNLEARN_AUDIT_DATABASE_URL", "UNLEARN_AUDIT_API_KEYS", "UNLEARN_AUDIT_API_KEYS_FILE"):
        env.pop(name, None)
    env["UNLEARN_AUDIT_DATA_DIR"] = str(data_dir)
    env["UNLEARN_AUDIT_SANDBOX_DIR"] = str(sandbox_root)
    env["UNLEARN_AUDIT_POLL_S"] = "0.2"
    # The child imports `service` from where this process did, installed or run from a checkout.
    source_root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source_root, env.get("PYTHONPATH", "")) if p)
    return env


class DemoServer:
    """`unlearn-audit serve` in a child process; a context manager that stops it with SIGTERM."""

    def __init__(self, data_dir: Path, sandbox_root: Path, log_path: Path, workers: int = 1) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._log = log_path.open("wb")
        command = [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--workers", str(workers)],
            env=_server_env(data_dir, sandbox_root),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.log_path = log_path

    def wait_ready(self, client: httpx.Client, timeout_s: float = _READY_TIMEOUT_S) -> None:
        """Poll /readyz until 200; DemoError when the process exits or the time runs out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DemoError(f"the server exited with code {self.process.returncode}; see {self.log_path}")
            try:
                if client.get(f"{self.base_url}/readyz", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.2)
        raise DemoError(f"the server was not ready after {timeout_s:.0f} s; see {self.log_path}")

    def stop(self) -> int | None:
        """SIGTERM, wait for a clean exit (workers put jobs back), SIGKILL after the grace period."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def __enter__(self) -> DemoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def submission_order(controls: tuple[str, ...]) -> list[str]:
    """`controls` in `SUBMISSION_ORDER`; any control it does not name goes last, in the given order."""
    rank = {control: i for i, control in enumerate(SUBMISSION_ORDER)}
    return sorted(controls, key=lambda control: rank.get(control, len(rank)))


def demo_request(control: str) -> dict[str, Any]:
    """The evaluation request the demo submits for one control."""
    return {
        "target": {"kind": "sandbox", "name": control},
        "baseline": {"kind": "sandbox", "name": "base"},
        "suite": "sandbox",
        "labels": {"demo": "sandbox", "control": control},
    }


class _ProgressDisplay:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.interactive = stream.isatty()
        self.started = time.monotonic()
        self._last = ""

    def show(self, jobs: dict[str, dict[str, Any]]) -> None:
        done = sum(job["status"] in TERMINAL_STATUSES for job in jobs.values())
        running = [
            f"{control}: {(job.get('progress') or {}).get('check') or '-'} "
            f"{(job.get('progress') or {}).get('done', 0)}/{(job.get('progress') or {}).get('total', 0)}"
            for control, job in jobs.items()
            if job["status"] == "running"
        ]
        line = f"demo: {done}/{len(jobs)} evaluations finished"
        if running:
            line += "; " + ", ".join(running)
        if line == self._last:
            return
        elapsed = f" ({time.monotonic() - self.started:.0f}s)"
        if self.interactive:
            self.stream.write("\r" + (line + elapsed).ljust(len(self._last) + 8))
        else:
            self.stream.write(line + elapsed + "\n")
        self.stream.flush()
        self._last = line

    def close(self) -> None:
        if self.interactive and self._last:
            self.stream.write("\n")
            self.stream.flush()


def _build_progress(stream: TextIO) -> Callable[[str, int, int], None]:
    last = [""]

    def progress(stage: str, done: int, total: int) -> None:
        if stage != last[0] or done >= total:  # a line per stage start and end
            stream.write(f"sandbox: {stage} {done}/{total}\n")
            stream.flush()
        last[0] = stage

    return progress


def evaluate_controls(
    client: Client,
    requests: dict[str, dict[str, Any]],
    out_dir: Path,
    stream: TextIO,
    timeout_s: float,
) -> list[ControlOutcome]:
    """Submit one request per control through `client`, wait for all (progress on `stream`), and collect
    each outcome, writing scorecards and reports into `out_dir`."""
    ids: dict[str, str] = {}
    for control, body in requests.items():
        try:
            ids[control] = client.submit(body).id
        except AuditError as exc:
            raise DemoError(f"submitting {control}: {exc}") from exc
    display = _ProgressDisplay(stream)
    deadline = time.monotonic() + timeout_s
    jobs: dict[str, dict[str, Any]] = {}
    try:
        while True:
            for control, job_id in ids.items():
                if control in jobs and jobs[control]["status"] in TERMINAL_STATUSES:
                    continue
                jobs[control] = client.job(job_id).model_dump(mode="json")
            display.show(jobs)
            if all(job["status"] in TERMINAL_STATUSES for job in jobs.values()):
                break
            if time.monotonic() > deadline:
                raise DemoError(f"evaluations still running after {timeout_s:.0f} s")
            time.sleep(_POLL_S)
    finally:
        display.close()
    return [_collect(client, control, jobs[control], out_dir) for control in requests]


def _collect(client: Client, control: str, job: dict[str, Any], out_dir: Path) -> ControlOutcome:
    outcome = ControlOutcome(control=control, job_id=job["id"], status=job["status"])
    if job["status"] != "succeeded":
        error = job.get("error") or {}
        outcome.error = f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
        return outcome
    scorecard = client.scorecard_json(job["id"])
    outcome.cells = cells_from_scorecard(control, scorecard)
    path = out_dir / f"{control}.scorecard.json"
    path.write_text(json.dumps(scorecard, indent=2, sort_keys=True) + "\n")
    outcome.files.append(path)
    try:
        html_text = client.scorecard_text(job["id"], "html")
    except NotFoundError:  # the HTML report route may not be mounted in this build
        return outcome
    html = out_dir / f"{control}.report.html"
    html.write_text(html_text)
    outcome.files.append(html)
    return outcome


def default_sandbox_root(size: Literal["full", "test"], seed: int = 0) -> Path:
    """Where the demo builds the sandbox: the service's sandbox dir for the full world of seed 0; siblings
    `-test` and `-seed<N>` otherwise, so a small or other-seed demo never rebuilds a user's sandbox in place."""
    root = Settings().resolved_sandbox_dir()
    suffix = ("" if size == "full" else "-test") + (f"-seed{seed}" if seed else "")
    return root.with_name(root.name + suffix) if suffix else root


def run_demo(
    out_dir: Path,
    sandbox_root: Path | None = None,
    *,
    size: Literal["full", "test"] = "full",
    seed: int = 0,
    workers: int = 1,
    timeout_s: float = 3600.0,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the demo end to end; writes `<control>.scorecard.json` (and `.report.html`) and `server.log`
    into `out_dir`. Returns 0 when every cell matches the truth table, 1 when one does not, 2 when the
    demo could not run."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    root = Path(sandbox_root) if sandbox_root is not None else default_sandbox_root(size, seed)
    try:
        from evaluators.sandbox import build_sandbox

        began = time.monotonic()
        try:
            build_sandbox(root, size=size, seed=seed, progress=_build_progress(err))
        except (OSError, ValueError, AuditError) as exc:
            raise DemoError(f"could not build the sandbox under {root}: {exc}") from exc
        err.write(f"demo: sandbox ready in {root} ({time.monotonic() - began:.0f}s)\n")
        with tempfile.TemporaryDirectory(prefix="unlearn-audit-demo-") as data_dir:
            outcomes = _serve_and_evaluate(Path(data_dir), root, out_dir, workers, timeout_s, err)
    except DemoError as exc:
        err.write(f"unlearn-audit demo: {exc}\n")
        return 2
    out.write(render_table(outcomes) + "\n")
    out.write(f"scorecards written to {out_dir}\n")
    out.flush()
    return 0 if all(outcome.matches for outcome in outcomes) else 1


def _serve_and_evaluate(
    data_dir: Path, root: Path, out_dir: Path, workers: int, timeout_s: float, err: TextIO
) -> list[ControlOutcome]:
    server = DemoServer(data_dir, root, out_dir / "server.log", workers=workers)
    with server, httpx.Client(timeout=30.0) as probe, Client(server.base_url, api_key="") as client:
        server.wait_ready(probe)
        err.write(f"demo: service on {server.base_url}; submitting {len(SANDBOX_CONTROLS)} evaluations\n")
        try:
            requests = {control: demo_request(control) for control in submission_order(SANDBOX_CONTROLS)}
            outcomes = evaluate_controls(client, requests, out_dir, err, timeout_s)
            return sorted(outcomes, key=lambda outcome: SANDBOX_CONTROLS.index(outcome.control))
        except UnavailableError as exc:
            raise DemoError(f"lost the server at {server.base_url}: {exc}; see {server.log_path}") from exc
