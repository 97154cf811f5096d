"""The fault benchmark (run by bench/faults.py): a private PostgreSQL cluster, the service's processes on it,
SIGKILLs and a PostgreSQL restart while jobs are in flight, then the invariants every accepted job must meet."""

from bench.fault_bench.config import TERMINAL, Options, Report, SetupError
from bench.fault_bench.postgres import find_pg_bin
from bench.fault_bench.run import run_bench

__all__ = ["TERMINAL", "Options", "Report", "SetupError", "find_pg_bin", "run_bench"]
