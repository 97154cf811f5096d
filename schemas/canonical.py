"""Canonical JSON (RFC 8785, JCS) so that hashes and signatures of scorecards are stable."""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785
from pydantic import BaseModel
from pydantic_core import to_jsonable_python


def canonical_json(obj: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a pydantic model or plain JSON data.

    Models (also nested in dicts and lists) are dumped in JSON mode first. Raises ValueError for what
    JSON cannot carry (NaN, infinity, integers beyond 2**53 are refused by JCS).
    """
    data = obj.model_dump(mode="json") if isinstance(obj, BaseModel) else to_jsonable_python(obj)
    try:
        return rfc8785.dumps(data)
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        raise ValueError(f"not canonicalisable as JSON: {exc}") from exc


def sha256_hex(data: bytes | Any) -> str:
    """sha256 hex digest of bytes, or of the canonical JSON of anything else."""
    raw = data if isinstance(data, bytes | bytearray) else canonical_json(data)
    return hashlib.sha256(raw).hexdigest()
