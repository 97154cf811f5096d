"""Ed25519 signing keys kept in one data directory, under `<data_dir>/signing/keys/`.

A deployment signs with the keys every machine shares (`shared.SigningKeys`, in the database or a mounted
secret); the keys a data directory holds are imported there on first use, so what they signed still verifies.
`KeyStore` reads them for that import; on its own it serves one directory on one machine.

    <keyid>.pem      private key of the active key (PKCS#8, mode 0600); only the active key keeps one
    <keyid>.pub.pem  public key of every key, active or retired: old scorecards stay verifiable
    index.json       {"active": keyid, "keys": [{"keyid", "created_at", "retired_at"}]}

The first use generates a key. `rotate()` makes a new active key, retires the old one and deletes its
private half (a retired key can no longer sign). A file lock makes first use and rotation safe across
the processes of one machine.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from schemas.scorecard import Scorecard
from service.signing.dsse import sign_scorecard


def key_id(public_key: Ed25519PublicKey) -> str:
    """sha256 hex of the raw 32-byte public key: anyone holding the key can recompute it."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(
        "ascii"
    )


def load_public_pems(text: str) -> dict[str, Ed25519PublicKey]:
    """Every Ed25519 public key in a text of one or more PEM blocks, by key id. ValueError if none."""
    keys: dict[str, Ed25519PublicKey] = {}
    marker = "-----END PUBLIC KEY-----"
    for block in text.split(marker)[:-1]:
        key = serialization.load_pem_public_key((block.strip() + "\n" + marker + "\n").encode("ascii"))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        keys[key_id(key)] = key
    if not keys:
        raise ValueError("no PEM public key found")
    return keys


@dataclass(frozen=True)
class PublicKeyInfo:
    """A published key (GET /v1/signing-keys)."""

    keyid: str
    algorithm: str
    public_key_pem: str
    created_at: str
    retired_at: str | None

    @property
    def status(self) -> str:
        return "active" if self.retired_at is None else "retired"

    def as_json(self) -> dict[str, Any]:
        return {
            "keyid": self.keyid,
            "algorithm": self.algorithm,
            "status": self.status,
            "public_key_pem": self.public_key_pem,
            "created_at": self.created_at,
            "retired_at": self.retired_at,
        }


class KeyStore:
    """Signing keys in one directory; see the module docstring for the layout."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def under(cls, data_dir: Path) -> KeyStore:
        """The key store of a data dir (`<data_dir>/signing/keys`)."""
        return cls(data_dir / "signing" / "keys")

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.directory / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _index(self) -> dict[str, Any]:
        path = self.directory / "index.json"
        if not path.exists():
            return {"active": None, "keys": []}
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def _write_index(self, index: dict[str, Any]) -> None:
        tmp = self.directory / "index.json.tmp"
        tmp.write_text(json.dumps(index, indent=2))
        os.replace(tmp, self.directory / "index.json")

    def _generate(self, index: dict[str, Any]) -> str:
        private = Ed25519PrivateKey.generate()
        public = private.public_key()
        kid = key_id(public)
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(self.directory / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        (self.directory / f"{kid}.pub.pem").write_text(public_pem(public))
        now = datetime.now(UTC).isoformat(timespec="seconds")
        index["keys"].append({"keyid": kid, "created_at": now, "retired_at": None})
        index["active"] = kid
        self._write_index(index)
        return kid

    def active(self) -> tuple[str, Ed25519PrivateKey]:
        """(key id, private key) of the active key; generated on first use."""
        with self._locked():
            index = self._index()
            kid = index["active"] or self._generate(index)
            data = (self.directory / f"{kid}.pem").read_bytes()
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"signing key {kid} is not Ed25519")
        return kid, key

    def rotate(self) -> str:
        """Make a new active key; the old one is retired (public key kept, private key deleted)."""
        with self._locked():
            index = self._index()
            old = index["active"]
            now = datetime.now(UTC).isoformat(timespec="seconds")
            for entry in index["keys"]:
                if entry["keyid"] == old:
                    entry["retired_at"] = now
            kid = self._generate(index)
            if old:
                (self.directory / f"{old}.pem").unlink(missing_ok=True)
            return kid

    def published(self) -> list[PublicKeyInfo]:
        """Every key, active and retired, newest first (generates the first key if there is none)."""
        self.active()
        with self._locked():
            index = self._index()
        infos = [
            PublicKeyInfo(
                keyid=e["keyid"],
                algorithm="ed25519",
                public_key_pem=(self.directory / f"{e['keyid']}.pub.pem").read_text(),
                created_at=e["created_at"],
                retired_at=e["retired_at"],
            )
            for e in index["keys"]
        ]
        return infos[::-1]

    def existing(self) -> list[tuple[PublicKeyInfo, bytes | None]]:
        """Every key this directory holds, oldest first, with the active key's private PEM (None for retired
        keys); generates nothing, so a directory that never signed gives []."""
        if not (self.directory / "index.json").exists():
            return []
        with self._locked():
            index = self._index()
            found: list[tuple[PublicKeyInfo, bytes | None]] = []
            for e in index["keys"]:
                info = PublicKeyInfo(
                    keyid=e["keyid"],
                    algorithm="ed25519",
                    public_key_pem=(self.directory / f"{e['keyid']}.pub.pem").read_text(),
                    created_at=e["created_at"],
                    retired_at=e["retired_at"],
                )
                private = self.directory / f"{e['keyid']}.pem"
                active = e["keyid"] == index["active"] and private.exists()
                found.append((info, private.read_bytes() if active else None))
        return found

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """Key id -> public key, for every key this store has ever used."""
        keys: dict[str, Ed25519PublicKey] = {}
        for info in self.published():
            keys.update(load_public_pems(info.public_key_pem))
        return keys

    def sign(self, scorecard: Scorecard | dict[str, Any]) -> dict[str, Any]:
        """The scorecard's DSSE envelope, signed with the active key."""
        kid, key = self.active()
        return sign_scorecard(scorecard, key, kid)
