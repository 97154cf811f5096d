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
import contextlib
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import IO, Any, Literal, Self

import httpx
from pydantic import ValidationError

from schemas.errors import BadSignatureError
from schemas.scorecard import Scorecard
from service.callbacks.deliver import STORE_PATIENCE_S
from service.settings import Settings
from service.signing import InvalidEnvelopeError, verify_envelope
from service.signing.hmac_v1 import verify_v1
from service.signing.keys import load_public_pems
from service.worker.callbacks import delivery_lease_s

REPO = Path(__file__).resolve().parent.parent
PLUGIN = "forget=bench.trivial_check:answer_position_check"
API_KEY = "sk-faults-bench"
CALLBACK_SECRET = "faults-bench-callback-secret"
SERVICE_SETTINGS = {
    "UNLEARN_AUDIT_LEASE_S": "4",
    "UNLEARN_AUDIT_HEARTBEAT_S": "1",
    "UNLEARN_AUDIT_POLL_S": "0.2",
    "UNLEARN_AUDIT_CALLBACK_BACKOFF_S": "0.2",
    "UNLEARN_AUDIT_CALLBACK_MAX_ATTEMPTS": "2",
}
"""Short leases and polls, so a killed worker's job and callback are taken up again quickly."""
SUBMIT_DEADLINE_S = 120.0
"""How long one submission is retried across the API processes before it counts as not accepted."""
TERMINAL = ("succeeded", "failed", "cancelled")
Kind = Literal["api", "worker"]


class SetupError(RuntimeError):
    """The run could not be set up (PostgreSQL tools missing, a process that never became ready)."""


@dataclass
class Options:
    jobs: int = 80
    kills: int = 20
    pg_restart: bool = True
    seed: int = 0
    kill_every_s: float = 2.0
    """Seconds between kills; the jobs are submitted evenly over the kills' span."""
    pg_down_s: float = 2.0
    """How long PostgreSQL stays down in its restart."""
    api_processes: int = 2
    workers: int = 4
    receiver_delay_s: float = 0.0
    """How long the callback receiver holds each 200."""
    kills_during_restart: bool = False
    """Go on killing while PostgreSQL is down (else the next kill comes `kill_every_s` after the outage)."""
    strict_once: bool = False
    """Count every second 2xx as a violation, also when its first went to a process SIGKILLed before it could
    record it (which at-least-once delivery allows)."""
    log_dir: Path | None = None
    pg_bin: Path | None = None


@dataclass
class Report:
    figures: dict[str, Any]
    pids: list[int]
    """Every process the run started (all stopped when it returns)."""
    root: Path
    """Its temporary directory (deleted when it returns)."""
    pg_port: int
    """The private cluster's port (stopped when it returns)."""

    @property
    def ok(self) -> bool:
        return not self.figures["violations"]


# --- the private PostgreSQL cluster -----------------------------------------------------------------------
def find_pg_bin(explicit: Path | None = None) -> Path:
    """The directory holding initdb, pg_ctl and createdb: `explicit`, the PATH's initdb's (links resolved),
    else the newest /usr/lib/postgresql/*/bin."""
    candidates = [explicit] if explicit else []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name))[::-1]
    found = next((d for d in candidates if all((d / t).is_file() for t in ("initdb", "pg_ctl", "createdb"))), None)
    if found is None:
        raise SetupError(
            "PostgreSQL's initdb, pg_ctl and createdb were not found (PATH, /usr/lib/postgresql/*/bin, --pg-bin)"
        )
    if os.geteuid() == 0:  # initdb refuses root: the cluster is run as `postgres`
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise SetupError("running as root needs a `postgres` user to own the private cluster") from None
        if shutil.which("runuser") is None:
            raise SetupError("running as root needs `runuser` to start the cluster as `postgres`")
    return found


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.split(".") if p.isdigit())


def _free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port != 5432:
            return port


