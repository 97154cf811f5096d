"""Shared fixtures live in tests/support/ as plugins, one module per area (see each module)."""

pytest_plugins = [
    "tests.support.db",
    "tests.support.models",
    "tests.support.sandbox",
]
