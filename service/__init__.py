"""The unlearn-audit service: HTTP API, job store, workers, CLI, and the Python client (`service.client`)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("unlearn-audit")
except PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "0+unknown"
