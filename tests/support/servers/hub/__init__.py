"""A local server that speaks the Hugging Face Hub's HTTP protocol, for tests whose client is huggingface_hub itself.

`run_hub(state)` serves a `HubState` (repositories built with `HubRepo.from_directory` / `from_files`, users from
`state.add_user(name)`) on 127.0.0.1, plus a CDN on `localhost` for LFS files; point huggingface_hub at
`RunningHub.url` with `endpoint=`. `state.log` records every request (method, raw path, query, headers with the
Authorization value redacted, body, status); `state.faults.cut_download(name, after_bytes)` drops the connection
mid-body once. The pytest fixtures are in tests/support/hub.py.

Endpoints (and the huggingface_hub calls they serve):

- GET  /api/{models|datasets}/{repo}[/revision/{rev}]   model_info, dataset_info, repo_info, resolve_revision,
  revision_exists, repo_exists, snapshot_download (`blobs`, `expand` honoured)
- GET  /api/{t}/{repo}/tree/{rev}[/{path}]               list_repo_tree, list_repo_files, snapshot_download
  (`recursive`, `expand`, Link-header pagination)
- POST /api/{t}/{repo}/paths-info/{rev}                   get_paths_info
- GET  /api/{t}/{repo}/refs[?include_prs=1]               list_repo_refs
- GET  /api/{t}/{repo}/commits/{rev}                      list_repo_commits
- HEAD|GET /[datasets/]{repo}/resolve/{rev}/{path}        hf_hub_download, snapshot_download, get_hf_file_metadata,
  file_exists (LFS files: 302 to the CDN; Range requests)
- GET  CDN /repos/xx/yy/{sha256}?…&Signature=…            the redirected LFS download (Range requests)
- POST /api/{t}/{repo}/preupload/{rev}                    create_commit, upload_file, metadata_update
- POST /api/{t}/{repo}/commit/{rev}[?create_pr=1]         create_commit, upload_file, metadata_update(create_pr=True)
- POST /api/validate-yaml                                 create_commit of a README.md, RepoCard.validate
- GET|POST /api/{t}/{repo}/discussions                    get_repo_discussions, create_discussion,
  create_pull_request
- GET  /api/{t}/{repo}/discussions/{num}[?diff=1]         get_discussion_details
- POST /api/{t}/{repo}/discussions/{num}/comment          comment_discussion
- POST /api/{t}/{repo}/discussions/{num}/status           change_discussion_status
- GET  /api/whoami-v2                                     whoami

`datasets.load_dataset` (5.x, through HfFileSystem) of a parquet dataset repository needs no more: HEAD/GET of
README.md, the revision's info, non-recursive trees of the root and the config's folder, HEAD of the data files
(302 to the CDN) and the CDN's GET (Range when streaming); 404s for `{name}.py`, `.huggingface.yaml` and
`dataset_infos.json` tell it the repository has none. tests/hub/test_benchmark_datasets.py shows it.

Revisions are branch names, tags, `refs/heads/…`, `refs/tags/…`, `refs/pr/N` (percent-encoded, one path segment, as
the client sends them) and full commit shas. Errors carry the Hub's status, `X-Error-Code` and `X-Error-Message`:
RepoNotFound (401 anonymous, 404 signed in; a private repository looks missing), GatedRepo (401/403 on downloads),
RevisionNotFound and EntryNotFound (404), and 401 for a token the server does not know.

Deliberately not implemented: Xet (no `X-Xet-*` headers are sent, so clients download over plain HTTP) and LFS or
Xet uploads (`lfsFile` commit lines must name content the server already holds); repository creation, deletion,
settings, branches and tags over HTTP (build them with HubRepo's methods); merging, renaming and editing
discussions; spaces, buckets, search and listing of repositories; the "binary file" upload-mode heuristic
(`lfs` follows the repository's patterns and size threshold only).
"""

from tests.support.servers.hub.app import RunningHub, cdn_app, hub_app, run_hub
from tests.support.servers.hub.discussions import Discussion, Event
from tests.support.servers.hub.http import HubError
from tests.support.servers.hub.recording import DownloadCut, Faults, RecordedRequest, RequestLog
from tests.support.servers.hub.repo import DEFAULT_LFS_PATTERNS, Blob, Commit, HubRepo
from tests.support.servers.hub.state import HubState

__all__ = [
    "DEFAULT_LFS_PATTERNS",
    "Blob",
    "Commit",
    "Discussion",
    "DownloadCut",
    "Event",
    "Faults",
    "HubError",
    "HubRepo",
    "HubState",
    "RecordedRequest",
    "RequestLog",
    "RunningHub",
    "cdn_app",
    "hub_app",
    "run_hub",
]
