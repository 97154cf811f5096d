"""File downloads: the Hub's `/resolve/` endpoint and the CDN it redirects LFS files to.

HEAD or GET `/{repo_id}/resolve/{revision}/{path}` (`/datasets/{repo_id}/resolve/…` for a dataset) answers a
regular file itself (200, or 206 for a Range) with `ETag` (its git blob id), `X-Repo-Commit` and
`Content-Length`. An LFS file is answered with a 302 to a signed URL on the CDN, carrying `X-Linked-Etag` (the
sha256), `X-Linked-Size` and `X-Repo-Commit`, which huggingface_hub reads from the HEAD without following it. The
CDN, on another host name, serves the bytes of a signed URL with Range support and refuses any other (403, in
S3's XML), as CloudFront does.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from urllib.parse import quote

from tests.support.servers.hub.http import HubError, Request, Response, ranged
from tests.support.servers.hub.repo import RepoType
from tests.support.servers.hub.state import HubState, commit_at

_CDN_PATH = re.compile(r"/repos/[0-9a-f]{2}/[0-9a-f]{2}/([0-9a-f]{64})")
_FILENAME = re.compile(r'filename="([^"]+)"')
CDN_LAST_MODIFIED = "Tue, 02 Jan 2024 03:04:05 GMT"
EXPOSED_HEADERS = (
    "X-Repo-Commit,X-Request-Id,X-Error-Code,X-Error-Message,X-Total-Count,ETag,Link,Accept-Ranges,Content-Range,"
    "X-Linked-Size,X-Linked-ETag"
)


def resolve(state: HubState, request: Request, repo_type: RepoType, repo_id: str, revision: str, path: str) -> Response:
    """HEAD/GET /{repo_id}/resolve/{revision}/{path}."""
    if request.method not in ("GET", "HEAD"):
        raise HubError(405, "Method not allowed")
    repo, user = state.visible_repo(request, repo_type, repo_id)
    if not repo.can_download(user):
        message = f"Access to {repo_type} {repo_id} is restricted" + (
            ". You must have access to it and be authenticated to access it. Please log in."
            if user is None
            else f" and you are not in the authorized list. Visit {request.base_url}/{repo_id} to ask for access."
        )
        raise HubError(401 if user is None else 403, message, "GatedRepo")
    commit = commit_at(repo, revision)
    blob = commit.files.get(path)
    if blob is None:
        raise HubError(404, "Entry not found", "EntryNotFound", {"x-repo-commit": commit.oid})
    headers = {
        "x-repo-commit": commit.oid,
        "access-control-expose-headers": EXPOSED_HEADERS,
    }
    if blob.lfs:
        location = state.cdn_location(repo, path, blob)
        headers.update(
            {
                "location": location,
                "x-linked-etag": f'"{blob.sha256}"',
                "x-linked-size": str(blob.size),
                "etag": f'"{blob.oid}"',
                "content-type": "text/plain; charset=utf-8",
            }
        )
        return Response(302, headers, f"Found. Redirecting to {location}".encode())
    name = quote(path.rsplit("/", 1)[-1])
    headers.update(
        {
            "etag": f'"{blob.oid}"',
            "content-type": mimetypes.guess_type(path)[0] or "application/octet-stream",
            "content-disposition": f"inline; filename*=UTF-8''{name}; filename=\"{name}\";",
        }
    )
    response = ranged(blob.content, headers, request.headers.get("range"))
    if request.method == "GET" and response.status in (200, 206):
        response.cut_after = state.faults.take_cut(path)
    return response


def _s3_error(status: int, code: str, message: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(status, {"content-type": "application/xml"}, body.encode())


def cdn(state: HubState, request: Request) -> Response:
    """GET/HEAD of a signed `/repos/xx/yy/{sha256}?…&Expires=…&Signature=…` URL handed out by the Hub."""
    if request.method not in ("GET", "HEAD"):
        return _s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
    match = _CDN_PATH.fullmatch(request.raw_path)
    signed = state.check_signature(request.raw_path, request.param("Expires"), request.param("Signature"))
    if match is None or not signed:
        return _s3_error(403, "AccessDenied", "Access denied")
    blob = state.lfs_object(match[1])
    if blob is None:
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    disposition = request.param("response-content-disposition") or ""
    headers = {
        "content-type": "application/octet-stream",
        "etag": f'"{hashlib.md5(blob.content, usedforsecurity=False).hexdigest()}"',
        "last-modified": CDN_LAST_MODIFIED,
        "x-cache": "Miss from cloudfront",
    }
    if disposition:
        headers["content-disposition"] = disposition
    response = ranged(blob.content, headers, request.headers.get("range"))
    name = _FILENAME.search(disposition)
    if request.method == "GET" and response.status in (200, 206) and name is not None:
        response.cut_after = state.faults.take_cut(name[1])
    return response
