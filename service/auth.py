"""API keys and scopes.

Keys come from `UNLEARN_AUDIT_API_KEYS` (comma-separated) and/or `UNLEARN_AUDIT_API_KEYS_FILE` (one per
line, `#` comments), each `key`, `key:scope1+scope2` or `key:scope1+scope2:team` (`key::team` keeps the
default scopes). Only sha256 digests are kept in memory, compared in constant time. A key without scopes
gets `submit` and `read`; `admin` implies every scope but `unsafe`, which a key must name itself (it lets
requests run a checkpoint's own code or load pickle weights, where the operator allows them at all). A
key with a team sees only its team's jobs; a key without one sees only jobs without a team; `admin` sees
all. With no keys configured, auth is off (and `serve` binds to 127.0.0.1 only).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any, Literal

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from schemas.errors import ForbiddenError, UnauthorizedError
from service.settings import Settings

Scope = Literal["submit", "read", "items", "admin", "unsafe"]
SCOPES: frozenset[str] = frozenset({"submit", "read", "items", "admin", "unsafe"})
DEFAULT_SCOPES: frozenset[str] = frozenset({"submit", "read"})
_NOT_IMPLIED_BY_ADMIN = frozenset({"unsafe"})
TEAM_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Principal:
    """Who made a request: `owner` is a stable, non-secret id of the key (None when auth is off); `team`
    the key's team (None: jobs without a team)."""

    owner: str | None
    scopes: frozenset[str]
    team: str | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes or ("admin" in self.scopes and scope not in _NOT_IMPLIED_BY_ADMIN)

    @property
    def sees_all_teams(self) -> bool:
        return "admin" in self.scopes


ANONYMOUS = Principal(owner=None, scopes=SCOPES)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


Entry = tuple[str, frozenset[str], str | None]
"""(key, scopes, team)."""


def _parse_entry(entry: str, origin: str) -> Entry:
    key, sep, rest = entry.partition(":")
    key = key.strip()
    if not key:
        raise ValueError(f"{origin}: empty API key")
    if not sep:
        return key, DEFAULT_SCOPES, None
    scope_text, team_sep, team_text = rest.partition(":")
    team = team_text.strip() or None
    if team_sep and (team is None or not TEAM_PATTERN.match(team)):
        raise ValueError(f"{origin}: a team is 1-64 letters, digits, '.', '_' or '-' (after the second ':')")
    scopes = frozenset(s.strip() for s in scope_text.split("+") if s.strip())
    if not scopes and team_sep:  # `key::team`: the default scopes in a team
        return key, DEFAULT_SCOPES, team
    unknown = scopes - SCOPES
    if unknown or not scopes:
        raise ValueError(f"{origin}: unknown or empty scopes {sorted(unknown)}; known: {', '.join(sorted(SCOPES))}")
    return key, scopes, team


class KeyRing:
    """The configured API keys, hashed."""

    def __init__(self, entries: list[Entry]) -> None:
        self._keys = [(_digest(key), scopes, team) for key, scopes, team in entries]

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        """Read keys from `settings.api_keys` and `settings.api_keys_file`; ValueError on a bad entry."""
        entries: list[Entry] = []
        if settings.api_keys:
            for entry in settings.api_keys.split(","):
                if entry.strip():
                    entries.append(_parse_entry(entry, "UNLEARN_AUDIT_API_KEYS"))
        if settings.api_keys_file is not None:
            lines = settings.api_keys_file.read_text().splitlines()
            for number, line in enumerate(lines, 1):
                line = line.split("#", 1)[0].strip()
                if line:
                    entries.append(_parse_entry(line, f"{settings.api_keys_file}:{number}"))
        return cls(entries)

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    @property
    def teams(self) -> frozenset[str]:
        """The teams keys belong to (empty: teams are not in use)."""
        return frozenset(team for _, _, team in self._keys if team is not None)

    def authenticate(self, presented: str) -> Principal | None:
        """The principal for a presented key, or None. Every stored digest is compared (no early exit)."""
        digest = _digest(presented)
        found: tuple[frozenset[str], str | None] | None = None
        for stored, scopes, team in self._keys:
            if hmac.compare_digest(stored, digest):
                found = (scopes, team)
        if found is None:
            return None
        return Principal(owner=digest.hex()[:16], scopes=found[0], team=found[1])


def principal_for(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """Authenticate a connection against the app's key ring (401 on a missing or unknown key)."""
    keyring: KeyRing = connection.app.state.keyring
    if not keyring.enabled:
        return ANONYMOUS
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("missing API key: send `Authorization: Bearer <key>`")
    principal = keyring.authenticate(token.strip())
    if principal is None:
        raise UnauthorizedError("unknown API key")
    return principal


def require_scope(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Litestar guard: the handler's `opt["scope"]` must be granted to the caller's key (403 names it)."""
    principal = principal_for(connection)
    scope = handler.opt.get("scope")
    if scope is not None and not principal.has(scope):
        raise ForbiddenError(f"this API key lacks the `{scope}` scope")
    connection.scope.setdefault("state", {})["principal"] = principal


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The principal the guard stored for this request."""
    principal = connection.scope.get("state", {}).get("principal")
    return principal if isinstance(principal, Principal) else principal_for(connection)
