"""The service's processes: API processes and workers, each restarted after a kill (or an exit)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Self

from bench.fault_bench.config import REPO, Kind, timestamp
from bench.fault_bench.postgres import free_port


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
                port = free_port() if kind == "api" else None
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
        slot.log.write(f"\n=== {slot.name} incarnation {slot.incarnation} at {timestamp()} ===\n".encode())
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
