"""The fake Hub (tests/support/servers/hub) driven by huggingface_hub itself: revisions, listings, downloads (the
LFS redirect to the CDN, resumption with a Range request), the library's own error types, discussions, commits
and pull requests, the request log, and downloads through the project's checked transport."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers.hub import HubRepo, RunningHub
from tests.support.servers.hub.git import blob_oid

SHA = re.compile(r"[0-9a-f]{40}")
REPO = "sandbox/tiny-model"


def tiny_checkpoint_files() -> dict[str, bytes]:
    """A few KB that look like a saved sandbox checkpoint: config, tokenizer files, weights, a model card."""
    import numpy as np
    from safetensors.numpy import save

    weights = {"embed.weight": np.arange(512, dtype=np.float32).reshape(64, 8), "head.bias": np.ones(8, np.float32)}
    card = "---\nlicense: apache-2.0\nlibrary_name: transformers\ntags:\n- sandbox\n---\n# Tiny sandbox model\n"
    return {
        "config.json": json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}).encode(),
        "tokenizer.json": json.dumps({"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 0}}}).encode(),
        "tokenizer_config.json": json.dumps({"bos_token": "<s>", "eos_token": "</s>"}).encode(),
        "model.safetensors": save(weights),
        "README.md": card.encode(),
    }


@dataclass
class World:
    hub: RunningHub
    repo: HubRepo
    files: dict[str, bytes]
    first: str
    """The first commit (tag v1); main has a second one that adds `notes.txt`."""
    alice: str
    """Writer of the sandbox repositories."""
    bob: str
    """Granted read access to the private and gated repositories."""
    carol: str
    """Signed in, no access granted."""


@pytest.fixture
def world(hub: RunningHub, tmp_path: Path) -> World:
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    files = tiny_checkpoint_files()
    for name, content in files.items():
        (folder / name).write_bytes(content)
    state = hub.state
    alice, bob, carol = state.add_user("alice"), state.add_user("bob"), state.add_user("carol")
    repo = state.add(HubRepo.from_directory(folder, REPO, writers={"alice"}))
    first = repo.head().oid
    repo.create_tag("v1")
    repo.commit({"notes.txt": "second commit\n"}, message="Add notes", author="alice")
    state.add(HubRepo.from_files("sandbox/gated", files, gated="manual", readers={"bob"}))
    state.add(HubRepo.from_files("sandbox/private", files, private=True, readers={"bob"}))
    return World(hub, repo, files, first, alice, bob, carol)


def test_commit_ids_are_the_ones_git_computes() -> None:
    """Checked against `git commit` of the same files, author and date (2024-01-02T03:05:05Z), no LFS."""
    files: dict[str, bytes | str] = {"a.txt": "hello\n", "data/b.bin": b"x", "data/sub/c": "yy", "data.txt": "z"}
    commit = HubRepo.from_files("alice/x", files, lfs_patterns=()).head()
    assert commit.oid == "56307bd2b4e1596a2fef0131ec3dd43bfb8e6c31"
    assert commit.trees[""] == "de8e09a3e43ce5f9bb1b3c32f6ce4d0d97b0888c"
    assert commit.trees["data"] == "42fb59c549efa210b04825126f694656c49c3664"
    shuffled = dict(reversed(files.items()))
    assert HubRepo.from_files("alice/x", shuffled, lfs_patterns=()).head().oid == commit.oid  # order does not matter
    with_lfs = HubRepo.from_files("alice/x", files).head()  # *.bin is stored with LFS: git holds its pointer
    assert (
        with_lfs.files["data/b.bin"].oid
        == blob_oid(with_lfs.files["data/b.bin"].pointer)
        != commit.files["data/b.bin"].oid
    )


def test_model_info_resolves_branches_tags_shas_and_pull_request_refs(world: World, tmp_path: Path) -> None:
    repo, api = world.repo, world.hub.api()
    pr = repo.open_pull_request({"README.md": "---\nlicense: mit\n---\n"}, title="Relicense", author="carol")
    main = repo.branches["main"]
    assert SHA.fullmatch(main) and SHA.fullmatch(world.first) and main != world.first
    assert api.model_info(REPO).sha == main
    assert api.model_info(REPO, revision="main").sha == main
    assert api.model_info(REPO, revision="refs/heads/main").sha == main
    assert api.model_info(REPO, revision="v1").sha == world.first
    assert api.model_info(REPO, revision=world.first).sha == world.first
    info = api.model_info(REPO, revision=f"refs/pr/{pr.num}", files_metadata=True)
    assert info.sha == repo.pull_refs[pr.num] and info.card_data.license == "mit"
    assert api.resolve_revision(REPO, revision="v1", cache_dir=tmp_path).resolved == world.first
    # The client sends a pull-request ref as one percent-encoded path segment.
    assert world.hub.requests.select(path_contains="/revision/refs%2Fpr%2F1")
    siblings = {s.rfilename: s for s in info.siblings}
    weights = world.files["model.safetensors"]
    assert siblings["model.safetensors"].lfs.sha256 == hashlib.sha256(weights).hexdigest()
    assert (
        siblings["config.json"].blob_id == blob_oid(world.files["config.json"]) and siblings["config.json"].lfs is None
    )


def test_model_info_reports_card_config_and_safetensors(world: World) -> None:
    info = world.hub.api().model_info(REPO)
    assert info.id == REPO and info.private is False and info.gated is False
    assert info.card_data.license == "apache-2.0" and info.library_name == "transformers"
    assert info.config["model_type"] == "llama" and info.config["tokenizer_config"]["eos_token"] == "</s>"
    assert info.safetensors.total == 64 * 8 + 8 and info.safetensors.parameters == {"F32": 520}
    assert {"sandbox", "transformers", "safetensors"} <= set(info.tags)
    assert sorted(s.rfilename for s in info.siblings) == sorted([*world.files, "notes.txt"])


def test_list_repo_files_and_tree(world: World) -> None:
    api = world.hub.api()
    assert sorted(api.list_repo_files(REPO)) == sorted([*world.files, "notes.txt"])
    assert sorted(api.list_repo_files(REPO, revision="v1")) == sorted(world.files)
    entries = {e.path: e for e in api.list_repo_tree(REPO, expand=True)}
    weights = world.files["model.safetensors"]
    lfs_entry = entries["model.safetensors"]
    assert lfs_entry.lfs.sha256 == hashlib.sha256(weights).hexdigest() and lfs_entry.lfs.size == len(weights)
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{lfs_entry.lfs.sha256}\nsize {len(weights)}\n"
    assert lfs_entry.blob_id == blob_oid(pointer.encode()) and lfs_entry.lfs.pointer_size == len(pointer)
    assert entries["notes.txt"].last_commit.oid == world.repo.branches["main"]
    assert entries["config.json"].last_commit.oid == world.first and entries["config.json"].security.safe


def test_tree_listing_pages_through_link_headers(world: World) -> None:
    world.repo.commit({"data/a.txt": "a", "data/b.txt": "b", "data/sub/c.txt": "c"}, message="Data")
    world.hub.state.tree_page_size = 2
    api = world.hub.api()
    assert {e.path for e in api.list_repo_tree(REPO, "data")} == {"data/a.txt", "data/b.txt", "data/sub"}
    listed = api.list_repo_files(REPO)
    assert len(listed) == len(world.files) + 4 and "data/sub/c.txt" in listed
    pages = world.hub.requests.select(path_contains="/tree/main")
    assert len(pages) > 3 and all("cursor" in r.query for r in pages[3:])
    found = api.get_paths_info(REPO, ["data", "data/sub/c.txt", "no/such/path"])
    assert [(type(e).__name__, e.path) for e in found] == [("RepoFolder", "data"), ("RepoFile", "data/sub/c.txt")]


def test_hf_hub_download_of_a_small_file_is_served_by_the_hub(world: World, tmp_path: Path) -> None:
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    path = hf_hub_download(REPO, "config.json", endpoint=world.hub.url, cache_dir=tmp_path, token=False)
    assert Path(path).read_bytes() == world.files["config.json"]
    assert f"snapshots/{world.repo.branches['main']}/config.json" in path
    meta = get_hf_file_metadata(hf_hub_url(REPO, "config.json", endpoint=world.hub.url), token=False)
    assert meta.etag == blob_oid(world.files["config.json"]) and meta.size == len(world.files["config.json"])
    assert [(r.server, r.method, r.status) for r in world.hub.requests] == [
        ("hub", "HEAD", 200),
        ("hub", "GET", 200),
        ("hub", "HEAD", 200),
    ]


def test_lfs_file_is_redirected_to_the_cdn_on_another_host(world: World, tmp_path: Path) -> None:
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    weights = world.files["model.safetensors"]
    path = hf_hub_download(REPO, "model.safetensors", endpoint=world.hub.url, cache_dir=tmp_path, token=world.alice)
    data = Path(path).read_bytes()
    assert data == weights and hashlib.sha256(data).hexdigest() == hashlib.sha256(weights).hexdigest()
    head, get = world.hub.requests
    assert (head.server, head.method, head.status, head.authorized) == ("hub", "HEAD", 302, True)
    # The CDN gets no Authorization header: the client drops it when the redirect leaves the Hub's host.
    assert (get.server, get.method, get.status, get.authorized) == ("cdn", "GET", 200, False)
    assert world.hub.cdn_url.startswith("http://localhost:") and world.hub.url.startswith("http://127.0.0.1:")
    meta = get_hf_file_metadata(hf_hub_url(REPO, "model.safetensors", endpoint=world.hub.url), token=False)
    assert meta.etag == hashlib.sha256(weights).hexdigest() and meta.size == len(weights)
    assert meta.commit_hash == world.repo.branches["main"] and meta.location.startswith(world.hub.cdn_url + "/repos/")


def test_the_cdn_serves_signed_urls_only_and_honours_ranges(world: World) -> None:
    import httpx

    location = world.hub.state.cdn_location(
        world.repo, "model.safetensors", world.repo.head().files["model.safetensors"]
    )
    weights = world.files["model.safetensors"]
    with httpx.Client() as client:
        part = client.get(location, headers={"Range": "bytes=100-"})
        assert part.status_code == 206 and part.content == weights[100:]
        assert part.headers["content-range"] == f"bytes 100-{len(weights) - 1}/{len(weights)}"
        assert client.get(location, headers={"Range": f"bytes={len(weights)}-"}).status_code == 416
        assert client.get(location.replace("Signature=", "Signature=0")).status_code == 403
        assert client.get(location.split("?")[0]).status_code == 403


def test_snapshot_download_with_allow_patterns_fetches_only_those_files(world: World, tmp_path: Path) -> None:
    from huggingface_hub import snapshot_download

    folder = Path(
        snapshot_download(REPO, endpoint=world.hub.url, cache_dir=tmp_path, allow_patterns=["*.json"], token=False)
    )
    got = sorted(p.name for p in folder.iterdir())
    assert got == ["config.json", "tokenizer.json", "tokenizer_config.json"]
    assert all((folder / name).read_bytes() == world.files[name] for name in got)
    resolved = [r.path.rsplit("/", 1)[-1] for r in world.hub.requests.select(path_contains="/resolve/")]
    assert set(resolved) == set(got)
    assert not world.hub.requests.select(server="cdn")


def test_a_download_cut_halfway_resumes_with_a_range_request(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants, file_download, hf_hub_download

    # The client keeps what it has read in whole chunks (10 MB by default) and resumes from there: small chunks
    # make a few-KB file behave like a large one.
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 256)
    weights = world.files["model.safetensors"]
    cut_at = 4 * 256
    assert len(weights) > 2 * cut_at
    world.hub.state.faults.cut_download("model.safetensors", after_bytes=cut_at)
    calls: list[tuple[str, int, int]] = []
    real_http_get = file_download.http_get

    def watched(url: str, temp_file: io.BufferedWriter, *, resume_size: int = 0, **kwargs: Any) -> None:
        temp_file.flush()
        calls.append((temp_file.name, resume_size, Path(temp_file.name).stat().st_size))
        real_http_get(url, temp_file, resume_size=resume_size, **kwargs)

    monkeypatch.setattr(file_download, "http_get", watched)  # the client's retry calls it again, by this name
    path = hf_hub_download(REPO, "model.safetensors", endpoint=world.hub.url, cache_dir=tmp_path, token=False)
    assert Path(path).read_bytes() == weights
    # The client kept the first bytes in its `.incomplete` file and asked for the rest from there.
    (first_file, _, _), (second_file, resumed_at, on_disk) = calls
    assert second_file == first_file and first_file.endswith(".incomplete") and resumed_at == on_disk == cut_at
    cdn = world.hub.requests.select(server="cdn")
    assert [(r.status, r.headers.get("range")) for r in cdn] == [(200, None), (206, f"bytes={cut_at}-")]
    assert not list(tmp_path.rglob("*.incomplete"))


def test_errors_are_huggingface_hub_exceptions(world: World, tmp_path: Path) -> None:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    url = world.hub.url

    def download(repo_id: str, token: str | bool = False, **kwargs: Any) -> str:
        return hf_hub_download(repo_id, "config.json", endpoint=url, cache_dir=tmp_path, token=token, **kwargs)

    with pytest.raises(GatedRepoError) as gated_anonymous:
        download("sandbox/gated")
    with pytest.raises(GatedRepoError) as gated_signed_in:
        download("sandbox/gated", token=world.carol)
    assert gated_anonymous.value.response.status_code == 401 and gated_signed_in.value.response.status_code == 403
    assert Path(download("sandbox/gated", token=world.bob)).read_bytes() == world.files["config.json"]
    assert world.hub.api().model_info("sandbox/gated").gated == "manual"  # its card is public, its files are not

    with pytest.raises(RepositoryNotFoundError) as private_anonymous:
        world.hub.api().model_info("sandbox/private")
    with pytest.raises(RepositoryNotFoundError) as private_signed_in:
        download("sandbox/private", token=world.carol)
    assert private_anonymous.value.response.status_code == 401 and private_signed_in.value.response.status_code == 404
    assert world.hub.api(world.bob).model_info("sandbox/private").private is True
    with pytest.raises(RepositoryNotFoundError):
        download("sandbox/missing")

    with pytest.raises(RevisionNotFoundError):
        world.hub.api().model_info(REPO, revision="no-such-branch")
    with pytest.raises(RevisionNotFoundError):
        download(REPO, revision="refs/pr/9")
    with pytest.raises(RemoteEntryNotFoundError) as missing:
        hf_hub_download(REPO, "nope.bin", endpoint=url, cache_dir=tmp_path, token=False)
    assert isinstance(missing.value, EntryNotFoundError)
    assert missing.value.response.headers["x-repo-commit"] == world.repo.branches["main"]

    api = world.hub.api()
    assert api.file_exists(REPO, "config.json") and not api.file_exists(REPO, "nope.bin")
    assert api.repo_exists("sandbox/gated") and not api.repo_exists("sandbox/private")
    assert api.revision_exists(REPO, "v1") and not api.revision_exists(REPO, "v2")

    with pytest.raises(HfHubHTTPError, match="Invalid credentials") as bad_token:
        world.hub.api("hf_not_a_known_token").model_info(REPO)
    assert bad_token.value.response.status_code == 401 and not isinstance(bad_token.value, RepositoryNotFoundError)


def test_discussions_and_comments_are_recorded_and_read_back(world: World) -> None:
    from huggingface_hub.errors import HfHubHTTPError

    carol, alice = world.hub.api(world.carol), world.hub.api(world.alice)
    opened = carol.create_discussion(REPO, "Forget-set leakage", description="The model still recalls the key.")
    assert opened.num == 1 and not opened.is_pull_request and opened.author == "carol"
    reply = alice.comment_discussion(REPO, opened.num, "Scorecard: forget_efficacy 0.41 (n=200, CI 0.34-0.48)")
    assert reply.content.startswith("Scorecard") and reply.author == "alice"

    details = world.hub.api().get_discussion_details(REPO, opened.num)
    assert [getattr(e, "content", None) for e in details.events] == [
        "The model still recalls the key.",
        "Scorecard: forget_efficacy 0.41 (n=200, CI 0.34-0.48)",
    ]
    listed = list(world.hub.api().get_repo_discussions(REPO))
    assert [(d.num, d.title, d.status) for d in listed] == [(1, "Forget-set leakage", "open")]
    assert world.repo.discussions[1].comments[-1].startswith("Scorecard")  # the server's own record

    posted = world.hub.requests.select(method="POST", path_contains="/discussions/1/comment")
    assert json.loads(posted[0].body) == {"comment": "Scorecard: forget_efficacy 0.41 (n=200, CI 0.34-0.48)"}
    with pytest.raises(HfHubHTTPError) as anonymous:
        world.hub.api().comment_discussion(REPO, 1, "anonymous")
    assert anonymous.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as not_hers:
        world.hub.api(world.bob).change_discussion_status(REPO, 1, "closed")
    assert not_hers.value.response.status_code == 403
    closed = carol.change_discussion_status(REPO, 1, "closed", comment="Fixed in the next checkpoint.")
    assert closed.new_status == "closed" and world.repo.discussions[1].status == "closed"
    assert alice.whoami()["name"] == "alice"


def test_metadata_update_with_create_pr_opens_a_pull_request_with_the_model_index(hub_as_default: RunningHub) -> None:
    from huggingface_hub import hf_hub_download, metadata_update
    from huggingface_hub.repocard import metadata_load

    hub = hub_as_default
    token = hub.state.add_user("auditor")
    files = tiny_checkpoint_files()
    repo = hub.state.add(HubRepo.from_files(REPO, files))
    model_index = [
        {
            "name": "tiny-model",
            "results": [
                {
                    "task": {"type": "text-generation"},
                    "dataset": {"name": "WMDP-bio (sandbox)", "type": "wmdp"},
                    "metrics": [{"type": "accuracy", "name": "forget accuracy", "value": 0.27}],
                }
            ],
        }
    ]
    url = metadata_update(REPO, {"model-index": model_index}, token=token, create_pr=True, commit_message="Audit")
    pr = repo.discussions[1]
    assert url.endswith(f"/{REPO}/commit/{repo.pull_refs[1]}") and pr.is_pull_request and pr.status == "open"
    assert pr.author == "auditor" and pr.commits == [repo.pull_refs[1]] and pr.title == "Audit"
    assert repo.read("README.md") == files["README.md"]  # main is untouched
    readme = hf_hub_download(REPO, "README.md", revision="refs/pr/1", token=token)
    metadata = metadata_load(readme)
    assert metadata is not None and metadata["license"] == "apache-2.0"
    assert metadata["model-index"][0]["results"][0]["metrics"][0]["value"] == 0.27

    sent = hub.requests.select(method="POST")
    assert [r.path.rsplit("/", 2)[-2] for r in sent if "/api/models/" in r.path] == ["preupload", "commit"]
    commit = next(r for r in sent if "/commit/" in r.path)
    assert commit.query["create_pr"] == ["1"] and commit.headers["content-type"] == "application/x-ndjson"
    header, *operations = [json.loads(line) for line in commit.body.splitlines()]
    assert header == {"key": "header", "value": {"summary": "Audit", "description": ""}}
    assert [(op["key"], op["value"]["path"]) for op in operations] == [("file", "README.md")]
    details = hub.api().get_discussion_details(REPO, 1)
    assert details.target_branch == "refs/heads/main" and "+model-index:" in (details.diff or "")


def test_create_commit_needs_write_access_except_for_pull_requests(world: World) -> None:
    from huggingface_hub.errors import HfHubHTTPError

    before = world.repo.branches["main"]
    info = world.hub.api(world.alice).upload_file(
        path_or_fileobj=b"scores\n", path_in_repo="audit/scorecard.txt", repo_id=REPO, commit_message="Scorecard"
    )
    assert info.oid == world.repo.branches["main"] != before and info.pr_url is None
    assert world.repo.read("audit/scorecard.txt") == b"scores\n" and world.repo.head().parents == (before,)

    carol = world.hub.api(world.carol)
    with pytest.raises(HfHubHTTPError) as refused:
        carol.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=REPO)
    assert refused.value.response.status_code == 403
    proposed = carol.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=REPO, create_pr=True)
    assert proposed.pr_revision == "refs/pr/1" and world.repo.read("x.txt", "refs/pr/1") == b"x"
    # The pull request's author may push more commits to its ref; another user who may not write may not.
    carol.upload_file(path_or_fileobj=b"y", path_in_repo="x.txt", repo_id=REPO, revision="refs/pr/1")
    assert world.repo.read("x.txt", "refs/pr/1") == b"y" and len(world.repo.discussions[1].commits) == 2
    with pytest.raises(HfHubHTTPError) as not_his:
        world.hub.api(world.bob).upload_file(
            path_or_fileobj=b"z", path_in_repo="x.txt", repo_id=REPO, revision="refs/pr/1"
        )
    assert not_his.value.response.status_code == 403
    refs = world.hub.api().list_repo_refs(REPO, include_pull_requests=True)
    assert [r.ref for r in refs.pull_requests or []] == ["refs/pr/1"] and [t.name for t in refs.tags] == ["v1"]
    history = world.hub.api().list_repo_commits(REPO)
    assert [c.title for c in history] == ["Scorecard", "Add notes", "Initial commit"]


def test_dataset_repositories_serve_parquet_files(hub: RunningHub, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from huggingface_hub import hf_hub_download, snapshot_download

    table = pa.table({"question": ["Which gene?", "Which toxin?"], "answer": [0, 3]})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    files: dict[str, bytes | str] = {
        "README.md": "---\nconfigs:\n- config_name: bio\n---\n",
        "bio/test-00000-of-00001.parquet": sink.getvalue(),
    }
    repo = hub.state.add(HubRepo.from_files("sandbox/wmdp-mini", files, repo_type="dataset"))
    api = hub.api()
    assert api.dataset_info("sandbox/wmdp-mini").sha == repo.branches["main"]
    assert api.list_repo_files("sandbox/wmdp-mini", repo_type="dataset") == [
        "README.md",
        "bio/test-00000-of-00001.parquet",
    ]
    path = hf_hub_download(
        "sandbox/wmdp-mini",
        "bio/test-00000-of-00001.parquet",
        repo_type="dataset",
        endpoint=hub.url,
        cache_dir=tmp_path,
        token=False,
    )
    assert pq.read_table(path).to_pylist() == table.to_pylist()
    assert hub.requests.select(path_contains="/datasets/sandbox/wmdp-mini/resolve/main/bio/")
    assert hub.requests.select(server="cdn")  # parquet is stored with LFS
    folder = snapshot_download(
        "sandbox/wmdp-mini",
        repo_type="dataset",
        allow_patterns="bio/*",
        endpoint=hub.url,
        cache_dir=tmp_path,
        token=False,
    )
    assert [p.name for p in Path(folder).rglob("*.parquet")] == ["test-00000-of-00001.parquet"]
    with pytest.raises(Exception, match="Repository Not Found"):
        api.model_info("sandbox/wmdp-mini")  # a dataset is not a model


def test_a_saved_sandbox_checkpoint_is_served_byte_for_byte(
    hub: RunningHub, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    from huggingface_hub import snapshot_download

    repo = hub.state.add(HubRepo.from_directory(tiny_checkpoint, "sandbox/tiny-llama"))
    folder = Path(snapshot_download("sandbox/tiny-llama", endpoint=hub.url, cache_dir=tmp_path, token=False))
    served = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert served == {
        p.relative_to(tiny_checkpoint).as_posix(): p.read_bytes() for p in tiny_checkpoint.rglob("*") if p.is_file()
    }
    assert repo.head().files["model.safetensors"].lfs and hub.api().model_info("sandbox/tiny-llama").safetensors


def test_the_request_log_shows_what_the_client_sent(world: World, tmp_path: Path) -> None:
    from huggingface_hub import hf_hub_download

    hf_hub_download(REPO, "config.json", endpoint=world.hub.url, cache_dir=tmp_path, token=world.bob)
    head = world.hub.requests.select(method="HEAD")[0]
    assert head.path == f"/{REPO}/resolve/main/config.json" and head.query == {}
    assert head.headers["authorization"] == "<redacted>" and head.headers["accept-encoding"] == "identity"
    assert head.headers["user-agent"].startswith("unknown/None; hf_hub/") and "x-amzn-trace-id" in head.headers
    assert head.headers["x-hf-download-counter"] == "1"
    assert world.bob not in repr(list(world.hub.requests))


@pytest.fixture
def restore_hub_client() -> Iterator[None]:
    """configure_hub installs process-wide client factories and turns Xet off: both come back afterwards."""
    from huggingface_hub import constants, utils
    from huggingface_hub.utils._http import default_async_client_factory, default_client_factory

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("HF_HUB_DISABLE_XET", raising=False)
        patch.setattr(constants, "HF_HUB_DISABLE_XET", False)
        yield
        utils.set_client_factory(default_client_factory)
        utils.set_async_client_factory(default_async_client_factory)


def _host(url: str) -> str:
    return url.split("://", 1)[1]


def test_download_through_the_checked_transport_follows_the_redirect_to_an_allowed_cdn(
    world: World, tmp_path: Path, restore_hub_client: None
) -> None:
    from huggingface_hub import hf_hub_download

    from evaluators.net import OutboundPolicy, configure_hub

    configure_hub(OutboundPolicy([_host(world.hub.url), _host(world.hub.cdn_url)]))
    path = hf_hub_download(REPO, "model.safetensors", endpoint=world.hub.url, cache_dir=tmp_path, token=False)
    assert Path(path).read_bytes() == world.files["model.safetensors"]
    assert [r.server for r in world.hub.requests] == ["hub", "cdn"]


def test_download_through_the_checked_transport_refuses_a_cdn_not_allowed(
    world: World, tmp_path: Path, restore_hub_client: None
) -> None:
    from huggingface_hub import hf_hub_download

    from evaluators.net import OutboundPolicy, configure_hub
    from schemas.errors import URLNotAllowedError

    configure_hub(OutboundPolicy([_host(world.hub.url)]))
    cache = tmp_path / "cache"
    config = hf_hub_download(REPO, "config.json", endpoint=world.hub.url, cache_dir=cache, token=False)
    assert Path(config).read_bytes() == world.files["config.json"]  # the Hub itself is allowed
    with pytest.raises(URLNotAllowedError, match="localhost"):
        hf_hub_download(REPO, "model.safetensors", endpoint=world.hub.url, cache_dir=cache, token=False)
    assert not world.hub.requests.select(server="cdn")
    assert not list(cache.rglob("model.safetensors*"))
