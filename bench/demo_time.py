"""The demo's time on a built world, per audit and per worker, and whether two runs gave the same records.

`run` builds the world if needed (not timed), then runs `service.demo.run_demo` keeping the server's data
directory (its SQLite store) under `--keep`, and prints the demo's wall time (server start to the last
scorecard), each audit's check-seconds (the scorecard's `duration_s` per check), which worker ran it and when,
and the calls it reused from the result memo. `compare` reads two kept stores and says whether every item record
(by control, check, dataset, index, variant, model and fold) and every check result (timing fields dropped) is
the same. Run two versions back to back in ABBA order, nothing else running: the machine's speed drifts.

    python bench/demo_time.py run --sandbox /tmp/demo-full --keep /tmp/runs/a --out /tmp/runs/a.json
    python bench/demo_time.py compare /tmp/runs/a /tmp/runs/b
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STORE = "unlearn_audit.sqlite3"
_TIMING = {"duration_s", "durations_s", "seconds", "started_at", "finished_at", "created_at", "job_duration_s"}


class _KeptDirectory:
    """Stands in for `tempfile.TemporaryDirectory` in `service.demo`: the server's data stays for reading."""

    path = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __enter__(self) -> str:
        return self.path

    def __exit__(self, *exc: object) -> None:
        return None


def run(sandbox: Path, keep: Path, workers: int) -> dict[str, Any]:
    import service.demo as demo
    from evaluators.sandbox import build_sandbox

    build_sandbox(sandbox, size="full", seed=0)
    keep.mkdir(parents=True, exist_ok=True)
    _KeptDirectory.path = str(keep)
    demo.tempfile.TemporaryDirectory = _KeptDirectory  # type: ignore[assignment, misc]
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as out:
        code = demo.run_demo(Path(out), sandbox, size="full", workers=workers, stdout=sys.stderr)
    wall = time.monotonic() - began
    return {"wall_s": round(wall, 1), "exit": code, "audits": audits(keep)}


def audits(keep: Path) -> list[dict[str, Any]]:
    """Per audit in start order: control, worker, start and end (UTC), check-seconds per check, reused calls."""
    db = sqlite3.connect(keep / STORE)
    rows = []
    for job_id, labels, started, finished, worker in db.execute(
        "select id, labels, started_at, finished_at, worker_id from jobs order by started_at"
    ):
        checks = dict(db.execute('select "check", duration_s from check_results where job_id = ?', (job_id,)))
        events = db.execute("select kind, data from job_events where job_id = ? and kind like '%_reused'", (job_id,))
        rows.append(
            {
                "control": json.loads(labels)["control"],
                "worker": worker,
                "started": started,
                "finished": finished,
                "check_seconds": {name: round(seconds, 1) for name, seconds in checks.items()},
                "reused_calls": {kind: json.loads(data)["calls"] for kind, data in events},
            }
        )
    return rows


def _without_timing(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items() if k not in _TIMING}
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    return value


def _contents(keep: Path) -> tuple[dict[tuple[Any, ...], Any], dict[tuple[str, str], Any]]:
    db = sqlite3.connect(keep / STORE)
    control = {job_id: json.loads(labels)["control"] for job_id, labels in db.execute("select id, labels from jobs")}
    records = {
        (control[job_id], *key): json.loads(record)
        for job_id, *key, record in db.execute(
            'select job_id, "check", dataset, "index", variant, model, fold, record from item_records'
        )
    }
    results = {
        (control[job_id], check): _without_timing(json.loads(result))
        for job_id, check, result in db.execute('select job_id, "check", result from check_results')
    }
    return records, results


def compare(a: Path, b: Path) -> dict[str, Any]:
    (records_a, results_a), (records_b, results_b) = _contents(a), _contents(b)
    differing = sorted(str(k) for k in records_a.keys() | records_b.keys() if records_a.get(k) != records_b.get(k))
    results_differing = sorted(
        str(k) for k in results_a.keys() | results_b.keys() if results_a.get(k) != results_b.get(k)
    )
    return {
        "records": [len(records_a), len(records_b)],
        "records_differing": len(differing),
        "first_differing": differing[:5],
        "check_results_differing": results_differing,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("run")
    one.add_argument("--sandbox", type=Path, required=True, help="a full world of seed 0 (built when missing)")
    one.add_argument("--keep", type=Path, required=True, help="where the server's data directory stays")
    one.add_argument("--workers", type=int, default=2)
    one.add_argument("--out", type=Path)
    two = sub.add_parser("compare")
    two.add_argument("a", type=Path)
    two.add_argument("b", type=Path)
    args = parser.parse_args()
    result = run(args.sandbox, args.keep, args.workers) if args.command == "run" else compare(args.a, args.b)
    text = json.dumps(result, indent=2)
    print(text)
    if args.command == "run" and args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
