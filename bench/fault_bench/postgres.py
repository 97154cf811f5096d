"""The private PostgreSQL cluster: initdb/pg_ctl on a spare port, stopped (`-m immediate`) and started again
for the restart fault."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Self

from bench.fault_bench.config import SetupError


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


def free_port() -> int:
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
            self.port = free_port()
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
