"""`python -m service.worker [--workers N] [--once] [--worker-id ID]`: run workers on the env's settings."""

from __future__ import annotations

import argparse
import asyncio
import logging

from service.settings import Settings
from service.worker.loop import run_worker
from service.worker.processes import worker_main


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m service.worker", description=__doc__)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--once", action="store_true", help="run at most one job, then exit")
    parser.add_argument("--worker-id", default=None, help="this worker's id (default host:pid:random)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    if args.once or args.worker_id:
        asyncio.run(run_worker(settings, worker_id=args.worker_id, once=args.once))
    else:
        worker_main(settings, args.workers)


if __name__ == "__main__":
    main()
