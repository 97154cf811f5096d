"""Everything the fake Hub and its CDN share: repositories, users and their tokens, the request log, scripted
faults, and the key that signs CDN URLs."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from urllib.parse import quote

from tests.support.servers.hub.http import HubError, Request
from tests.support.servers.hub.recording import Faults, RequestLog
from tests.support.servers.hub.repo import Blob, Commit, HubRepo, RepoType

CDN_URL_LIFETIME_S = 3600
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


@dataclass
class HubState:
    """The fake Hub's world. `tokens` maps bearer tokens to user names (`add_user` mints one); a request with a
    token not listed is refused (401) as the Hub refuses invalid credentials. `tree_page_size` None: the Hub's own
    page sizes (1000 entries, 50 with expand)."""

    repos: dict[tuple[RepoType, str], HubRepo] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    log: RequestLog = field(default_factory=RequestLog)
    faults: Faults = field(default_factory=Faults)
    tree_page_size: int | None = None
    cdn_url: str = ""
    """The CDN's base URL (another host name than the Hub's), set when the servers start."""
    signing_key: bytes = b"fake-hub-cdn-key"
    now: int = 1_704_164_645
    """The clock signed CDN URLs are checked against (fixed: tests are deterministic)."""

    def add(self, repo: HubRepo) -> HubRepo:
        self.repos[(repo.repo_type, repo.repo_id)] = repo
        return repo

    def repo(self, repo_id: str, repo_type: RepoType = "model") -> HubRepo:
        return self.repos[(repo_type, repo_id)]

    def add_user(self, name: str) -> str:
        """Register `name`; its bearer token (deterministic, shaped like a Hub token)."""
        token = "hf_" + hashlib.sha256(name.encode()).hexdigest()[:34]
        self.tokens[token] = name
        return token

    def user(self, request: Request) -> str | None:
        """The user the request's bearer token names; None when anonymous; 401 for an unknown token."""
        token = request.token
        if token is None:
            return None
        if token not in self.tokens:
            raise HubError(401, INVALID_CREDENTIALS)
        return self.tokens[token]

    # CDN URLs: signed like CloudFront's, so that the CDN serves only what the Hub handed out.

    def _signature(self, path: str, expires: int) -> str:
        return hmac.new(self.signing_key, f"{path}:{expires}".encode(), hashlib.sha256).hexdigest()

    def cdn_location(self, repo: HubRepo, path_in_repo: str, blob: Blob) -> str:
        """A signed CDN URL for an LFS file's bytes."""
        path = f"/repos/{blob.sha256[:2]}/{blob.sha256[2:4]}/{blob.sha256}"
        expires = self.now + CDN_URL_LIFETIME_S
        name = quote(path_in_repo.rsplit("/", 1)[-1])
        disposition = quote(f"inline; filename*=UTF-8''{name}; filename=\"{name}\";", safe="")
        return (
            f"{self.cdn_url}{path}?response-content-disposition={disposition}&Expires={expires}"
            f"&Signature={self._signature(path, expires)}&Key-Pair-Id=KFAKEHUBCDN"
        )

    def check_signature(self, path: str, expires: str | None, signature: str | None) -> bool:
        if expires is None or signature is None or not expires.isdigit() or int(expires) < self.now:
            return False
        return hmac.compare_digest(signature, self._signature(path, int(expires)))

    def lfs_object(self, sha256: str) -> Blob | None:
        for repo in list(self.repos.values()):
            if (blob := repo.lfs_object(sha256)) is not None:
                return blob
        return None

    # Access, as the Hub answers it

    def visible_repo(self, request: Request, repo_type: RepoType, repo_id: str) -> tuple[HubRepo, str | None]:
        """The repository and the request's user; RepoNotFound (401 anonymous, 404 signed in) when it does not
        exist for that user: a private repository is indistinguishable from a missing one."""
        user = self.user(request)
        repo = self.repos.get((repo_type, repo_id))
        if repo is None or not repo.can_see(user):
            raise HubError(401 if user is None else 404, "Repository not found", "RepoNotFound")
        return repo, user


def commit_at(repo: HubRepo, revision: str) -> Commit:
    """The commit `revision` names; RevisionNotFound (404) when none."""
    oid = repo.resolve(revision)
    if oid is None:
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
    return repo.commits[oid]


def repo_url(request: Request, repo: HubRepo) -> str:
    """The repository's web URL on the Hub the client addressed (`/datasets/` before a dataset's id)."""
    prefix = "/datasets" if repo.repo_type == "dataset" else ""
    return f"{request.base_url}{prefix}/{repo.repo_id}"
