"""Open-loop load on PostgreSQL: submit latency at fixed rates, then the drain by 1, 2 and 4 workers.

    python bench/load.py [--rates 25,50,100,200] [--step-s 15] [--drain-jobs 120] [--out results.json]

It creates a private PostgreSQL cluster (as bench/faults.py does: initdb/pg_ctl on a spare port, 127.0.0.1 only)
and a stand-in TGI target answering `/info`. Every job's `forget` check is the plug-in `bench.trivial_check` (no
model; 0.1 s per item, `--items` items, default 1).

Submit: 2 API processes (`serve --workers 0`) and `--submit-workers` workers (4), all on one database. For each
rate, requests are scheduled for `--step-s` seconds (Poisson arrivals, or `--arrivals fixed`; at most
`--max-per-step`), sent round-robin over the two APIs, each with its own Idempotency-Key, whatever the earlier
answers (open loop; at most `--concurrency` in flight). Latency runs from a request's scheduled send time to its
answer, so a request that waited in the client is slow, not hidden; one that starts more than 10 ms after its
time counts as `sent_late`. Per rate: latency p50/p90/p99/max, the accepted rate, outcomes by status, the
machine's busy share (/proc/stat) and the cores used by the API processes, the workers, PostgreSQL and this
client (/proc/<pid>/stat) over the step. The workers run the queue meanwhile: claims per second and jobs run
twice over every accepted job.

Drain: on a second database with one API process, for each of `--drain-workers` (1,2,4): start the workers, run
two warm-up jobs per worker, submit `--drain-jobs` jobs at once and time the drain (bounded by `--drain-limit-s`):
jobs finished per second (from the first claim, and from the moment every worker had claimed), claims per second
(`job_claimed` events), jobs that ran twice (more than one `job_finished`, or a check finished twice: must be
none), and each claim after a job's first (only after a lapsed lease).

Not part of CI. On a small shared machine the client, the service and PostgreSQL share the cores, so the figures
are lower bounds. Prints one line per step and the figures as JSON (`--out` writes them too); everything it started
is stopped and deleted at the end, also on failure or SIGTERM. Exit status 1 when a job ran twice, 2 when the run
could not be set up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/load.py`: the checkout's root holds the `bench` package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fault_bench import SetupError
from bench.load_bench import LoadOptions, run_load


def _numbers(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def parse(argv: list[str] | None = None) -> tuple[LoadOptions, Path | None]:
    """The options, and where to write the figures (None: stdout only)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--rates", type=_numbers, default=[25.0, 50.0, 100.0, 200.0], help="submissions/s, comma-separated")
    p.add_argument("--step-s", type=float, default=15.0, help="seconds of scheduled sends per rate (default 15)")
    p.add_argument("--arrivals", choices=["poisson", "fixed"], default="poisson")
    p.add_argument("--max-per-step", type=int, default=4000, help="requests per rate at most (default 4000)")
    p.add_argument("--concurrency", type=int, default=256, help="requests in flight at most (default 256)")
    p.add_argument("--grace-s", type=float, default=10.0, help="request timeout and wait after a step (default 10)")
    p.add_argument("--submit-workers", type=int, default=4, help="workers while submitting (default 4)")
    p.add_argument("--drain-workers", type=_numbers, default=[1.0, 2.0, 4.0], help="worker counts to drain with")
    p.add_argument("--drain-jobs", type=int, default=120, help="jobs per drain (default 120)")
    p.add_argument("--drain-limit-s", type=float, default=120.0, help="longest wait for one drain (default 120)")
    p.add_argument("--items", type=int, default=1, help="items per job, 0.1 s each (default 1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-dir", type=Path, default=None, help="keep the processes' logs here")
    p.add_argument("--pg-bin", type=Path, default=None, help="directory of initdb and pg_ctl")
    p.add_argument("--out", type=Path, default=None, help="also write the figures here as JSON")
    a = p.parse_args(argv)
    options = LoadOptions(
        rates=a.rates,
        step_s=a.step_s,
        arrivals=a.arrivals,
        max_per_step=a.max_per_step,
        concurrency=a.concurrency,
        grace_s=a.grace_s,
        submit_workers=a.submit_workers,
        drain_workers=[int(n) for n in a.drain_workers],
        drain_jobs=a.drain_jobs,
        drain_limit_s=a.drain_limit_s,
        items=a.items,
        seed=a.seed,
        log_dir=a.log_dir,
        pg_bin=a.pg_bin,
    )
    return options, a.out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when no job ran twice, 1 when one did, 2 when it could not run."""
    options, out = parse(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM cleans up like ^C
    try:
        figures = asyncio.run(run_load(options))
    except SetupError as exc:
        print(f"load: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("load: interrupted; everything it started is stopped and deleted", file=sys.stderr)
        return 130
    text = json.dumps(figures, indent=2)
    print(text)
    if out is not None:
        out.write_text(text + "\n")
    twice = len(figures["submit"]["jobs"]["ran_twice"]) + sum(len(r["ran_twice"]) for r in figures["drain"])
    return 1 if twice else 0


if __name__ == "__main__":
    sys.exit(main())
