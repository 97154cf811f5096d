"""The fake Hub's router, its CDN, and `run_hub`, which serves both on free 127.0.0.1 ports for a test: the Hub
as `http://127.0.0.1:<port>`, the CDN as `http://localhost:<port>` (another host, as the real CDN is)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.support.servers.hub import downloads, reads, writes
from tests.support.servers.hub.http import HubError, Request, Response, asgi_app, json_response
from tests.support.servers.hub.recording import RequestLog
from tests.support.servers.hub.repo import RepoType
from tests.support.servers.hub.state import HubState, commit_at
from tests.support.servers.running import serve

NOT_FOUND = "Sorry, we can't find the page you are looking for."


def _split_repo_id(state: HubState, repo_type: RepoType, parts: list[str]) -> tuple[str, list[str]]:
    """(repo id, the segments after it): `namespace/name`, or a one-segment id when such a repository exists."""
    if len(parts) >= 2 and (repo_type, f"{parts[0]}/{parts[1]}") in state.repos:
        return f"{parts[0]}/{parts[1]}", parts[2:]
    if (repo_type, parts[0]) in state.repos or len(parts) < 2:
        return parts[0], parts[1:]
    return f"{parts[0]}/{parts[1]}", parts[2:]


def _repo_api(state: HubState, request: Request, repo_type: RepoType, repo_id: str, rest: list[str]) -> Response:
    repo, user = state.visible_repo(request, repo_type, repo_id)
    method, head = request.method, rest[0] if rest else ""
    if method == "GET" and (not rest or (head == "revision" and len(rest) == 2)):
        return reads.repo_info(repo, commit_at(repo, rest[1] if rest else "main"), request)
    if method == "GET" and head == "tree" and len(rest) >= 2:
        return reads.tree(state, repo, request, rest[1], "/".join(rest[2:]))
    if method == "GET" and rest == ["refs"]:
        return reads.refs(repo, request)
    if method == "GET" and head == "commits" and len(rest) == 2:
        return reads.commits(repo, request, rest[1])
    if method == "POST" and head == "paths-info" and len(rest) == 2:
        return reads.paths_info(repo, request, rest[1])
    if method == "POST" and head == "preupload" and len(rest) == 2:
        return writes.preupload(repo, user, request, rest[1])
    if method == "POST" and head == "commit" and len(rest) == 2:
        return writes.commit(state, repo, user, request, rest[1])
    if head == "discussions":
        if rest == ["discussions"] and method == "GET":
            return writes.list_discussions(repo, request)
        if rest == ["discussions"] and method == "POST":
            return writes.create_discussion(repo, user, request)
        if len(rest) >= 2 and rest[1].isdigit():
            num = int(rest[1])
            if method == "GET" and len(rest) == 2:
                return writes.discussion_details(repo, request, num)
            if method == "POST" and rest[2:] == ["comment"]:
                return writes.comment(repo, user, request, num)
            if method == "POST" and rest[2:] == ["status"]:
                return writes.change_status(repo, user, request, num)
    raise HubError(404, NOT_FOUND)


def _whoami(state: HubState, request: Request) -> Response:
    user = state.user(request)
    if user is None:
        raise HubError(401, "Invalid username or password.")
    access = {"type": "access_token", "accessToken": {"displayName": "fake-hub", "role": "write"}}
    user_id = hashlib.sha1(user.encode(), usedforsecurity=False).hexdigest()[:24]
    return json_response(
        {"type": "user", "id": user_id, "name": user, "fullname": user, "isPro": False, "orgs": [], "auth": access}
    )


def route(state: HubState, request: Request) -> Response:
    """Answer one request to the Hub."""
    parts = request.segments
    if parts[:1] == ["api"]:
        if parts == ["api", "validate-yaml"] and request.method == "POST":
            return writes.validate_yaml(request)
        if parts == ["api", "whoami-v2"] and request.method == "GET":
            return _whoami(state, request)
        if len(parts) >= 3 and parts[1] in ("models", "datasets"):
            repo_type: RepoType = "model" if parts[1] == "models" else "dataset"
            repo_id, rest = _split_repo_id(state, repo_type, parts[2:])
            return _repo_api(state, request, repo_type, repo_id, rest)
        raise HubError(404, NOT_FOUND)
    repo_type, parts = ("dataset", parts[1:]) if parts[:1] == ["datasets"] else ("model", parts)
    for n in (2, 1):  # namespace/name, then a one-segment id
        if len(parts) >= n + 3 and parts[n] == "resolve":
            repo_id, revision, path = "/".join(parts[:n]), parts[n + 1], "/".join(parts[n + 2 :])
            return downloads.resolve(state, request, repo_type, repo_id, revision, path)
    raise HubError(404, NOT_FOUND)


def hub_app(state: HubState) -> Any:
    """The Hub as an ASGI app over `state`."""
    return asgi_app("hub", functools.partial(route, state), state.log)


def cdn_app(state: HubState) -> Any:
    """The CDN as an ASGI app: the LFS files of `state`'s repositories, by signed URL."""
    return asgi_app("cdn", functools.partial(downloads.cdn, state), state.log)


@dataclass
class RunningHub:
    """A running fake Hub: `url` is the endpoint to give huggingface_hub, `cdn_url` the CDN's origin."""

    url: str
    cdn_url: str
    state: HubState

    @property
    def requests(self) -> RequestLog:
        return self.state.log

    def api(self, token: str | bool = False) -> Any:
        """An `HfApi` on this Hub (token False: anonymous, never the machine's stored token)."""
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.url, token=token)


@contextmanager
def run_hub(state: HubState | None = None) -> Iterator[RunningHub]:
    """Serve `state` (a fresh one by default): the CDN first, then the Hub that redirects to it."""
    state = state if state is not None else HubState()
    with serve(cdn_app(state)) as cdn:
        state.cdn_url = cdn.url.replace("://127.0.0.1:", "://localhost:")
        with serve(hub_app(state)) as hub:
            yield RunningHub(hub.url, state.cdn_url, state)
