"""Workers: claim queued jobs under lease and run them; one or more per machine."""

from service.worker.loop import default_worker_id, run_worker
from service.worker.processes import shared_memo_dir, start_worker_process, worker_main

__all__ = ["default_worker_id", "run_worker", "shared_memo_dir", "start_worker_process", "worker_main"]
