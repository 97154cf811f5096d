"""Downloads from the fake Hub with huggingface_hub: small files from the Hub, LFS files redirected to the CDN
(signed URLs, ranges, resumption), snapshots, dataset repositories, a saved checkpoint, the request log."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest

from tests.hub.hub_world import REPO, World
from tests.support.servers.hub import HubRepo, RunningHub
from tests.support.servers.hub.git import blob_oid


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
