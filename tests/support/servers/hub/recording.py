"""What the fake Hub and its CDN received (every request, for tests to assert on) and the faults they are told
to inject (a download cut off after some bytes)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

ServerName = Literal["hub", "cdn"]
REDACTED = "<redacted>"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received. `path` is percent-encoded as sent (`refs%2Fpr%2F1` stays so); `headers` have
    lower-case names, the Authorization value replaced by `<redacted>`."""

    server: ServerName
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def authorized(self) -> bool:
        return "authorization" in self.headers


class RequestLog:
    """Every request either server answered, in order (thread-safe: the servers run in their own threads)."""

    def __init__(self) -> None:
        self._entries: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def record(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def __iter__(self) -> Iterator[RecordedRequest]:
        with self._lock:
            return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def select(
        self, *, server: ServerName | None = None, method: str | None = None, path_contains: str | None = None
    ) -> list[RecordedRequest]:
        """The requests matching every filter given."""
        return [
            r
            for r in self
            if (server is None or r.server == server)
            and (method is None or r.method == method)
            and (path_contains is None or path_contains in r.path)
        ]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class DownloadCut:
    filename: str
    after_bytes: int
    remaining: int


@dataclass
class Faults:
    """Scripted failures. A cut download sends its status, headers (the full Content-Length) and `after_bytes`
    bytes of the body, then closes the connection, as a network failure mid-transfer would."""

    cuts: list[DownloadCut] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def cut_download(self, filename: str, after_bytes: int, times: int = 1) -> None:
        """Cut the next `times` downloads of a file named `filename` (its last path part), from either server."""
        with self._lock:
            self.cuts.append(DownloadCut(filename, after_bytes, times))

    def take_cut(self, filename: str) -> int | None:
        """Bytes to send before cutting this download, or None to send it whole (consumes one cut)."""
        name = filename.rsplit("/", 1)[-1]
        with self._lock:
            for cut in self.cuts:
                if cut.filename == name and cut.remaining > 0:
                    cut.remaining -= 1
                    return cut.after_bytes
        return None
