"""JSON request bodies, checked before they are parsed: the content type (415) and the nesting depth (400).

A body nested a thousand levels deep would exhaust the parser's or the validator's recursion and end as a
500; no request of ours nests deeper than a few levels, so anything past `MAX_DEPTH` is refused up front.
`CheckedRequest` applies this to every handler that takes a JSON body; receivers that read the raw body
(webhooks verify signatures over the bytes first) call `parse_json` themselves.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from litestar import Request
from litestar.types import Empty

from schemas.errors import MalformedJSONError, UnsupportedMediaTypeError

MAX_DEPTH = 64
"""Deepest nesting of objects and arrays a body may have."""

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def is_json_media_type(content_type: str | None) -> bool:
    """`application/json` or `application/<something>+json`, with any parameters."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def nesting_depth(body: bytes) -> int:
    """The deepest nesting of objects and arrays in a JSON text (brackets inside strings ignored)."""
    brackets = _STRING.sub(b'""', body).translate(None, _NOT_BRACKETS)
    return max(accumulate(_STEP[b] for b in brackets), default=0)


def check_json_body(body: bytes, content_type: str | None) -> None:
    """UnsupportedMediaTypeError unless the content type is JSON; MalformedJSONError when too deep."""
    if not is_json_media_type(content_type):
        shown = (content_type or "none")[:100]
        raise UnsupportedMediaTypeError(f"send JSON bodies as `Content-Type: application/json` (got {shown})")
    if nesting_depth(body) > MAX_DEPTH:
        raise MalformedJSONError(f"the JSON body is nested deeper than {MAX_DEPTH} levels")


def parse_json(body: bytes, content_type: str | None) -> Any:
    """The parsed body after `check_json_body`; MalformedJSONError when it is not JSON."""
    check_json_body(body, content_type)
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedJSONError(f"the request body is not valid JSON: {str(exc)[:200]}") from exc


class CheckedRequest(Request[Any, Any, Any]):
    """Litestar's request with the JSON body checked (media type, depth) before it is decoded."""

    async def json(self) -> Any:
        if self._json is Empty and self._connection_state.json is Empty:
            body = await self.body()
            if body:
                check_json_body(body, self.headers.get("content-type"))
                try:
                    return await super().json()
                except RecursionError as exc:  # belt and braces: the depth check should have caught it
                    raise MalformedJSONError("the JSON body is nested too deeply") from exc
        return await super().json()
