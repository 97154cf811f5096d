"""Which install extra a command needs, and the message for a light install that lacks it.

`pip install unlearn-audit` holds the client commands (submit, wait, verify, judges); the server's
commands need `unlearn-audit[server]` (API and store) or `unlearn-audit[worker]` (adds torch and the model
libraries: the API imports the checks, so `serve`, which runs workers too, needs it).
"""

from __future__ import annotations

COMMAND_EXTRAS = {
    "serve": "worker",
    "worker": "worker",
    "sandbox": "worker",
    "cache": "worker",
    "demo": "worker",
    "keys": "server",
    "webhooks": "server",
}
"""Subcommand -> the extra it needs."""

_CLIENT_MODULES = frozenset({"httpx", "pydantic", "pydantic_core", "cryptography", "rfc8785", "schemas", "service"})


def missing_extra_message(command: str, exc: ModuleNotFoundError) -> str | None:
    """The message naming the extra to install, when `exc` is a dependency of an extra; else None (a bug)."""
    extra = COMMAND_EXTRAS.get(command)
    top = (exc.name or "").split(".")[0]
    if extra is None or not top or top in _CLIENT_MODULES:
        return None
    return (
        f"unlearn-audit {command} needs the '{extra}' extra, which this install lacks (no module named {top!r}): "
        f"pip install 'unlearn-audit[{extra}]'"
    )
