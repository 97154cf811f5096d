"""`submit REQUEST.json --dry-run`: what the submit would do, nothing queued. The plan's JSON on stdout (for a CI
step to budget with, e.g. `jq .estimate.seconds`), a short summary on stderr; exit 0 when the request would be
accepted, 2 when it would be refused (the same error a submit prints) or the server cannot be reached."""

from __future__ import annotations

import sys

from schemas.dry_run import DryRun
from schemas.errors import AuditError
from service.cli.submit import EXIT_PASS, SubmitError, _error_exit, _load_request
from service.client import Client


def dry_run_command(request_path: str, *, server: str | None) -> int:
    """Ask the server what a submit of the request file would do; print the plan."""
    try:
        request = _load_request(request_path)
        with Client(server) as client:
            plan = client.dry_run(request)
    except (SubmitError, AuditError) as exc:
        return _error_exit(exc)
    print(plan.model_dump_json(indent=2))
    print(summary(plan), file=sys.stderr)
    return EXIT_PASS


def summary(plan: DryRun) -> str:
    """A few lines a person reads: models, datasets with their counts, checks, the estimate and its basis."""
    lines = ["dry run: nothing was queued"]
    for model in plan.models:
        name = model.resolved or model.resolution.replace("_", " ")
        lines.append(f"  model {model.field} ({model.kind}): {name}")
    for dataset in plan.datasets:
        count = f"{dataset.n_items} items" if dataset.n_items is not None else "counted at run time"
        lines.append(f"  dataset {dataset.field} ({dataset.name}): {count}")
    for check in plan.checks:
        skipped = f"; skips {', '.join(check.skipped)}" if check.skipped else ""
        lines.append(f"  check {check.name}: {', '.join(check.runs)}{skipped}")
    if plan.benchmark:
        lines.append(f"  benchmark {plan.benchmark} (reported, not gated)")
    estimate = plan.estimate
    lines.append(f"  estimate: {estimate.seconds:,.0f} s of checks on {estimate.reference}")
    lines += [f"    assumes {a}" for a in estimate.assumptions]
    lines += [f"    leaves out {n}" for n in estimate.not_estimated]
    return "\n".join(lines)