class PrivatePostgres:
    """A throw-away cluster under `root` (trust auth, 127.0.0.1 only, a spare port, its own socket dir)."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = 0
        self._options = ""
        self._lock = threading.Lock()
        self._closed = False
        # initdb refuses root: run the server tools as `postgres` on a directory it owns.
        self._as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/unlearn_audit"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/unlearn_audit"

    def _tool(self, *args: str, timeout: float = 60.0) -> None:
        argv = [*self._as_owner, str(self.bin_dir / args[0]), *args[1:]]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise SetupError(f"{args[0]} failed ({done.returncode}): {(done.stderr or done.stdout)[-2000:]}")

    def __enter__(self) -> Self:
        try:
            self._create()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _create(self) -> None:
        self.root.mkdir(parents=True)
        sockets = self.root / "sockets"
        sockets.mkdir()
        if self._as_owner:
            for path in (self.root, sockets):
                shutil.chown(path, "postgres", "postgres")
        self._tool("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        for attempt in range(3):  # the chosen port can be taken before the server binds it
            self.port = _free_port()
            self._options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {sockets}"
            try:
                self._start()
                break
            except SetupError:
                if attempt == 2:
                    raise
        self._tool("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "unlearn_audit")

    def restart(self, down_s: float) -> dict[str, float]:
        """Stop the server as if it crashed (`-m immediate`), wait `down_s`, start it (crash recovery);
        returns the seconds each step took and the whole outage."""
        with self._lock:
            if self._closed:
                return {}
            began = time.monotonic()
            self._tool("pg_ctl", "-D", str(self.data), "-w", "-m", "immediate", "stop")
            stopped = time.monotonic()
            time.sleep(down_s)
            starting = time.monotonic()
            self._start()
            ready = time.monotonic()
            return {"stop_s": stopped - began, "start_s": ready - starting, "outage_s": ready - began}

    def _start(self) -> None:
        try:
            self._tool("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o", self._options, "start")
        except SetupError as exc:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise SetupError(f"{exc}\n{log}") from exc

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._closed = True
            if self.data.exists():
                with contextlib.suppress(SetupError, subprocess.TimeoutExpired):
                    self._tool("pg_ctl", "-D", str(self.data), "-w", "-m", "immediate", "stop", timeout=30)


# --- the callback receiver and the stand-in target ------------------------------------------------------------
class _LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1 and a spare port, served from a thread while entered."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


@dataclass(frozen=True)
class Answer:
    """A callback the receiver answered 200."""

    at: float
    """time.monotonic() when it was answered."""
    delivery_id: str
    payload: dict[str, Any]
    sender_pid: int | None
    """The service process that sent it (None when it could not be told)."""


class CallbackReceiver(_LocalServer):
    """Checks each callback's HMAC signature; answers 200 when it verifies (401 when not) and keeps what it
    answered 2xx, per `evaluation_id`. `answer_after_s` holds each 200 that long (a slow receiver widens
    the window in which a delivery's answer is in flight when a fault lands)."""

    def __init__(self, secret: str, answer_after_s: float = 0.0) -> None:
        self.secret = secret
        self.answer_after_s = answer_after_s
        self.answered: dict[str, list[Answer]] = {}
        self.rejected: list[str] = []
        self.sender_of: Callable[[int, int], int | None] = lambda client_port, server_port: None
        """The pid behind a client port (set once the processes run)."""
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.receive(self.headers, body, int(self.client_address[1]))
                if status == 200:
                    time.sleep(receiver.answer_after_s)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(Handler)

    def receive(self, headers: Any, body: bytes, client_port: int) -> int:
        try:
            verify_v1(
                self.secret,
                signature=headers.get("X-Unlearn-Audit-Signature"),
                delivery_id=headers.get("X-Unlearn-Audit-Delivery-Id"),
                timestamp=headers.get("X-Unlearn-Audit-Timestamp"),
                body=body,
                header_prefix="X-Unlearn-Audit",
            )
            payload = json.loads(body)
            evaluation_id = str(payload["evaluation_id"])
        except (BadSignatureError, ValueError, KeyError, TypeError) as exc:
            with self._lock:
                self.rejected.append(f"{type(exc).__name__}: {exc}"[:300])
            return 401
        sender = self.sender_of(client_port, int(self._server.server_address[1]))  # while the connection is open
        answer = Answer(time.monotonic(), str(headers.get("X-Unlearn-Audit-Delivery-Id")), payload, sender)
        with self._lock:
            self.answered.setdefault(evaluation_id, []).append(answer)
        return 200

    def snapshot(self) -> dict[str, list[Answer]]:
        with self._lock:
            return {k: list(v) for k, v in self.answered.items()}


class TargetStandIn(_LocalServer):
    """Answers TGI's `GET /info`, which the runner asks for the target's fingerprint; nothing else is called."""

    def __init__(self) -> None:
        info = json.dumps({"model_id": "bench/faults-stand-in", "model_sha": "0" * 40, "version": "stand-in"}).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = self.path == "/info"
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(info) if found else 0))
                self.end_headers()
                if found:
                    self.wfile.write(info)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(Handler)


