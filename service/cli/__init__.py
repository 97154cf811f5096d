"""The `unlearn-audit` command: submit, wait, verify, report-link, judges, serve, migrate, worker, keys, webhooks,
sandbox, cache, demo.

Exit codes of `submit` and `wait`: 0 pass, 1 fail (and `warn` with `--fail-on warn`), 2 error. The client
commands (submit, wait, verify, report-link, judges) run on `pip install unlearn-audit`; the others name the
extra they need (`service.cli.extras`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from service import __version__

_SERVER_HELP = "API base URL (default $UNLEARN_AUDIT_SERVER or :8000)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand (imports of heavy modules wait until a command runs)."""
    parser = argparse.ArgumentParser(prog="unlearn-audit", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"unlearn-audit {__version__}")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # the order of the calls is the order `--help` lists the commands in
    _add_process_parsers(commands)
    _add_gate_parsers(commands)
    _add_operator_parsers(commands)
    _add_report_parsers(commands)
    _add_judges_parser(commands)
    _add_demo_parser(commands)
    return parser


def _add_process_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """serve (API and workers) and worker (workers only)."""
    serve = commands.add_parser("serve", help="run the API and local worker processes")
    serve.add_argument("--host", default=None, help="default 0.0.0.0 with API keys, else 127.0.0.1 (forced)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="local worker processes (0: API only)")

    commands.add_parser("migrate", help="bring the database schema to the newest revision (before a rollout)")

    worker = commands.add_parser("worker", help="run worker processes only (also: python -m service.worker)")
    worker.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    worker.add_argument("--once", action="store_true", help="run at most one job, then exit")
    worker.add_argument("--worker-id", default=None, help="this worker's id (default host:pid:random)")
    worker.add_argument(
        "--executor",
        choices=["local", "ray"],
        default=None,
        help="where checks run: local, or ray (the cluster at RAY_ADDRESS); default $UNLEARN_AUDIT_EXECUTOR or local",
    )


def _add_gate_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """submit and wait: the CI commands that gate on a verdict."""
    submit = commands.add_parser("submit", help="submit an evaluation request (JSON file, or - for stdin)")
    submit.add_argument("request", help="REQUEST.json")
    submit.add_argument("--server", default=None, help=_SERVER_HELP)
    submit.add_argument("--wait", action="store_true", help="wait for the scorecard and gate on its verdict")
    _add_gate_options(submit)
    submit.add_argument(
        "--dry-run",
        action="store_true",
        help="queue nothing: print what the submit would do (models, item counts, checks, an estimated time)",
    )

    wait = commands.add_parser("wait", help="wait for an evaluation submitted earlier and gate on its verdict")
    wait.add_argument("job_id", help="the evaluation's id (what `submit` without --wait prints)")
    wait.add_argument("--server", default=None, help=_SERVER_HELP)
    _add_gate_options(wait)


def _add_gate_options(command: argparse.ArgumentParser) -> None:
    """The verdict that fails, how long to wait, and where the scorecard and reports go."""
    command.add_argument("--fail-on", choices=["warn", "fail"], default="fail", help="verdict that exits 1")
    command.add_argument("--timeout", type=float, default=None, help="seconds to wait before giving up (exit 2)")
    command.add_argument("--output", default=None, help="write the scorecard JSON here")
    command.add_argument("--junit", default=None, help="write a JUnit XML report here (CI test reports)")
    command.add_argument("--markdown", default=None, help="write a Markdown summary here (PR comments)")


def _add_operator_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """sandbox, cache, keys and webhooks: what an operator sets up on the deployment."""
    sandbox = commands.add_parser("sandbox", help="the synthetic sandbox world and its control models")
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="SUBCOMMAND")
    build = sandbox_commands.add_parser("build", help="generate the world and train the control models")
    build.add_argument("--dir", default=None, help="default $UNLEARN_AUDIT_DATA_DIR/sandbox")
    build.add_argument("--size", choices=["full", "test"], default="full", help="test: the smaller world")
    build.add_argument("--seed", type=int, default=0)

    cache = commands.add_parser("cache", help="the fetched-model cache")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True, metavar="SUBCOMMAND")
    seed = cache_commands.add_parser(
        "import", help="copy a local checkpoint into the cache as a Hub repo's commit (air-gapped deployments)"
    )
    seed.add_argument("directory", help="the checkpoint's files, as the repository holds them")
    seed.add_argument("--repo", required=True, help="the Hub repository, org/name")
    seed.add_argument("--revision", required=True, help="a commit sha (or, with the Hub reachable, a branch or tag)")
    seed.add_argument("--subfolder", default=None, help="the checkpoint's folder inside the repository")
    seed.add_argument("--offline", action="store_true", help="do not ask the Hub: record the files' hashes as given")

    keys = commands.add_parser("keys", help="the scorecard signing keys every machine shares")
    keys.add_argument("keys_command", choices=["list", "rotate"], help="list: every key; rotate: a new active key")

    webhooks = commands.add_parser("webhooks", help="audit profiles: copy between a file and the database")
    webhooks.add_argument("webhooks_command", choices=["import", "export"], help="import replaces the stored ones")
    webhooks.add_argument("file", help="a YAML or JSON profiles file (export: - for standard output)")


