"""The unlearn-audit service: HTTP API, job store, workers, CLI."""

__version__ = "0.1.0"