# --- the service's processes ------------------------------------------------------------------------------
@dataclass
class Slot:
    """One API process or worker, restarted after each kill (or exit) as a new incarnation."""

    kind: Kind
    index: int
    port: int | None
    log: IO[bytes]
    process: subprocess.Popen[bytes] | None = None
    incarnation: int = 0
    respawn_at: float | None = None

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.index}"

    @property
    def worker_id(self) -> str:
        return f"faults-w{self.index}.{self.incarnation}"

    def argv(self) -> list[str]:
        if self.kind == "api":
            return [
                sys.executable,
                "-m",
                "service",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "0",
            ]
        return [sys.executable, "-m", "service", "worker", "--worker-id", self.worker_id]


class Fleet:
    """The API processes and workers. `tick()` restarts what is due; `close()` kills everything."""

    def __init__(self, env: dict[str, str], log_dir: Path, apis: int, workers: int) -> None:
        self.env = env
        self.slots: list[Slot] = []
        self.pids: list[int] = []
        self.killed: dict[int, float] = {}
        """pid -> time.monotonic() of every SIGKILL."""
        self.unexpected_exits: Counter[str] = Counter()
        log_dir.mkdir(parents=True, exist_ok=True)
        sizes: tuple[tuple[Kind, int], ...] = (("api", apis), ("worker", workers))
        for kind, count in sizes:
            for i in range(count):
                port = _free_port() if kind == "api" else None
                self.slots.append(Slot(kind, i, port, (log_dir / f"{kind}-{i}.log").open("ab")))

    def __enter__(self) -> Self:
        try:
            for slot in self.slots:
                self._spawn(slot)
        except BaseException:
            self.__exit__()
            raise
        return self

    @property
    def api_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{s.port}" for s in self.slots if s.kind == "api"]

    def of_kind(self, kind: Kind) -> list[Slot]:
        return [s for s in self.slots if s.kind == kind]

    def _spawn(self, slot: Slot) -> None:
        slot.incarnation += 1
        slot.respawn_at = None
        slot.log.write(f"\n=== {slot.name} incarnation {slot.incarnation} at {_now()} ===\n".encode())
        slot.log.flush()
        slot.process = subprocess.Popen(
            slot.argv(),
            cwd=REPO,  # `python -m` puts the checkout first on sys.path: the workers import bench.trivial_check
            env=self.env,
            stdout=slot.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed as a whole, untouched by the terminal's ^C
        )
        self.pids.append(slot.process.pid)

    def kill(self, slot: Slot, restart_after_s: float) -> None:
        """SIGKILL the slot's process (if it runs) and restart it after `restart_after_s`."""
        if slot.process is not None and slot.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(slot.process.pid, signal.SIGKILL)
            self.killed[slot.process.pid] = time.monotonic()
            slot.process.wait()
        slot.respawn_at = time.monotonic() + restart_after_s

    def pid_of_client(self, client_port: int, server_port: int) -> int | None:
        """Which of the running processes holds the TCP connection 127.0.0.1:client_port -> :server_port."""
        inode = _socket_inode(client_port, server_port)
        if inode is None:
            return None
        target = f"socket:[{inode}]"
        for slot in self.slots:
            process = slot.process
            if process is None:
                continue
            with contextlib.suppress(OSError):
                for fd in Path(f"/proc/{process.pid}/fd").iterdir():
                    with contextlib.suppress(OSError):
                        if os.readlink(fd) == target:
                            return process.pid
        return None

    def tick(self) -> None:
        """Restart slots that are due; a process that exited by itself is restarted after 0.5 s."""
        now = time.monotonic()
        for slot in self.slots:
            if slot.respawn_at is None and slot.process is not None and slot.process.poll() is not None:
                self.unexpected_exits[slot.kind] += 1
                slot.respawn_at = now + 0.5
            if slot.respawn_at is not None and now >= slot.respawn_at:
                self._spawn(slot)

    def log_tails(self, lines: int = 30) -> str:
        out = []
        for slot in self.slots:
            slot.log.flush()
            text = Path(slot.log.name).read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {slot.name} ---\n" + "\n".join(text))
        return "\n".join(out)

    def __exit__(self, *exc: object) -> None:
        for slot in self.slots:
            if slot.process is not None and slot.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(slot.process.pid, signal.SIGKILL)
        for slot in self.slots:
            if slot.process is not None:
                slot.process.wait()
            slot.log.close()


