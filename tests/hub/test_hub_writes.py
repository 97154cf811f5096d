"""Writes to the fake Hub with huggingface_hub: discussions and comments, commits and pull requests (with the
access each needs), metadata_update opening a pull request."""

from __future__ import annotations

import json

import pytest

from tests.hub.hub_world import REPO, World, tiny_checkpoint_files
from tests.support.servers.hub import HubRepo, RunningHub


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
