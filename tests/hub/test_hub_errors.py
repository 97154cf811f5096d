"""The fake Hub's refusals reach huggingface_hub as the library's own error types: gated, private, missing
repositories, revisions and files, and bad tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.hub.hub_world import REPO, World


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
