"""The fake Hub (tests/support/servers/hub) driven by huggingface_hub itself: commit ids as git computes them,
revisions (branches, tags, shas, pull-request refs), model info, file listings and tree pages."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.hub.hub_world import REPO, SHA, World
from tests.support.servers.hub import HubRepo
from tests.support.servers.hub.git import blob_oid


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
