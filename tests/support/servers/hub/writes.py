"""The Hub's write API: preupload, commit (NDJSON, `create_pr`), discussions and comments, and validate-yaml.

Who may do what, as on the Hub: committing to a branch needs write access; any signed-in user who can see the
repository may open a pull request (a commit with `create_pr=1`), a discussion or a comment; a pull request's
author may also push to its `refs/pr/N`. Regular files arrive inline in the commit; an `lfsFile` operation must
name content the server already holds (LFS and Xet uploads are not implemented).
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
from typing import Any

import yaml

from tests.support.servers.hub.http import HubError, Request, Response, json_response, text_response
from tests.support.servers.hub.reads import card_metadata
from tests.support.servers.hub.repo import PR_REF, Blob, HubRepo
from tests.support.servers.hub.state import HubState, commit_at, repo_url

DISCUSSIONS_PAGE = 50
NOT_SIGNED_IN = "You must be authenticated to perform this action"
EMPTY_CARD_WARNING = (
    "empty or missing yaml metadata in repo card (https://huggingface.co/docs/hub/model-cards#model-card-metadata)"
)


def _signed_in(user: str | None) -> str:
    if user is None:
        raise HubError(401, NOT_SIGNED_IN)
    return user


def _may_commit(repo: HubRepo, user: str | None, revision: str, create_pr: bool) -> str:
    who = _signed_in(user)
    pr = PR_REF.fullmatch(revision)
    if create_pr or repo.can_write(who):
        return who
    if pr is not None and int(pr[1]) in repo.discussions and repo.discussions[int(pr[1])].author == who:
        return who
    raise HubError(403, f"You don't have the rights to create a commit on {revision} of {repo.repo_id}")


def _ignored(path: str, gitignore: str | None) -> bool:
    patterns = [line.strip() for line in (gitignore or "").splitlines() if line.strip() and not line.startswith("#")]
    name = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(path, p.strip("/")) or fnmatch.fnmatchcase(name, p) for p in patterns)


def preupload(repo: HubRepo, user: str | None, request: Request, revision: str) -> Response:
    """POST /api/{type}s/{repo_id}/preupload/{revision}[?create_pr=1]: each file's upload mode (`lfs` when the
    repository's LFS patterns or size threshold say so), whether .gitignore ignores it, and its current oid
    (sha256 for LFS, git blob id otherwise) so that the client can skip unchanged files."""
    _may_commit(repo, user, revision, request.flag("create_pr"))
    commit = commit_at(repo, revision)
    body = request.json()
    gitignore = body.get("gitIgnore")
    if gitignore is None and ".gitignore" in commit.files:
        gitignore = commit.files[".gitignore"].content.decode(errors="replace")
    files = []
    for item in body.get("files", []):
        path, existing = item["path"], commit.files.get(item["path"])
        oid = None if existing is None else (existing.sha256 if existing.lfs else existing.oid)
        mode = "lfs" if repo.is_lfs(path, int(item["size"])) else "regular"
        files.append({"path": path, "uploadMode": mode, "shouldIgnore": _ignored(path, gitignore), "oid": oid})
    return json_response({"files": files, "commitOid": commit.oid})


def _apply(state: HubState, repo: HubRepo, files: dict[str, Blob], key: str, value: dict[str, Any]) -> None:
    path = str(value.get("path", "")).strip("/")
    if key == "file":
        try:
            content = base64.b64decode(value["content"], validate=True)
        except (KeyError, binascii.Error) as exc:
            raise HubError(400, f"Invalid content for {path}") from exc
        files[path] = repo.blob(path, content)
    elif key == "lfsFile":
        held = state.lfs_object(str(value.get("oid")))
        if held is None:
            raise HubError(422, f"LFS object {value.get('oid')} for {path} was not uploaded")
        files[path] = Blob(held.content, lfs=True)
    elif key == "deletedFile":
        if files.pop(path, None) is None:
            raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
    elif key == "deletedFolder":
        inside = [p for p in files if p.startswith(f"{path}/")]
        if not inside:
            raise HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
        for p in inside:
            del files[p]
    else:
        raise HubError(400, f"Unknown commit operation {key!r}")


def commit(state: HubState, repo: HubRepo, user: str | None, request: Request, revision: str) -> Response:
    """POST /api/{type}s/{repo_id}/commit/{revision}[?create_pr=1]: an NDJSON body, a `header` line then one line
    per operation (`file`, `lfsFile`, `deletedFile`, `deletedFolder`). With create_pr the commit goes to a new
    `refs/pr/N` and a pull request; with `parentCommit` a branch that moved since is refused (412)."""
    create_pr = request.flag("create_pr")
    who = _may_commit(repo, user, revision, create_pr)
    try:
        lines = [json.loads(line) for line in request.body.splitlines() if line.strip()]
    except ValueError as exc:
        raise HubError(400, f"Invalid NDJSON: {exc}") from exc
    if not lines or lines[0].get("key") != "header":
        raise HubError(400, "The first line of a commit must be its header")
    header = lines[0]["value"]
    head = commit_at(repo, revision)
    pr = PR_REF.fullmatch(revision)
    branch = revision.removeprefix("refs/heads/")
    if branch not in repo.branches and (create_pr or pr is None):
        raise HubError(400, f"Cannot commit to {revision}: not a branch")
    base = head.oid
    if parent := header.get("parentCommit"):
        if create_pr and parent in repo.commits:
            base = parent
        elif parent != head.oid:
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
    files = dict(repo.commits[base].files)
    for line in lines[1:]:
        _apply(state, repo, files, str(line.get("key")), line.get("value") or {})
    summary, description = str(header.get("summary") or ""), str(header.get("description") or "")
    new = repo.write_commit(files, parents=(base,), title=summary, message=description, author=who)
    url = repo_url(request, repo)
    answer = {"success": True, "commitOid": new.oid, "commitUrl": f"{url}/commit/{new.oid}", "hookOutput": ""}
    if create_pr:
        discussion = repo.open_discussion(summary, author=who, description=description, pull_request=True, base=branch)
        discussion.status, discussion.base_oid = "open", base
        repo.pull_refs[discussion.num] = new.oid
        discussion.add_commit(new.oid, summary, who, repo.now())
        answer["pullRequestUrl"] = f"{url}/discussions/{discussion.num}"
    elif pr is not None:
        repo.pull_refs[int(pr[1])] = new.oid
        repo.discussions[int(pr[1])].add_commit(new.oid, summary, who, repo.now())
    else:
        repo.branches[branch] = new.oid
    return json_response(answer)


def list_discussions(repo: HubRepo, request: Request) -> Response:
    """GET /api/{type}s/{repo_id}/discussions (`p` page, `type`, `status`, `author`), newest first."""
    kind, status, author = request.param("type"), request.param("status"), request.param("author")
    chosen = [
        d
        for d in sorted(repo.discussions.values(), key=lambda d: -d.num)
        if kind in (None, "all") or d.is_pull_request == (kind == "pull_request")
        if status in (None, "all") or d.status == status
        if author is None or d.author == author
    ]
    start = int(request.param("p") or 0) * DISCUSSIONS_PAGE
    page = chosen[start : start + DISCUSSIONS_PAGE]
    return json_response(
        {
            "discussions": [d.summary_json(repo.repo_id, repo.repo_type) for d in page],
            "count": len(chosen),
            "start": start,
            "numClosedDiscussions": sum(d.status == "closed" for d in repo.discussions.values()),
        }
    )


def create_discussion(repo: HubRepo, user: str | None, request: Request) -> Response:
    """POST /api/{type}s/{repo_id}/discussions {title, description, pullRequest}."""
    who = _signed_in(user)
    body = request.json()
    title = str(body.get("title") or "").strip()
    if not 3 <= len(title) <= 200:
        raise HubError(400, "The title must be between 3 and 200 characters long")
    pull_request = bool(body.get("pullRequest"))
    description = str(body.get("description") or "")
    discussion = repo.open_discussion(title, author=who, description=description, pull_request=pull_request)
    url = f"{repo_url(request, repo)}/discussions/{discussion.num}"
    return json_response({"num": discussion.num, "pullRequest": pull_request, "url": url})


def discussion_details(repo: HubRepo, request: Request, num: int) -> Response:
    """GET /api/{type}s/{repo_id}/discussions/{num}[?diff=1]."""
    discussion = _discussion(repo, num)
    diff = None
    if discussion.is_pull_request and request.flag("diff") and discussion.base_oid is not None:
        diff = repo.diff(discussion.base_oid, repo.pull_refs[num])
    return json_response(discussion.details_json(repo.repo_id, repo.repo_type, diff))


def _discussion(repo: HubRepo, num: int) -> Any:
    if num not in repo.discussions:
        raise HubError(404, "Discussion not found")
    return repo.discussions[num]


def comment(repo: HubRepo, user: str | None, request: Request, num: int) -> Response:
    """POST …/discussions/{num}/comment {comment}: the new comment event as `newMessage`."""
    who = _signed_in(user)
    text = str(request.json().get("comment") or "")
    if not text.strip():
        raise HubError(400, "The comment must not be empty")
    event = _discussion(repo, num).add_comment(text, who, repo.now())
    return json_response({"newMessage": event.to_json()})


def change_status(repo: HubRepo, user: str | None, request: Request, num: int) -> Response:
    """POST …/discussions/{num}/status {status: open|closed, comment?}: the event as `newStatus`."""
    who = _signed_in(user)
    discussion = _discussion(repo, num)
    if who != discussion.author and not repo.can_write(who):
        raise HubError(403, "Only the author or a repository writer may change a discussion's status")
    body = request.json()
    if body.get("status") not in ("open", "closed"):
        raise HubError(400, "status must be open or closed")
    if body.get("comment"):
        discussion.add_comment(str(body["comment"]), who, repo.now())
    return json_response({"newStatus": discussion.set_status(body["status"], who, repo.now()).to_json()})


def validate_yaml(request: Request) -> Response:
    """POST /api/validate-yaml {content, repoType}: 400 with the errors for malformed metadata; a warning when
    the card has none. Answers in text when the client asks for text/plain (RepoCard.validate does)."""
    content = str(request.json().get("content") or "")
    as_text = "text/plain" in request.headers.get("accept", "")
    try:
        metadata = card_metadata(content)
    except (ValueError, yaml.YAMLError) as exc:
        message = f"Invalid metadata in README.md: {exc}"
        return text_response(message, 400) if as_text else json_response({"errors": [{"message": message}]}, 400)
    warnings = [] if metadata else [{"message": EMPTY_CARD_WARNING}]
    if as_text:
        return text_response("\n".join(w["message"] for w in warnings))
    return json_response({"errors": [], "warnings": warnings})
