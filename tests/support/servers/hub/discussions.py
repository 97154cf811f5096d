"""Discussions and pull requests of a fake Hub repository, and their JSON as the Hub's discussions API shows it."""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Status = Literal["open", "closed", "merged", "draft"]


def hub_time(moment: datetime) -> str:
    """A timestamp as the Hub writes it: `2024-01-02T03:04:05.000Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def user_json(name: str) -> dict[str, Any]:
    return {"avatarUrl": "", "fullname": name, "name": name, "type": "user", "isPro": False, "isHf": False}


@dataclass
class Event:
    """One event of a discussion: `comment`, `commit` or `status-change`; `data` is the Hub's `data` object."""

    id: str
    type: str
    author: str
    created_at: datetime
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "author": user_json(self.author),
            "createdAt": hub_time(self.created_at),
            "type": self.type,
            "data": self.data,
        }


@dataclass
class Discussion:
    """A discussion, or a pull request (`is_pull_request`) whose changes live at `refs/pr/{num}`."""

    num: int
    title: str
    author: str
    created_at: datetime
    is_pull_request: bool
    status: Status
    base_ref: str | None = None
    """Pull requests: the branch the changes are for, `refs/heads/main`."""
    base_oid: str | None = None
    """Pull requests: the commit the changes were made on (the diff is taken against it)."""
    events: list[Event] = field(default_factory=list)

    @property
    def comments(self) -> list[str]:
        """The text of every comment, oldest first (the first is the description)."""
        return [e.data["latest"]["raw"] for e in self.events if e.type == "comment"]

    @property
    def commits(self) -> list[str]:
        """The oids of the commits pushed to a pull request, oldest first."""
        return [e.data["oid"] for e in self.events if e.type == "commit"]

    def _event(self, kind: str, author: str, at: datetime, data: dict[str, Any]) -> Event:
        seed = f"{self.num}/{len(self.events)}/{kind}".encode()
        event = Event(hashlib.sha1(seed, usedforsecurity=False).hexdigest()[:24], kind, author, at, data)
        self.events.append(event)
        return event

    def add_comment(self, text: str, author: str, at: datetime) -> Event:
        latest = {"raw": text, "html": f"<p>{html.escape(text)}</p>\n", "updatedAt": hub_time(at)}
        data = {"edited": False, "hidden": False, "latest": {**latest, "author": user_json(author)}, "numEdits": 0}
        return self._event("comment", author, at, {**data, "editors": [author], "reactions": [], "isReport": False})

    def add_commit(self, oid: str, subject: str, author: str, at: datetime) -> Event:
        return self._event("commit", author, at, {"subject": subject, "oid": oid})

    def set_status(self, status: Status, author: str, at: datetime) -> Event:
        self.status = status
        return self._event("status-change", author, at, {"status": status})

    def summary_json(self, repo_id: str, repo_type: str) -> dict[str, Any]:
        """The discussion as listed by GET /api/{type}s/{repo}/discussions."""
        return {
            "num": self.num,
            "author": user_json(self.author),
            "repo": {"name": repo_id, "type": repo_type},
            "title": self.title,
            "status": self.status,
            "createdAt": hub_time(self.created_at),
            "isPullRequest": self.is_pull_request,
            "numComments": len(self.comments),
            "pinned": False,
            "topReactions": [],
            "numReactionUsers": 0,
        }

    def details_json(self, repo_id: str, repo_type: str, diff: str | None) -> dict[str, Any]:
        """The discussion as GET /api/{type}s/{repo}/discussions/{num} shows it."""
        details = {**self.summary_json(repo_id, repo_type), "events": [e.to_json() for e in self.events]}
        details.update({"locked": False, "collection": "discussions"})
        if self.is_pull_request:
            details["changes"] = {"base": self.base_ref}
            details["filesWithConflicts"] = []
            if diff is not None:
                details["diff"] = diff
        return details
