"""Shared fixtures live in tests/support/ as plugins, one module per area (see each module)."""

pytest_plugins = [
    "tests.support.api_server",
    "tests.support.db",
    "tests.support.hub",
    "tests.support.mlflow_server",
    "tests.support.models",
    "tests.support.sandbox",
]
