"""A one-line progress display on stderr (redrawn in place on a terminal, one line per change otherwise)."""

from __future__ import annotations

import time
from typing import Any, TextIO


class ProgressLine:
    """Shows a job's status and progress; `close()` ends the line."""

    def __init__(self, stream: TextIO, width: int = 24) -> None:
        self.stream = stream
        self.width = width
        self.interactive = stream.isatty()
        self.started = time.monotonic()
        self._last = ""

    def render(self, job: dict[str, Any]) -> str:
        progress = job.get("progress") or {}
        done, total = int(progress.get("done") or 0), int(progress.get("total") or 0)
        check = progress.get("check") or "-"
        elapsed = time.monotonic() - self.started
        if total > 0:
            filled = min(self.width, self.width * done // total)
            bar = "#" * filled + "." * (self.width - filled)
            return f"[{bar}] {done}/{total} {check} ({job['status']}, {elapsed:.0f}s)"
        return f"{job['status']} {check} ({elapsed:.0f}s)"

    def show(self, job: dict[str, Any]) -> None:
        line = self.render(job)
        if self.interactive:
            self.stream.write("\r" + line.ljust(len(self._last)))
            self.stream.flush()
        elif line.split(" (")[0] != self._last.split(" (")[0]:  # skip lines where only the clock moved
            self.stream.write(line + "\n")
            self.stream.flush()
        self._last = line

    def close(self) -> None:
        if self.interactive and self._last:
            self.stream.write("\n")
            self.stream.flush()