def _add_report_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """verify (offline, its own parser: see `main`) and report-link."""
    verify = commands.add_parser(
        "verify",
        help="check a signed scorecard (DSSE envelope, plain or in-toto) offline: exit 0 valid, 1 invalid",
        add_help=False,
    )
    verify.add_argument("verify_args", nargs=argparse.REMAINDER, help="scorecard.json [--key FILE] [--server URL]")

    link = commands.add_parser("report-link", help="a short-lived URL that opens a report without an API key")
    link.add_argument("job_id", help="the evaluation's id")
    link.add_argument("--server", default=None, help=_SERVER_HELP)
    link.add_argument("--ttl", type=int, default=None, dest="ttl_s", help="seconds it lives (60-86400, default 900)")
    link.add_argument("--json", action="store_true", dest="as_json", help="print the API's JSON")


def _add_demo_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser("demo", help="audit every sandbox control via the service; check the truth")
    demo.add_argument("--out", default="demo-out", help="where scorecards and reports go (default demo-out)")
    demo.add_argument("--size", choices=["full", "test"], default="full", help="sandbox world size")
    demo.add_argument("--sandbox-dir", default=None, help="default $UNLEARN_AUDIT_DATA_DIR/sandbox")
    demo.add_argument("--seed", type=int, default=0, help="the sandbox world's seed (another world, same truth)")
    demo.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="local worker processes, each with its share of the CPUs (default: 2, or 1 on one CPU)",
    )


def _add_judges_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    judges = commands.add_parser("judges", help="model-judge calibrations (admin key in UNLEARN_AUDIT_API_KEY)")
    actions = judges.add_subparsers(dest="judges_command", required=True, metavar="SUBCOMMAND")
    calibrate = actions.add_parser("calibrate", help="calibrate a judge endpoint against XSTest's human labels")
    calibrate.add_argument("target", help="TARGET.json: the judge as checks.refusal.judge.target (- for stdin)")
    calibrate.add_argument("--split", choices=["develop", "heldout", "all"], default=None, help="default heldout")
    calibrate.add_argument("--limit", type=int, default=None, help="at most this many replies (1-1350)")
    calibrate.add_argument("--wait", action="store_true", help="wait until a worker has run it")
    calibrate.add_argument("--timeout", type=float, default=None, help="seconds to wait before giving up (exit 2)")
    listing = actions.add_parser("list", help="calibrations, newest first")
    listing.add_argument("--endpoint", default=None, help="only this base URL's")
    listing.add_argument("--model", default=None, help="only this model name's")
    listing.add_argument("--limit", type=int, default=None, help="at most this many (1-500)")
    show = actions.add_parser("show", help="one calibration with its figures")
    show.add_argument("calibration_id")
    for action in (calibrate, listing, show):
        action.add_argument("--server", default=None, help=_SERVER_HELP)
        action.add_argument("--json", action="store_true", dest="as_json", help="print the API's JSON")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["verify"]:  # its own parser: `verify --help` and options before the file must reach it
        from service.signing import verify_main

        return verify_main(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll would drown the progress display
    try:
        return _run(args)
    except ModuleNotFoundError as exc:
        from service.cli.extras import missing_extra_message

        message = missing_extra_message(args.command, exc)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace) -> int:
    from service.cli.serve import serve

    return serve(host=args.host, port=args.port, workers=args.workers)


