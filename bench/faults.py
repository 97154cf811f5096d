"""Fault injection on PostgreSQL: SIGKILLs of API processes and workers and a PostgreSQL restart while jobs
are in flight, then the invariants every accepted job must meet.

    python bench/faults.py --jobs 80 --kills 20 [--no-pg-restart] [--seed S] [--out results.json]

It creates a private PostgreSQL cluster (initdb/pg_ctl on a spare port, as the `postgres` user when run as root; never
the server on 5432) and starts on it 2 API processes (`serve --workers 0`) and 4 workers (each `worker --worker-id`),
all on one database (one signing key, published at GET /v1/signing-keys). The jobs run `bench.trivial_check` as their
`forget` check (no model; 0.5-2 s in steps) against a stand-in TGI endpoint that answers only `/info`, and ask for a
result callback to a local receiver that checks each signature and answers 200. While the jobs are submitted it
SIGKILLs processes chosen by a seeded RNG (each restarted after a short delay; a process that exits by itself is
restarted too) and, half-way, stops PostgreSQL (`-m immediate`) and starts it again `--pg-down` seconds later (then
crash recovery); the next kill comes `--kill-every` seconds after the outage ends (`--kills-during-restart`: the kills
go on meanwhile). A submit that fails is retried on the other API process with the same Idempotency-Key. Then it waits
(bounded: longer than a callback's delivery lease) for the queue and the callbacks to drain and checks, in the
database and through the API:

- every accepted job is terminal: `succeeded` with a scorecard whose attestation verifies against the
  service's keys, or `failed`/`cancelled` with an error code and message;
- each job ended once: exactly one `job_finished` event, with the job's final status;
- every callback carried a valid signature, the job's final status and (when it succeeded) a verifying
  envelope; each job's callback was answered 2xx, and a second 2xx only where the process that got the first
  was SIGKILLed before it could record it (at least once, by design: the receiver tells which process sent
  each callback from its TCP connection); any other second 2xx is a duplicate;
- nothing is left leased: no job queued or running, no lease, no callback owed.

Prints the figures as JSON (`--out` writes them too); exit status 1 when an invariant is broken, 2 when the
run itself could not be set up. Everything it started (processes, cluster, temporary files) is stopped and
deleted at the end, also on failure or SIGTERM; `--log-dir` keeps the processes' and PostgreSQL's logs.
`--receiver-delay S` makes the receiver hold each 200 for S seconds, which widens the window in which a
fault lands while a callback's answer is in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/faults.py`: the checkout's root holds the `bench` package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fault_bench import TERMINAL, Options, Report, SetupError, find_pg_bin, run_bench

__all__ = ["TERMINAL", "Options", "Report", "SetupError", "find_pg_bin", "main", "parse", "run_bench"]


# --- the command line ------------------------------------------------------------------------------------------
def parse(argv: list[str] | None = None) -> tuple[Options, Path | None]:
    """The options, and where to write the figures (None: stdout only)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--jobs", type=int, default=80, help="jobs to submit (default 80)")
    p.add_argument("--kills", type=int, default=20, help="SIGKILLs, a third of them on API processes (default 20)")
    p.add_argument("--no-pg-restart", action="store_true", help="leave PostgreSQL running")
    p.add_argument("--seed", type=int, default=0, help="seeds the victims, delays and requests")
    p.add_argument("--kill-every", type=float, default=2.0, help="seconds between kills (default 2)")
    p.add_argument("--pg-down", type=float, default=2.0, help="seconds PostgreSQL stays down (default 2)")
    p.add_argument("--receiver-delay", type=float, default=0.0, help="seconds the receiver holds each 200")
    p.add_argument("--kills-during-restart", action="store_true", help="go on killing while PostgreSQL is down")
    p.add_argument(
        "--strict-once",
        action="store_true",
        help="any second 2xx is a violation, even when the process that got the first was SIGKILLed first",
    )
    p.add_argument("--log-dir", type=Path, default=None, help="keep the processes' logs here")
    p.add_argument("--pg-bin", type=Path, default=None, help="directory of initdb and pg_ctl")
    p.add_argument("--out", type=Path, default=None, help="also write the figures here as JSON")
    args = p.parse_args(argv)
    options = Options(
        jobs=args.jobs,
        kills=args.kills,
        pg_restart=not args.no_pg_restart,
        seed=args.seed,
        kill_every_s=args.kill_every,
        pg_down_s=args.pg_down,
        receiver_delay_s=args.receiver_delay,
        kills_during_restart=args.kills_during_restart,
        strict_once=args.strict_once,
        log_dir=args.log_dir,
        pg_bin=args.pg_bin,
    )
    return options, args.out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every invariant holds, 1 when one is broken, 2 when it could not run."""
    options, out = parse(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM cleans up like ^C
    try:
        report = asyncio.run(run_bench(options))
    except SetupError as exc:
        print(f"faults: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("faults: interrupted; everything it started is stopped and deleted", file=sys.stderr)
        return 130
    text = json.dumps(report.figures, indent=2)
    print(text)
    if out is not None:
        out.write_text(text + "\n")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
