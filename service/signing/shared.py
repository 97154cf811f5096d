"""The scorecard signing keys a deployment shares: every API replica and worker signs with the same key and
publishes the same public keys, whichever machine it runs on.

Two sources, one per deployment:

- a mounted secret, `UNLEARN_AUDIT_SIGNING_KEY_FILE`: a PEM Ed25519 private key (PKCS#8, as
  `openssl genpkey -algorithm ed25519` writes it) that no other user may read or anyone else write
  (mode 0400 or 0440). The database records its public key; a new secret retires the keys before it.
- the database (no key file set): the `signing_keys` table holds the active private key; the first use
  generates it and `unlearn-audit keys rotate` replaces it.

Either way the public keys of retired keys stay in the table and in GET /v1/signing-keys, so scorecards
signed before a rotation still verify. Keys a data directory made on its own (`<data_dir>/signing/keys`,
see `keys.KeyStore`) are imported on first use, so scorecards they signed verify too.
"""

from __future__ import annotations

import asyncio
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from schemas.errors import ConfigurationError
from schemas.scorecard import Scorecard
from service.settings import Settings
from service.signing.dsse import sign_scorecard
from service.signing.intoto import EnvelopeKind, sign_statement
from service.signing.keys import KeyStore, PublicKeyInfo, key_id, load_public_pems, public_pem
from service.store.api import JobStore
from service.store.signing_keys import StoredSigningKey