def _migrate(args: argparse.Namespace) -> int:
    from service.cli.migrate import migrate_command

    return migrate_command()


def _worker(args: argparse.Namespace) -> int:
    from service.cli.serve import run_workers

    return run_workers(args.workers, once=args.once, worker_id=args.worker_id, executor=args.executor)


def _gate_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options `submit` and `wait` share (see `_add_gate_options`)."""
    return {
        "server": args.server,
        "fail_on": args.fail_on,
        "timeout": args.timeout,
        "output": args.output,
        "junit": args.junit,
        "markdown": args.markdown,
    }


def _submit(args: argparse.Namespace) -> int:
    if args.dry_run:
        from service.cli.dry_run import dry_run_command

        if args.wait:
            print("unlearn-audit: --dry-run queues nothing, so there is nothing to --wait for", file=sys.stderr)
            return 2
        return dry_run_command(args.request, server=args.server)
    from service.cli.submit import submit

    return submit(args.request, wait=args.wait, **_gate_options(args))


def _wait(args: argparse.Namespace) -> int:
    from service.cli.submit import wait_command

    return wait_command(args.job_id, **_gate_options(args))


def _sandbox(args: argparse.Namespace) -> int:
    from service.cli.sandbox import build_sandbox_command

    return build_sandbox_command(args.dir, size=args.size, seed=args.seed)


def _cache(args: argparse.Namespace) -> int:
    from service.cli.cache import import_command

    return import_command(
        args.directory, repo=args.repo, revision=args.revision, subfolder=args.subfolder, offline=args.offline
    )


def _judges(args: argparse.Namespace) -> int:
    from service.cli.judges import judges_command

    optional = ("target", "split", "limit", "timeout", "calibration_id", "endpoint", "model")  # per subcommand
    return judges_command(
        args.judges_command,
        server=args.server,
        wait=getattr(args, "wait", False),
        as_json=args.as_json,
        **{name: getattr(args, name, None) for name in optional},
    )


def _report_link(args: argparse.Namespace) -> int:
    from service.cli.report_link import report_link_command

    return report_link_command(args.job_id, server=args.server, ttl_s=args.ttl_s, as_json=args.as_json)


def _keys(args: argparse.Namespace) -> int:
    from service.cli.keys import keys_command

    return keys_command(args.keys_command)


def _webhooks(args: argparse.Namespace) -> int:
    from service.cli.webhooks import webhooks_command

    return webhooks_command(args.webhooks_command, args.file)


def _demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from service.demo import run_demo

    sandbox_dir = Path(args.sandbox_dir) if args.sandbox_dir else None
    return run_demo(Path(args.out), sandbox_dir, size=args.size, seed=args.seed, workers=max(1, args.workers))


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "serve": _serve,
    "migrate": _migrate,
    "worker": _worker,
    "submit": _submit,
    "wait": _wait,
    "sandbox": _sandbox,
    "cache": _cache,
    "judges": _judges,
    "report-link": _report_link,
    "keys": _keys,
    "webhooks": _webhooks,
    "demo": _demo,
}
"""Subcommand -> its runner (each imports its module when it runs, so a light install lists every command)."""


def _run(args: argparse.Namespace) -> int:
    runner = _COMMANDS.get(args.command)
    if runner is None:
        raise AssertionError(f"unhandled command {args.command}")
    return runner(args)


if __name__ == "__main__":
    sys.exit(main())
