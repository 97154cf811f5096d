"""CPU use over an interval, from /proc: the machine's busy share and the CPU time of named process groups."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from the first line of /proc/stat (iowait counts as idle)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal; guest time is inside user
    return total - values[3] - values[4], total


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (after the command name, which may hold spaces), or None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def process_table() -> dict[int, tuple[int, int, int]]:
    """pid -> (ppid, session, utime + stime + reaped children's, in ticks) of every process now running."""
    table: dict[int, tuple[int, int, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is None:
            continue
        # field n of proc(5) is fields[n - 3]: ppid 4, session 6, utime 14, stime 15, cutime 16, cstime 17
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
        table[int(entry.name)] = (int(fields[1]), int(fields[3]), ticks)
    return table


def postmaster_pid(data_dir: Path) -> int | None:
    """The PostgreSQL server whose command line names `data_dir` (its backends are its children)."""
    needle = str(data_dir).encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if needle in (entry / "cmdline").read_bytes():
                    return int(entry.name)
    return None


@dataclass
class Groups:
    """The processes to account for, by group name: sessions (a process started with start_new_session and
    its children) and the children of a parent (PostgreSQL's backends)."""

    sessions: dict[str, list[int]] = field(default_factory=dict)
    parents: dict[str, int] = field(default_factory=dict)

    def ticks(self) -> dict[str, int]:
        table = process_table()
        out = {name: 0 for name in [*self.sessions, *self.parents]}
        for pid, (ppid, session, ticks) in table.items():
            for name, leaders in self.sessions.items():
                if session in leaders:
                    out[name] += ticks
            for name, parent in self.parents.items():
                if pid == parent or ppid == parent:
                    out[name] += ticks
        own = os.times()
        out["load_client"] = round((own.user + own.system) * TICKS_PER_S)
        return out


class CpuWindow:
    """CPU use between `start()` and `stop()`: the machine's busy share, and cores used by each group."""

    def __init__(self, groups: Groups) -> None:
        self.groups = groups
        self._machine = (0, 0)
        self._ticks: dict[str, int] = {}
        self._began = 0.0

    def start(self) -> None:
        self._began = time.monotonic()
        self._machine = machine_ticks()
        self._ticks = self.groups.ticks()

    def stop(self) -> dict[str, object]:
        """busy_pct (all CPUs), cores used per group (CPU seconds / wall seconds; processes that exited and were
        not reaped by their session's leader are missed), and the load average at the end."""
        wall = time.monotonic() - self._began
        busy, total = machine_ticks()
        ticks = self.groups.ticks()
        d_busy, d_total = busy - self._machine[0], total - self._machine[1]
        cores = {
            name: round((ticks[name] - self._ticks.get(name, 0)) / TICKS_PER_S / wall, 2) if wall > 0 else None
            for name in ticks
        }
        return {
            "busy_pct": round(100.0 * d_busy / d_total, 1) if d_total else None,
            "cores_used": cores,
            "cpus": os.cpu_count(),
            "loadavg_1m_end": os.getloadavg()[0],
        }
