"""Teams: a key sees only its team's jobs (404 for the others), admin sees all, claims are fair across teams,
and an operator can cap each team's queued and running jobs (429 with Retry-After)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from schemas.errors import QuotaExceededError
from schemas.requests import EvaluationRequest
from service.app import create_app
from service.auth import KeyRing
from service.settings import Settings
from service.store import EVERY_TEAM, SqlJobStore, TeamFilter, TeamLimits
from tests.api.helpers import finish_next, records, serve_in_loop, valid_request

KEYS = "bio-key::bio,bio-reader:read+items:bio,cyber-key:submit+read+items:cyber,plain-key:submit+read+items,root:admin"


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def teams_client(tmp_path: Path, store: SqlJobStore) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(data_dir=tmp_path, api_keys=KEYS, team_max_active=3, callback_secret="s")
    async with serve_in_loop(create_app(settings, store)) as client:
        yield client


def test_key_syntax_carries_a_team(tmp_path: Path) -> None:
    ring = KeyRing.from_settings(Settings(data_dir=tmp_path, api_keys=KEYS))
    bio = ring.authenticate("bio-key")
    assert bio is not None and bio.team == "bio" and bio.scopes == {"submit", "read"}
    reader = ring.authenticate("bio-reader")
    assert reader is not None and reader.team == "bio" and reader.scopes == {"read", "items"}
    plain = ring.authenticate("plain-key")
    assert plain is not None and plain.team is None
    root = ring.authenticate("root")
    assert root is not None and root.sees_all_teams and not root.has("unsafe")  # unsafe is never implied
    assert ring.teams == {"bio", "cyber"}
    for bad in ("k:read:", "k:read:bad team", "k:read:-x", "k:read:" + "t" * 65):
        with pytest.raises(ValueError, match="team"):
            KeyRing.from_settings(Settings(data_dir=tmp_path, api_keys=bad))


async def test_a_key_sees_only_its_teams_jobs(teams_client: httpx.AsyncClient, store: SqlJobStore) -> None:
    c = teams_client
    callback = {"url": "http://127.0.0.1:9/hook"}
    bio = (await c.post("/v1/evaluations", json=valid_request(callback=callback), headers=_as("bio-key"))).json()
    cyber = (await c.post("/v1/evaluations", json=valid_request(), headers=_as("cyber-key"))).json()
    plain = (await c.post("/v1/evaluations", json=valid_request(), headers=_as("plain-key"))).json()
    assert (bio["team"], cyber["team"], plain["team"]) == ("bio", "cyber", None)
    await finish_next(store, items=records(2))  # bio's, the oldest: now it has a scorecard and records

    def ids(resp: httpx.Response) -> set[str]:
        return {j["id"] for j in resp.json()["items"]}

    assert ids(await c.get("/v1/evaluations", headers=_as("bio-reader"))) == {bio["id"]}
    assert ids(await c.get("/v1/evaluations", headers=_as("cyber-key"))) == {cyber["id"]}
    assert ids(await c.get("/v1/evaluations", headers=_as("plain-key"))) == {plain["id"]}  # no team: no-team jobs
    assert ids(await c.get("/v1/evaluations", headers=_as("root"))) == {bio["id"], cyber["id"], plain["id"]}

    job = bio["id"]
    reads = [
        f"/v1/evaluations/{job}",
        f"/v1/evaluations/{job}/scorecard",
        f"/v1/evaluations/{job}/attestation",
        f"/v1/evaluations/{job}/items",
        f"/v1/evaluations/{job}/events",
        f"/v1/evaluations/{job}/deliveries",
        f"/v1/evaluations/{job}/report",
    ]
    for path in reads:
        assert (await c.get(path, headers=_as("bio-reader"))).status_code == 200, path
        assert (await c.get(path, headers=_as("root"))).status_code == 200, path
        for outsider in ("cyber-key", "plain-key"):
            resp = await c.get(path, headers=_as(outsider))
            assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found", (path, outsider)
    for outsider in ("cyber-key", "plain-key"):
        assert (
            await c.post(
                f"/v1/evaluations/{cyber['id'] if outsider == 'plain-key' else plain['id']}/cancel",
                headers=_as(outsider),
            )
        ).status_code == 404
        redeliver = await c.post(f"/v1/evaluations/{job}/deliveries/redeliver", headers=_as(outsider))
        assert redeliver.status_code == 404
    assert (await c.post(f"/v1/evaluations/{cyber['id']}/cancel", headers=_as("cyber-key"))).status_code == 200
    html = (await c.get("/v1/reports", headers=_as("cyber-key"))).text
    assert cyber["id"] in html and bio["id"] not in html and plain["id"] not in html


async def test_a_team_over_its_cap_gets_429_with_retry_after(
    teams_client: httpx.AsyncClient, store: SqlJobStore
) -> None:
    for _ in range(3):
        assert (
            await teams_client.post("/v1/evaluations", json=valid_request(), headers=_as("bio-key"))
        ).status_code == 202
    over = await teams_client.post("/v1/evaluations", json=valid_request(), headers=_as("bio-key"))
    assert over.status_code == 429 and over.json()["error"]["code"] == "too_many_requests"
    assert int(over.headers["retry-after"]) > 0 and "bio" in over.json()["error"]["message"]
    # Another team is not held back by bio's queue; an ended job frees a place.
    assert (
        await teams_client.post("/v1/evaluations", json=valid_request(), headers=_as("cyber-key"))
    ).status_code == 202
    await finish_next(store)  # bio's oldest ends
    assert (await teams_client.post("/v1/evaluations", json=valid_request(), headers=_as("bio-key"))).status_code == 202


def _request() -> EvaluationRequest:
    return EvaluationRequest.model_validate(valid_request())


async def test_claims_are_fair_across_teams(store: SqlJobStore) -> None:
    bio = [(await store.create_job(_request(), team="bio"))[0].id for _ in range(4)]
    cyber = (await store.create_job(_request(), team="cyber"))[0].id
    none = (await store.create_job(_request()))[0].id
    order = []
    for worker in ("w1", "w2", "w3", "w4"):
        claimed = await store.claim_next(worker, lease_s=60)
        assert claimed is not None
        order.append(claimed.id)
    # Oldest first within a team; across teams the one with the fewest running jobs goes first, so bio's
    # batch, submitted first, does not hold cyber's and the no-team job back.
    assert order == [bio[0], cyber, none, bio[1]]


async def test_a_team_at_its_running_cap_waits(store: SqlJobStore) -> None:
    limits = TeamLimits(max_running=1)
    first = (await store.create_job(_request(), team="bio"))[0].id
    await store.create_job(_request(), team="bio")
    claimed = await store.claim_next("w1", lease_s=60, limits=limits)
    assert claimed is not None and claimed.id == first
    assert await store.claim_next("w2", lease_s=60, limits=limits) is None  # bio is at its cap
    other = (await store.create_job(_request(), team="cyber"))[0].id
    taken = await store.claim_next("w2", lease_s=60, limits=limits)
    assert taken is not None and taken.id == other


async def test_the_active_cap_holds_in_the_store(store: SqlJobStore) -> None:
    limits = TeamLimits(max_active=2, retry_after_s=7)
    for _ in range(2):
        await store.create_job(_request(), team="bio", limits=limits)
    with pytest.raises(QuotaExceededError) as raised:
        await store.create_job(_request(), team="bio", limits=limits)
    assert raised.value.retry_after_s == 7
    await store.create_job(_request(), team=None, limits=limits)  # jobs without a team are their own group
    listed = await store.list_jobs(teams=TeamFilter(everyone=False, team="bio"))
    assert len(listed.items) == 2 and all(j.team == "bio" for j in listed.items)
    assert len((await store.list_jobs(teams=EVERY_TEAM)).items) == 3
