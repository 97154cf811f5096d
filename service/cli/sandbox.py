"""`sandbox build [--dir]`: generate the sandbox world and train its control models."""

from __future__ import annotations

import sys
from pathlib import Path

from service.settings import Settings


def build_sandbox_command(directory: str | None) -> int:
    """Build (or reuse, when cached) the sandbox under `directory`; 0 on success, 2 on error."""
    target = Path(directory) if directory else Settings().resolved_sandbox_dir()
    try:
        from evaluators.sandbox import build_sandbox
    except ImportError as exc:
        print(f"unlearn-audit: the sandbox is not available in this build: {exc}", file=sys.stderr)
        return 2
    build_sandbox(target)
    print(f"sandbox ready in {target}", file=sys.stderr)
    return 0
