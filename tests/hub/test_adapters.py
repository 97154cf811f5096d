"""PEFT/LoRA adapters: an adapter repository on the Hub loads on the base its config names (fetched the same
way), a local adapter on the base the request gives; the result is the base with the adapter merged, and
its fingerprint covers both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evaluators.models.adapters import quiet_peft
from evaluators.models.factory import BackendEnv, open_model
from evaluators.models.protocol import LoglikelihoodRequest
from schemas.targets import CheckpointTarget, HubTarget
from service.settings import Settings

REQUESTS = [LoglikelihoodRequest("The answer is", " amber"), LoglikelihoodRequest("A cedar grove", " near")]


@pytest.fixture(scope="module")
def lora_adapter(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter over the tiny checkpoint, with non-zero weights (so it changes the model), whose config
    names the Hub repository `acme/tiny` as its base."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_checkpoint)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    directory = tmp_path_factory.mktemp("lora") / "tiny-lora"
    with quiet_peft():
        get_peft_model(base, config).save_pretrained(directory)
    adapter_config = json.loads((directory / "adapter_config.json").read_text())
    adapter_config["base_model_name_or_path"] = "acme/tiny"
    (directory / "adapter_config.json").write_text(json.dumps(adapter_config))
    return directory


async def _scores(model: Any) -> list[float]:
    return [round(score, 4) for score, _ in await model.loglikelihood(REQUESTS)]


async def test_a_hub_adapter_loads_on_the_base_its_config_names(
    hub: Any, tiny_checkpoint: Path, lora_adapter: Path, tmp_path: Path
) -> None:
    from tests.support.servers.hub import HubRepo

    hub.state.add(HubRepo.from_directory(tiny_checkpoint, "acme/tiny"))
    hub.state.add(HubRepo.from_directory(lora_adapter, "acme/tiny-lora"))
    settings = Settings(
        data_dir=tmp_path, hub_endpoint=hub.url, hub_repos="acme/*", allowed_hosts="127.0.0.1,localhost"
    )
    env = BackendEnv.from_settings(settings)
    base = await open_model(HubTarget(repo="acme/tiny", device="cpu"), env)
    adapted = await open_model(HubTarget(repo="acme/tiny-lora", device="cpu"), env)
    try:
        base_print, adapted_print = await base.fingerprint(), await adapted.fingerprint()
        assert adapted_print.kind == "adapter" and adapted_print.fingerprint_verified
        assert adapted_print.fingerprint != base_print.fingerprint
        assert base_print.fingerprint is not None and base_print.fingerprint[:23] in adapted_print.description
        assert await _scores(adapted) != await _scores(base)  # the adapter's weights are in
        assert await _scores(base) == await _scores(await open_model(HubTarget(repo="acme/tiny"), env))  # base intact
    finally:
        await adapted.close()
        await base.close()
    fetched = {r.path.rsplit("/", 1)[-1] for r in hub.requests if "/resolve/" in r.path}
    assert {"adapter_config.json", "adapter_model.safetensors", "model.safetensors"} <= fetched


async def test_a_local_adapter_loads_on_the_base_the_request_gives(
    tiny_checkpoint: Path, lora_adapter: Path, tmp_path: Path
) -> None:
    env = BackendEnv(model_roots=[tiny_checkpoint.parent, lora_adapter.parent], fetch_cache_dir=tmp_path)
    base = CheckpointTarget(path=str(tiny_checkpoint), device="cpu")
    adapted = await open_model(CheckpointTarget(path=str(lora_adapter), device="cpu", base=base), env)
    plain = await open_model(base, env)
    try:
        assert (await adapted.fingerprint()).kind == "adapter"
        assert await _scores(adapted) != await _scores(plain)
    finally:
        await adapted.close()
        await plain.close()
    without_base = CheckpointTarget(path=str(lora_adapter), device="cpu")  # names acme/tiny: not allowed here
    with pytest.raises(Exception, match="not one the operator allows"):
        await open_model(without_base, env)


async def test_an_adapters_base_is_pinned_at_submit(
    hub: Any, tiny_checkpoint: Path, lora_adapter: Path, tmp_path: Path, sqlite_store: Any
) -> None:
    from service.app import create_app
    from tests.api.helpers import serve_in_loop, valid_request
    from tests.support.servers.hub import HubRepo

    base = hub.state.add(HubRepo.from_directory(tiny_checkpoint, "acme/tiny"))
    hub.state.add(HubRepo.from_directory(lora_adapter, "acme/tiny-lora"))
    settings = Settings(
        data_dir=tmp_path, api_keys="k:admin", hub_endpoint=hub.url, hub_repos="acme/*", allowed_hosts="127.0.0.1"
    )
    target = {"kind": "hf", "repo": "acme/tiny-lora", "base": {"kind": "hf", "repo": "acme/tiny", "revision": "main"}}
    async with serve_in_loop(create_app(settings, sqlite_store)) as client:
        resp = await client.post(
            "/v1/evaluations", json=valid_request(target=target), headers={"Authorization": "Bearer k"}
        )
        unknown = {**target, "base": {"kind": "hf", "repo": "acme/missing"}}
        refused = await client.post(
            "/v1/evaluations", json=valid_request(target=unknown), headers={"Authorization": "Bearer k"}
        )
    assert resp.status_code == 202, resp.text
    assert resp.json()["resolved"]["target.base"]["revision"] == base.branches["main"]
    assert refused.status_code == 422 and refused.json()["error"]["field"].startswith("target.base")
