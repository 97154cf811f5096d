"""The open-loop load benchmark (run by bench/load.py): submit latency at fixed rates against 2 API processes and
workers on a private PostgreSQL, then claims, throughput and jobs run twice as 1, 2 and 4 workers drain a queue."""

from bench.load_bench.run import LoadOptions, run_load

__all__ = ["LoadOptions", "run_load"]
