"""`sandbox build [--dir] [--size full|test] [--seed N]`: generate the sandbox world and train its control models."""

from __future__ import annotations

import sys
from pathlib import Path

from service.settings import Settings


def build_sandbox_command(directory: str | None, *, size: str = "full", seed: int = 0) -> int:
    """Build (or reuse, when cached) the sandbox under `directory`; 0 on success."""
    from evaluators.sandbox import build_sandbox

    target = Path(directory) if directory else Settings().resolved_sandbox_dir()
    last_stage = ""
    interactive = sys.stderr.isatty()

    def progress(stage: str, done: int, total: int) -> None:
        nonlocal last_stage
        line = f"{stage}: {done}/{total}"
        if interactive:
            sys.stderr.write("\r" + line.ljust(60))
            if done >= total:
                sys.stderr.write("\n")
        elif stage != last_stage or done >= total:  # one line per stage start and end in logs
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
        last_stage = stage

    build_sandbox(target, size="test" if size == "test" else "full", seed=seed, progress=progress)
    print(f"sandbox ready in {target}", file=sys.stderr)
    return 0
