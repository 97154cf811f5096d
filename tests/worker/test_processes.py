"""`python -m service.worker --workers 2`: child worker processes start, share one result memo directory, and
stop cleanly on SIGTERM, the directory removed with them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_worker_processes_stop_gracefully_on_sigterm(sqlite_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "UNLEARN_AUDIT_DATABASE_URL": sqlite_url, "UNLEARN_AUDIT_DATA_DIR": str(tmp_path)}
    log_path = tmp_path / "workers.log"
    with log_path.open("wb") as log:
        parent = subprocess.Popen(
            [sys.executable, "-m", "service.worker", "--workers", "2"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            end = time.monotonic() + 120
            while log_path.read_text().count(" started on ") < 2:
                assert parent.poll() is None, log_path.read_text()
                assert time.monotonic() < end, "workers did not start:\n" + log_path.read_text()
                time.sleep(0.1)
            memo_dirs = list((tmp_path / "cache" / "memo").iterdir())
            assert len(memo_dirs) == 1 and memo_dirs[0].name.startswith("memo-")
            parent.send_signal(signal.SIGTERM)
            assert parent.wait(60) == 0, log_path.read_text()
        finally:
            if parent.poll() is None:
                parent.kill()
                parent.wait()
    text = log_path.read_text()
    assert text.count("stopped after 0 job(s)") == 2, text
    assert "sqlite+aiosqlite" in text
    assert text.count(f"worker result memo shared in {memo_dirs[0]}") == 2, text
    assert not memo_dirs[0].exists()
