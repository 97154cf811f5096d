"""Which install extra a command needs, and the message for a light install that lacks it.

`pip install unlearn-audit` holds the client commands (submit, wait, verify, judges); the server's
commands need `unlearn-audit[server]` (API and store) or `unlearn-audit[worker]` (adds torch and the model
libraries, which the workers import). `serve` runs local workers by default, so it needs `[worker]`;
`serve --workers 0` runs the API alone, which imports none of the model libraries, on `[server]`.
"""

from __future__ import annotations

COMMAND_EXTRAS = {
    "serve": "worker",
    "worker": "worker",
    "sandbox": "worker",
    "cache": "worker",
    "demo": "worker",
    "migrate": "server",
    "keys": "server",
    "webhooks": "server",
}
"""Subcommand -> the extra it needs."""

_NOTES = {"serve": " (the API alone, `unlearn-audit serve --workers 0`, needs only 'unlearn-audit[server]')"}

_CLIENT_MODULES = frozenset({"httpx", "pydantic", "pydantic_core", "cryptography", "rfc8785", "schemas", "service"})


def missing_extra_message(command: str, exc: ModuleNotFoundError) -> str | None:
    """The message naming the extra to install, when `exc` is a dependency of an extra; else None (a bug)."""
    extra = COMMAND_EXTRAS.get(command)
    top = (exc.name or "").split(".")[0]
    if extra is None or not top or top in _CLIENT_MODULES:
        return None
    return (
        f"unlearn-audit {command} needs the '{extra}' extra, which this install lacks (no module named {top!r}): "
        f"pip install 'unlearn-audit[{extra}]'{_NOTES.get(command, '')}"
    )
