"""The deployment's pins of suite datasets (migration 0008), on SQLite and PostgreSQL: the first resolution wins,
pins are per Hub endpoint, and an admin can forget them."""

from __future__ import annotations

from service.store import SqlJobStore

HUB = "https://hub.example"


async def test_the_first_resolution_wins_and_can_be_forgotten(store: SqlJobStore) -> None:
    assert (
        await store.remember_dataset_pins(HUB, {("cais/wmdp", "main"): "a" * 40, ("cais/mmlu", "main"): "b" * 40}) == 2
    )
    # A later (or concurrent) submit that resolved another commit does not move the pin.
    assert await store.remember_dataset_pins(HUB, {("cais/wmdp", "main"): "c" * 40}) == 0
    assert await store.remember_dataset_pins("https://mirror.example", {("cais/wmdp", "main"): "d" * 40}) == 1
    mine = {(p.repo, p.requested): p.revision for p in await store.dataset_pins(HUB)}
    assert mine == {("cais/mmlu", "main"): "b" * 40, ("cais/wmdp", "main"): "a" * 40}
    assert len(await store.dataset_pins()) == 3
    assert await store.forget_dataset_pins("cais/wmdp") == 2  # on every endpoint
    assert [p.repo for p in await store.dataset_pins()] == ["cais/mmlu"]
    assert await store.forget_dataset_pins() == 1 and await store.dataset_pins() == []