KeySource = Literal["file", "database"]
_LOOSE_MODE_BITS = stat.S_IWGRP | stat.S_IRWXO
"""A key file must not be writable by its group nor open to other users (group read is allowed: a
Kubernetes secret mounted with `defaultMode: 0440` and an `fsGroup`)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _private_pem(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return raw.decode("ascii")


def _load_private(pem: bytes, where: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"{where}: not an unencrypted PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"{where}: the signing key must be Ed25519 (openssl genpkey -algorithm ed25519)")
    return key


def read_key_file(path: Path) -> Ed25519PrivateKey:
    """The private key in a mounted secret. ConfigurationError when it is missing, not a regular file, open to
    other users or writable by its group, or not an Ed25519 key."""
    try:
        info = os.stat(path)  # follows the symlinks a Kubernetes secret volume is made of
        if not stat.S_ISREG(info.st_mode):
            raise ConfigurationError(f"UNLEARN_AUDIT_SIGNING_KEY_FILE {path} is not a regular file")
        if info.st_mode & _LOOSE_MODE_BITS:
            raise ConfigurationError(
                f"UNLEARN_AUDIT_SIGNING_KEY_FILE {path} has mode {stat.S_IMODE(info.st_mode):04o}: other users may "
                "read it or its group may write it; mount it with mode 0400 (or 0440 with an fsGroup)"
            )
        pem = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"UNLEARN_AUDIT_SIGNING_KEY_FILE {path}: {exc.strerror or exc}") from exc
    return _load_private(pem, f"UNLEARN_AUDIT_SIGNING_KEY_FILE {path}")


def _stored(key: Ed25519PrivateKey, *, keep_private: bool) -> StoredSigningKey:
    public = key.public_key()
    return StoredSigningKey(
        keyid=key_id(public),
        public_key_pem=public_pem(public),
        private_key_pem=_private_pem(key) if keep_private else None,
        created_at=_now(),
    )


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _info(key: StoredSigningKey) -> PublicKeyInfo:
    return PublicKeyInfo(
        keyid=key.keyid,
        algorithm="ed25519",
        public_key_pem=key.public_key_pem,
        created_at=key.created_at.isoformat(timespec="seconds"),
        retired_at=key.retired_at.isoformat(timespec="seconds") if key.retired_at else None,
    )


class SigningKeys:
    """Signs scorecards with the deployment's active key and lists every key it ever used, from the store.

    One instance per process is enough (it remembers what it already imported); every method takes the store.
    """

    def __init__(self, *, key_file: Path | None = None, data_dir_keys: Path | None = None) -> None:
        self.key_file = key_file
        self.data_dir_keys = data_dir_keys
        self._imported = False
        self._registered: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SigningKeys:
        """The key file of UNLEARN_AUDIT_SIGNING_KEY_FILE (else the database), and this data dir's own keys."""
        return cls(key_file=settings.signing_key_file, data_dir_keys=KeyStore.under(settings.data_dir).directory)

    @property
    def source(self) -> KeySource:
        return "file" if self.key_file is not None else "database"

    async def _import_data_dir_keys(self, store: JobStore) -> None:
        """Once per process: the keys this data dir made on its own, so what they signed verifies. Its active
        key becomes the shared one only where the database is the source and holds no active key yet."""
        if self._imported or self.data_dir_keys is None:
            return
        found = await asyncio.to_thread(KeyStore(self.data_dir_keys).existing)  # takes the directory's file lock
        known = {k.keyid for k in await store.signing_keys.list()}
        retired = []
        for info, private in found:
            if info.keyid in known:
                continue
            created = _when(info.created_at) or _now()
            if private is not None and self.source == "database":
                await store.signing_keys.activate(
                    StoredSigningKey(info.keyid, info.public_key_pem, private.decode("ascii"), created),
                    unless_one_is_active=True,
                )
            retired.append(
                StoredSigningKey(info.keyid, info.public_key_pem, None, created, _when(info.retired_at) or _now())
            )
        if retired:
            await store.signing_keys.import_keys(retired)
        self._imported = True

    async def active(self, store: JobStore) -> tuple[str, Ed25519PrivateKey]:
        """(key id, private key) of the key that signs now. ConfigurationError when the key file is unusable."""
        await self._import_data_dir_keys(store)
        if self.key_file is not None:
            key = read_key_file(self.key_file)  # read on each use: a replaced secret takes effect at once
            kid = key_id(key.public_key())
            if kid != self._registered:
                await store.signing_keys.activate(_stored(key, keep_private=False))
                self._registered = kid
            return kid, key
        keys = await store.signing_keys.list()
        usable = [k for k in keys if k.retired_at is None and k.private_key_pem]
        if usable:
            chosen = usable[-1]
        else:
            fresh = _stored(Ed25519PrivateKey.generate(), keep_private=True)
            # Concurrent first uses agree on one key; an active key without a private half (the deployment
            # moved off a key file) is replaced.
            chosen = await store.signing_keys.activate(fresh, unless_one_is_active=not _keys_without_private(keys))
            if chosen.private_key_pem is None:
                chosen = await store.signing_keys.activate(fresh)
        assert chosen.private_key_pem is not None
        return chosen.keyid, _load_private(chosen.private_key_pem.encode("ascii"), f"signing key {chosen.keyid}")

    async def sign(
        self, store: JobStore, scorecard: Scorecard | dict[str, Any], kind: EnvelopeKind = "scorecard"
    ) -> dict[str, Any]:
        """The DSSE envelope of the scorecard (`kind="scorecard"`) or of its in-toto Statement, signed with the
        active key."""
        kid, key = await self.active(store)
        if kind == "in-toto":
            return sign_statement(scorecard, key, kid)
        return sign_scorecard(scorecard, key, kid)

    async def published(self, store: JobStore) -> list[PublicKeyInfo]:
        """Every key: the active one, then the retired ones, most recently retired first (the first use makes
        the first key)."""
        await self.active(store)
        keys = await store.signing_keys.list()
        keys.sort(key=lambda k: (k.retired_at is None, k.retired_at or k.created_at, k.created_at), reverse=True)
        return [_info(k) for k in keys]

    async def public_keys(self, store: JobStore) -> dict[str, Ed25519PublicKey]:
        """Key id -> public key, for every key the deployment has used."""
        keys: dict[str, Ed25519PublicKey] = {}
        for info in await self.published(store):
            keys.update(load_public_pems(info.public_key_pem))
        return keys

    async def rotate(self, store: JobStore) -> str:
        """A new active key (the database source); the old one is retired and loses its private half.
        ConfigurationError with a key file: rotate by replacing the secret."""
        if self.key_file is not None:
            raise ConfigurationError(
                "the signing key comes from UNLEARN_AUDIT_SIGNING_KEY_FILE: rotate it by mounting a new key; "
                "the first use records it and retires the one before"
            )
        await self._import_data_dir_keys(store)
        fresh = _stored(Ed25519PrivateKey.generate(), keep_private=True)
        return (await store.signing_keys.activate(fresh)).keyid


def _keys_without_private(keys: list[StoredSigningKey]) -> bool:
    """Whether an active key has no private half (recorded from a key file)."""
    return any(k.retired_at is None and k.private_key_pem is None for k in keys)