def _socket_inode(local_port: int, remote_port: int) -> str | None:
    """The inode of the IPv4 TCP socket local_port -> remote_port (Linux /proc/net/tcp), or None."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
            if int(local, 16) == local_port and int(remote, 16) == remote_port:
                return fields[9]
    return None


def service_env(data_dir: Path, database_url: str) -> dict[str, str]:
    """The processes' environment: ours without any UNLEARN_AUDIT_* of the caller's, plus the bench's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNLEARN_AUDIT_")}
    env.update(SERVICE_SETTINGS)
    env.update(
        {
            "UNLEARN_AUDIT_DATABASE_URL": database_url,
            "UNLEARN_AUDIT_DATA_DIR": str(data_dir),
            "UNLEARN_AUDIT_API_KEYS": f"{API_KEY}:submit+read",
            "UNLEARN_AUDIT_CALLBACK_SECRET": CALLBACK_SECRET,
            "UNLEARN_AUDIT_CHECK_PLUGINS": PLUGIN,
        }
    )
    return env


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


# --- the database, read directly -------------------------------------------------------------------------------
class Observer:
    """One asyncpg connection to the bench's database, reopened after PostgreSQL restarts."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._conn: Any = None

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        import asyncpg

        for attempt in range(2):
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(self.dsn, timeout=5)
                return list(await self._conn.fetch(query, *args, timeout=10))
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                await self.close()
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)


def _json(value: Any) -> Any:
    """asyncpg returns `json` columns as text."""
    return json.loads(value) if isinstance(value, str) else value


# --- submitting ------------------------------------------------------------------------------------------------
@dataclass
class Submission:
    index: int
    key: str
    body: dict[str, Any]
    job_id: str | None = None
    status_code: int | None = None
    failures: list[str] = field(default_factory=list)
    rejected: str | None = None


def evaluation_request(index: int, rng: random.Random, target_url: str, callback_url: str) -> dict[str, Any]:
    """A request whose `forget` check (the bench's trivial check) takes 0.5-2 s: 5-20 items of 0.1 s."""
    items = [
        {"question": f"Bench question {index}.{j}?", "choices": ["a", "b", "c", "d"], "answer": rng.randrange(4)}
        for j in range(rng.randint(5, 20))
    ]
    return {
        "target": {"kind": "tgi", "url": target_url},
        "checks": {"forget": {"dataset": {"items": items, "name": f"bench-{index}"}, "subject": "bench"}},
        "labels": {"bench": "faults", "job": str(index)},
        "seed": index,
        "callback": {"url": f"{callback_url}/callback"},
    }


async def submit(client: httpx.AsyncClient, apis: list[str], sub: Submission) -> None:
    """POST until a 2xx, moving to the next API process after each failure (same Idempotency-Key)."""
    deadline = time.monotonic() + SUBMIT_DEADLINE_S
    turn = sub.index
    while time.monotonic() < deadline:
        api = apis[turn % len(apis)]
        turn += 1
        try:
            resp = await client.post(
                f"{api}/v1/evaluations",
                json=sub.body,
                headers={"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": sub.key},
            )
        except httpx.HTTPError as exc:
            sub.failures.append(type(exc).__name__)
        else:
            if resp.status_code in (200, 202):
                sub.job_id, sub.status_code = str(resp.json()["id"]), resp.status_code
                return
            if resp.status_code < 500 and resp.status_code not in (408, 429):
                sub.rejected = f"HTTP {resp.status_code}: {resp.text[:300]}"
                return
            sub.failures.append(f"HTTP {resp.status_code}")
        await asyncio.sleep(0.2)


# --- the run ---------------------------------------------------------------------------------------------------
@dataclass
class Faults:
    began: float
    """time.monotonic() when the faults and submissions began."""
    kills: list[dict[str, Any]] = field(default_factory=list)
    pg_restart: dict[str, float] = field(default_factory=dict)
    pg_restart_at_s: float | None = None


async def inject(
    options: Options, fleet: Fleet, pg: PrivatePostgres, observer: Observer, began: float, faults: Faults
) -> None:
    """The kills, every `kill_every_s`, and the PostgreSQL restart half-way between two of them. The next kill
    comes `kill_every_s` after the outage ends, unless `kills_during_restart`: then the kills go on beside it."""
    rng = random.Random(f"{options.seed}:victims")
    api_kills = -(-options.kills // 3)  # a third, rounded up
    kinds: list[Kind] = ["api" if n < api_kills else "worker" for n in range(options.kills)]
    rng.shuffle(kinds)
    restart_before = options.kills // 2 if options.pg_restart else None
    restart: asyncio.Task[dict[str, float]] | None = None
    bags: dict[Kind, list[Slot]] = {"api": [], "worker": []}
    pushed = 0.0
    for n, kind in enumerate([*kinds, None]):
        if n == restart_before:
            await _sleep_until(began + (n + 0.5) * options.kill_every_s)
            faults.pg_restart_at_s = round(time.monotonic() - began, 2)
            restart = asyncio.create_task(asyncio.to_thread(pg.restart, options.pg_down_s))
            if not options.kills_during_restart:
                outage = (await restart).get("outage_s", 0.0)
                pushed = outage + 0.5 * options.kill_every_s
        if kind is None:
            break
        await _sleep_until(began + pushed + (n + 1) * options.kill_every_s)
        if not bags[kind]:  # each process of a kind is killed once before any is killed again
            bags[kind] = fleet.of_kind(kind)
            rng.shuffle(bags[kind])
        victim = bags[kind].pop()
        delay = round(rng.uniform(0.0, 1.0), 2)
        held = None
        if kind == "worker" and (restart is None or restart.done()):
            with contextlib.suppress(Exception):
                rows = await observer.fetch(
                    "SELECT count(*) AS n FROM jobs "
                    "WHERE status = 'running' AND worker_id = $1 AND lease_until > now()",
                    victim.worker_id,
                )
                held = int(rows[0]["n"])
        faults.kills.append(
            {
                "t_s": round(time.monotonic() - began, 2),
                "victim": victim.name,
                "worker_id": victim.worker_id if kind == "worker" else None,
                "held_a_job": held,
                "restart_after_s": delay,
            }
        )
        fleet.kill(victim, delay)
    if restart is not None:
        faults.pg_restart = {k: round(v, 2) for k, v in (await restart).items()}


async def _sleep_until(t: float) -> None:
    await asyncio.sleep(max(0.0, t - time.monotonic()))


async def supervise(fleet: Fleet) -> None:
    while True:
        fleet.tick()
        await asyncio.sleep(0.05)


async def wait_ready(client: httpx.AsyncClient, fleet: Fleet, limit_s: float = 120.0) -> None:
    """Until every API process answers /readyz (the schema is migrated then)."""
    deadline = time.monotonic() + limit_s
    pending = set(fleet.api_urls)
    while pending:
        if time.monotonic() > deadline:
            raise SetupError(f"API processes not ready after {limit_s:.0f} s: {sorted(pending)}\n{fleet.log_tails()}")
        for url in list(pending):
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    pending.discard(url)
        await asyncio.sleep(0.2)


async def drained(observer: Observer, receiver: CallbackReceiver, accepted: set[str]) -> bool:
    """No job queued or running, no callback owed, and every accepted job's callback answered."""
    with contextlib.suppress(Exception):
        rows = await observer.fetch(
            "SELECT count(*) FILTER (WHERE status NOT IN ('succeeded', 'failed', 'cancelled')) AS active, "
            "count(*) FILTER (WHERE callback_due_at IS NOT NULL) AS owed FROM jobs"
        )
        return rows[0]["active"] == 0 and rows[0]["owed"] == 0 and accepted <= set(receiver.snapshot())
    return False


async def run_bench(options: Options) -> Report:
    """Set everything up, inject the faults, drain, check; everything is stopped and deleted on return."""
    began = time.monotonic()
    pg_bin = find_pg_bin(options.pg_bin)
    root = Path(tempfile.mkdtemp(prefix="unlearn-faults-"))
    os.chmod(root, 0o755)  # the `postgres` user must reach its cluster directory inside
    try:
        with contextlib.ExitStack() as stack:
            pg = stack.enter_context(PrivatePostgres(pg_bin, root / "pg"))
            receiver = stack.enter_context(CallbackReceiver(CALLBACK_SECRET, options.receiver_delay_s))
            stand_in = stack.enter_context(TargetStandIn())
            data_dir = root / "data"
            data_dir.mkdir()
            env = service_env(data_dir, pg.url)
            logs = options.log_dir or root / "logs"
            fleet = stack.enter_context(Fleet(env, logs, options.api_processes, options.workers))
            receiver.sender_of = fleet.pid_of_client
            figures = await _exercise(options, pg, receiver, stand_in, fleet, data_dir, began)
            if figures["violations"]:
                print(fleet.log_tails(), file=sys.stderr)
        return Report(figures, list(fleet.pids), root, pg.port)
    finally:
        pg_log = root / "pg" / "postgres.log"
        if options.log_dir is not None and pg_log.exists():
            shutil.copyfile(pg_log, options.log_dir / "postgres.log")
        shutil.rmtree(root, ignore_errors=True)


async def _exercise(
    options: Options,
    pg: PrivatePostgres,
    receiver: CallbackReceiver,
    stand_in: TargetStandIn,
    fleet: Fleet,
    data_dir: Path,
    began_setup: float,
) -> dict[str, Any]:
    observer = Observer(pg.dsn)
    faults = Faults(began=time.monotonic())
    rng = random.Random(f"{options.seed}:requests")
    subs = [
        Submission(i, f"faults-{options.seed}-{i}", evaluation_request(i, rng, stand_in.url, receiver.url))
        for i in range(options.jobs)
    ]
    async with httpx.AsyncClient(timeout=10.0) as client:
        supervisor = asyncio.create_task(supervise(fleet))
        try:
            await wait_ready(client, fleet)
            began = faults.began = time.monotonic()
            setup_s = began - began_setup
            span = max(options.kills, 1) * options.kill_every_s

            async def paced(sub: Submission) -> None:
                await _sleep_until(began + sub.index * span / max(options.jobs, 1))
                await submit(client, fleet.api_urls, sub)

            tasks = [asyncio.create_task(inject(options, fleet, pg, observer, began, faults))]
            tasks += [asyncio.create_task(paced(s)) for s in subs]
            try:
                await asyncio.gather(*tasks)
            finally:  # a failed restart stops the submissions too
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            faults_done = time.monotonic()
            accepted = {s.job_id for s in subs if s.job_id is not None}
            bound = drain_bound_s()
            while time.monotonic() - faults_done < bound:  # polling the database: nothing to wait on here
                if await drained(observer, receiver, accepted):
                    break
                await asyncio.sleep(0.5)
            drain_s = time.monotonic() - faults_done
            await wait_ready(client, fleet)
            figures = await check(options, observer, receiver, client, fleet, subs, faults)
        finally:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
            await observer.close()
    figures["timings_s"] = {
        "setup": round(setup_s, 1),
        "faults_and_submits": round(faults_done - began, 1),
        "drain": round(drain_s, 1),
        "drain_bound": round(bound, 1),
        "total": round(time.monotonic() - began_setup, 1),
    }
    return figures


def drain_bound_s() -> float:
    """Longer than a callback whose worker died mid-delivery waits before another worker takes it."""
    settings = Settings(
        callback_max_attempts=int(SERVICE_SETTINGS["UNLEARN_AUDIT_CALLBACK_MAX_ATTEMPTS"]),
        callback_backoff_s=float(SERVICE_SETTINGS["UNLEARN_AUDIT_CALLBACK_BACKOFF_S"]),
    )
    return delivery_lease_s(settings) + 60.0


# --- the invariants --------------------------------------------------------------------------------------------
async def check(
    options: Options,
    observer: Observer,
    receiver: CallbackReceiver,
    client: httpx.AsyncClient,
    fleet: Fleet,
    subs: list[Submission],
    faults: Faults,
) -> dict[str, Any]:
    """The figures of the run and its violations (each a sentence naming the job)."""
    violations: list[str] = []
    jobs = {
        r["id"]: r
        for r in await observer.fetch(
            "SELECT id, status, scorecard, verdict, error, lease_until, callback_due_at, attempts, "
            "idempotency_key FROM jobs"
        )
    }
    finished = Counter(
        {
            r["job_id"]: r["n"]
            for r in await observer.fetch(
                "SELECT job_id, count(*) AS n FROM job_events WHERE kind = 'job_finished' GROUP BY job_id"
            )
        }
    )
    finished_status = {
        r["job_id"]: _json(r["data"]).get("status")
        for r in await observer.fetch("SELECT job_id, data FROM job_events WHERE kind = 'job_finished'")
    }
    claimers: dict[str, list[str]] = {}
    for r in await observer.fetch("SELECT job_id, data FROM job_events WHERE kind = 'job_claimed' ORDER BY id"):
        claimers.setdefault(r["job_id"], []).append(str(_json(r["data"]).get("worker_id")))
    killed = {k["worker_id"] for k in faults.kills if k["worker_id"] is not None}
    # Each claim after a job's first took it from the claimer before: a killed worker, or a live one whose
    # lease lapsed (the database unreachable for longer than its lease, or its event loop blocked).
    taken_from = [ids[i - 1] for ids in claimers.values() for i in range(1, len(ids))]
    from_killed = sum(1 for worker_id in taken_from if worker_id in killed)
    recorded_ok = {r["delivery_id"] for r in await observer.fetch("SELECT delivery_id FROM callback_attempts WHERE ok")}
    answered = receiver.snapshot()
    keys = await _published_keys(client, fleet)

    accepted = [s for s in subs if s.job_id is not None]
    for s in subs:
        if s.rejected is not None:
            violations.append(f"submission {s.index} was refused: {s.rejected}")
        elif s.job_id is None:
            violations.append(f"submission {s.index} was not accepted in {SUBMIT_DEADLINE_S:.0f} s: {s.failures[-3:]}")
    by_key = Counter(r["idempotency_key"] for r in jobs.values())
    violations += [f"Idempotency-Key {k} made {n} jobs" for k, n in by_key.items() if n > 1]
    violations += [f"job {s.job_id} was accepted but is not in the database" for s in accepted if s.job_id not in jobs]

    for job_id, job in jobs.items():
        status = job["status"]
        if status not in TERMINAL:
            violations.append(f"job {job_id} is still {status} (attempts {job['attempts']})")
        elif status == "succeeded":
            violations += await _check_scorecard(client, fleet, keys, job_id, _json(job["scorecard"]))
        else:
            error = _json(job["error"]) or {}
            if not (error.get("code") and error.get("message")):
                violations.append(f"job {job_id} is {status} without an error code and message: {error}")
        if finished[job_id] != 1:
            violations.append(f"job {job_id} has {finished[job_id]} job_finished events (expected exactly 1)")
        elif finished_status.get(job_id) != status:
            violations.append(f"job {job_id} is {status} but its job_finished event says {finished_status[job_id]}")
        if job["lease_until"] is not None:
            violations.append(f"job {job_id} still has a lease until {job['lease_until']}")
        if job["callback_due_at"] is not None:
            violations.append(f"job {job_id} still owes its callback (due {job['callback_due_at']})")
        answers = answered.get(job_id, [])
        if not answers:
            violations.append(f"job {job_id}: its callback was never answered 2xx")
        elif len(answers) > 1 and (options.strict_once or not _lost_to_kills(answers, fleet.killed)):
            violations.append(f"job {job_id}: its callback was answered 2xx {len(answers)} times")
        for answer in answers:
            violations += _check_callback(keys, job_id, status, answer.payload)
    violations += [f"a callback was rejected by the receiver: {r}" for r in receiver.rejected]

    statuses = Counter(j["status"] for j in jobs.values())
    worker_kills = [k for k in faults.kills if k["victim"].startswith("worker")]
    return {
        "date": _now(),
        "options": {
            "jobs": options.jobs,
            "kills": options.kills,
            "pg_restart": options.pg_restart,
            "seed": options.seed,
            "kill_every_s": options.kill_every_s,
            "pg_down_s": options.pg_down_s,
            "receiver_delay_s": options.receiver_delay_s,
            "kills_during_restart": options.kills_during_restart,
            "strict_once": options.strict_once,
            "api_processes": options.api_processes,
            "workers": options.workers,
            "service_settings": SERVICE_SETTINGS,
        },
        "jobs": {
            "submitted": len(subs),
            "accepted": len(accepted),
            "accepted_on_retry": sum(1 for s in accepted if s.failures),
            "answered_200_as_a_retry": sum(1 for s in accepted if s.status_code == 200),
            "failed_submit_attempts": dict(Counter(f for s in subs for f in s.failures)),
            "in_database": len(jobs),
            "by_status": dict(statuses),
            "errors": dict(Counter(str(e.get("code")) for j in jobs.values() if (e := _json(j["error"])))),
            "resumed_after_lost_lease": sum(1 for j in jobs.values() if j["attempts"] > 1),
            "most_attempts": max((j["attempts"] for j in jobs.values()), default=0),
            "claims_taken_from_a_killed_worker": from_killed,
            "claims_taken_from_a_live_worker": len(taken_from) - from_killed,
        },
        "kills": {
            "api": sum(1 for k in faults.kills if k["victim"].startswith("api")),
            "worker": len(worker_kills),
            "worker_kills_holding_a_job": sum(1 for k in worker_kills if k["held_a_job"]),
            "unexpected_exits": dict(fleet.unexpected_exits),
            "schedule": faults.kills,
        },
        "pg_restart": {"at_s": faults.pg_restart_at_s, **faults.pg_restart},
        "callbacks": {
            "answered_2xx": sum(len(v) for v in answered.values()),
            "jobs_answered": len(answered),
            "duplicates": sum(len(v) - 1 for v in answered.values() if len(v) > 1),
            "duplicates_after_the_sender_was_killed": sum(
                len(v) - 1 for v in answered.values() if len(v) > 1 and _lost_to_kills(v, fleet.killed)
            ),
            "answered_2xx_not_recorded_ok": sum(
                1 for v in answered.values() for a in v if a.delivery_id not in recorded_ok
            ),
            "duplicate_evidence": _duplicate_evidence(answered, recorded_ok, fleet.killed, faults.began),
            "rejected": len(receiver.rejected),
        },
        "violations": violations,
    }


async def _published_keys(client: httpx.AsyncClient, fleet: Fleet) -> dict[str, Any]:
    """The public keys the deployment publishes (GET /v1/signing-keys), as an outside verifier gets them: the
    signing keys live in the database, shared by every API process and worker."""
    resp = await client.get(f"{fleet.api_urls[0]}/v1/signing-keys")
    resp.raise_for_status()
    keys: dict[str, Any] = {}
    for entry in resp.json()["keys"]:
        keys.update(load_public_pems(entry["public_key_pem"]))
    return keys


async def _check_scorecard(
    client: httpx.AsyncClient, fleet: Fleet, keys: dict[str, Any], job_id: str, stored: dict[str, Any] | None
) -> list[str]:
    """The stored scorecard is a scorecard of this job with a figure, and its attestation verifies."""
    if stored is None:
        return [f"job {job_id} succeeded without a scorecard"]
    try:
        card = Scorecard.model_validate(stored)
    except ValidationError as exc:
        return [f"job {job_id}: its stored scorecard is not a valid scorecard: {exc}"]
    problems = []
    forget = card.checks.forget
    headline = forget.headline if forget is not None else None
    if card.evaluation_id != job_id or headline is None or headline.ci_low is None or headline.n < 1:
        problems.append(f"job {job_id}: its scorecard lacks the forget figure with n and an interval")
    url = f"{fleet.api_urls[0]}/v1/evaluations/{job_id}/attestation"
    resp = await client.get(url, headers={"Authorization": f"Bearer {API_KEY}"})
    if resp.status_code != 200:
        return [*problems, f"job {job_id}: attestation answered HTTP {resp.status_code}"]
    try:
        signed = verify_envelope(resp.json(), keys)
    except InvalidEnvelopeError as exc:
        return [*problems, f"job {job_id}: attestation does not verify: {exc}"]
    if signed != card:
        problems.append(f"job {job_id}: the attested scorecard differs from the stored one")
    return problems


def _lost_to_kills(answers: list[Answer], killed: dict[int, float]) -> bool:
    """Whether each answer but the last went to a process SIGKILLed before the next answer, while it could
    still be recording the 2xx (STORE_PATIENCE_S): the callback then stayed owed and was delivered again, as
    at-least-once delivery allows (receivers dedupe on `evaluation_id`). Any other second 2xx is a duplicate
    the service owes an explanation for."""
    for answer, redelivered in pairwise(answers):
        killed_at = killed.get(answer.sender_pid) if answer.sender_pid is not None else None
        if killed_at is None or not answer.at <= killed_at <= min(redelivered.at, answer.at + STORE_PATIENCE_S):
            return False
    return True


def _duplicate_evidence(
    answered: dict[str, list[Answer]], recorded_ok: set[str], killed: dict[int, float], began: float
) -> list[dict[str, Any]]:
    """For each callback answered 2xx more than once, each answer: when, whether the service recorded it as
    delivered, and whether (and how soon after) the process that sent it was SIGKILLed."""
    evidence = []
    for job_id, answers in answered.items():
        if len(answers) < 2:
            continue
        rows = []
        for a in answers:
            killed_at = killed.get(a.sender_pid) if a.sender_pid is not None else None
            rows.append(
                {
                    "t_s": round(a.at - began, 2),
                    "recorded_ok": a.delivery_id in recorded_ok,
                    "sender_pid": a.sender_pid,
                    "sender_killed_after_s": round(killed_at - a.at, 3) if killed_at is not None else None,
                }
            )
        evidence.append({"job": job_id, "answers": rows})
    return evidence


def _check_callback(keys: dict[str, Any], job_id: str, status: str, body: dict[str, Any]) -> list[str]:
    if body.get("status") != status:
        return [f"job {job_id}: a callback said {body.get('status')} but the job is {status}"]
    envelope = body.get("scorecard_envelope")
    if status != "succeeded":
        return [] if envelope is None else [f"job {job_id}: a {status} job's callback carried a scorecard"]
    try:
        card = verify_envelope(envelope or {}, keys)
    except InvalidEnvelopeError as exc:
        return [f"job {job_id}: the callback's envelope does not verify: {exc}"]
    return [] if card.evaluation_id == job_id else [f"job {job_id}: the callback carried {card.evaluation_id}'s card"]


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
