"""The checkpoint backend on a tiny Llama the session builds: exactness, one forward per question, safety."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import torch

from evaluators.models import LoglikelihoodRequest
from evaluators.models.checkpoint_loader import CheckpointCache
from evaluators.models.protocol import GenerationRequest, NextTokenRequest, WhiteBoxModel
from schemas.errors import UnsafeModelError


def _reference_loglik(model, tokenizer, context: str, continuation: str) -> float:
    """Naive full-logits scoring of context+continuation, one request at a time."""
    ctx = tokenizer.encode(context)
    whole = tokenizer.encode(context + continuation)
    cont = whole[len(ctx) :]
    with torch.no_grad():
        logits = model(torch.tensor([whole[:-1]])).logits[0].float()
    logp = torch.log_softmax(logits, -1)
    return float(sum(logp[len(ctx) - 1 + i, t] for i, t in enumerate(cont)))


async def test_loglikelihood_matches_naive_full_forward(tiny_checkpoint: Path) -> None:
    model = await CheckpointCache(1).open(tiny_checkpoint, batch_size=3)
    reqs = [
        LoglikelihoodRequest("Question: What colour is the sky?\nAnswer:", c)
        for c in (" A", " B", " blue", " a long answer about water")
    ] + [LoglikelihoodRequest("The quick brown", " fox jumps"), LoglikelihoodRequest("Agent Vorn ", "keeps")]
    got = await model.loglikelihood(reqs)
    for req, (ll, greedy) in zip(reqs, got, strict=True):
        context, cont = req.context, req.continuation
        if context.endswith(" "):  # lm-eval moves trailing spaces into the continuation
            context, cont = context.rstrip(), " " + cont
        ref = _reference_loglik(model.torch_model, model.tokenizer, context, cont)
        assert ll == pytest.approx(ref, abs=1e-4)
        assert isinstance(greedy, bool)
        assert ll < 0


async def test_one_forward_per_question_with_one_token_answers(tiny_checkpoint: Path) -> None:
    model = await CheckpointCache(1).open(tiny_checkpoint, batch_size=64)
    context = "A. red\nB. green\nC. blue\nD. yellow\nAnswer:"
    assert all(
        len(model.tokenizer.encode(context + c)) - len(model.tokenizer.encode(context)) == 1
        for c in (" A", " B", " C", " D")
    )
    calls: list[int] = []
    handle = model.torch_model.model.register_forward_hook(lambda *_: calls.append(1))
    try:
        got = await model.loglikelihood([LoglikelihoodRequest(context, c) for c in (" A", " B", " C", " D")])
    finally:
        handle.remove()
    assert len(calls) == 1
    # The four answers partition probability mass with the rest of the vocabulary: each is a real log-prob.
    assert sum(math.exp(ll) for ll, _ in got) < 1.0
    assert sum(greedy for _, greedy in got) <= 1


async def test_answers_sharing_a_first_token_share_the_forward(tiny_checkpoint: Path) -> None:
    """ " E".." Q" are two tokens in the tiny vocabulary (space, letter): one row serves all, as in lm-eval."""
    model = await CheckpointCache(1).open(tiny_checkpoint, batch_size=64)
    context = "A. red\nB. green\nAnswer:"
    letters = (" E", " F", " G", " Q")
    calls: list[int] = []
    handle = model.torch_model.model.register_forward_hook(lambda *_: calls.append(1))
    try:
        got = await model.loglikelihood([LoglikelihoodRequest(context, c) for c in letters])
    finally:
        handle.remove()
    assert len(calls) == 1
    for letter, (ll, _) in zip(letters, got, strict=True):
        ref = _reference_loglik(model.torch_model, model.tokenizer, context, letter)
        assert ll == pytest.approx(ref, abs=1e-4)


async def test_hook_runs_between_batches_and_can_stop(tiny_checkpoint: Path) -> None:
    model = await CheckpointCache(1).open(tiny_checkpoint, batch_size=1)
    seen: list[int] = []

    def hook(done: int) -> None:
        seen.append(done)
        if len(seen) == 2:
            raise RuntimeError("cancelled")

    reqs = [LoglikelihoodRequest(f"Sentence number {i}", " ok") for i in range(5)]
    with pytest.raises(RuntimeError, match="cancelled"):
        await model.loglikelihood(reqs, hook)
    assert seen == [1, 2]


async def test_generation_greedy_is_deterministic_and_stops(tiny_checkpoint: Path) -> None:
    model = await CheckpointCache(1).open(tiny_checkpoint)
    reqs = [GenerationRequest("Water boils at", max_new_tokens=8, chat=c) for c in (False, True)]
    first = await model.generate(reqs)
    second = await model.generate(reqs)
    assert first == second
    assert all(isinstance(t, str) for t in first)
    stop_at = first[0][2:4] if len(first[0]) >= 4 else None
    if stop_at:
        cut = await model.generate([GenerationRequest("Water boils at", max_new_tokens=8, chat=False, stop=(stop_at,))])
        assert stop_at not in cut[0] and first[0].startswith(cut[0])


async def test_next_token_and_hidden_states_and_white_box(tiny_checkpoint: Path) -> None:
    model = await CheckpointCache(1).open(tiny_checkpoint)
    assert isinstance(model, WhiteBoxModel)
    got = await model.next_token_logprobs([NextTokenRequest("Answer:", (" A", " B"))])
    direct = await model.loglikelihood([LoglikelihoodRequest("Answer:", " A")])
    assert got[0][" A"] == pytest.approx(direct[0][0], abs=1e-6)
    states = await model.hidden_states(["short", "a somewhat longer text here"])
    layers = model.torch_model.config.num_hidden_layers + 1
    assert [tuple(s.shape) for s in states] == [(layers, 64), (layers, 64)]
    assert states[0].dtype == torch.float32
    copy = model.derived(__import__("copy").deepcopy(model.torch_model), "noised")
    with torch.no_grad():
        for p in copy.torch_model.parameters():  # type: ignore[attr-defined]
            p.add_(torch.randn_like(p) * 0.5)
    a = await model.loglikelihood([LoglikelihoodRequest("Water boils", " at")])
    b = await copy.loglikelihood([LoglikelihoodRequest("Water boils", " at")])
    assert a[0][0] != pytest.approx(b[0][0], abs=1e-3)
    assert (await copy.fingerprint()).fingerprint_verified is False


async def test_fingerprint_cache_and_overwrite(tiny_checkpoint: Path, tmp_path: Path) -> None:
    copy = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, copy)
    cache = CheckpointCache(2)
    first = await cache.open(copy)
    again = await cache.open(copy)
    fp1 = await first.fingerprint()
    assert fp1.fingerprint_verified and fp1.fingerprint == (await again.fingerprint()).fingerprint
    assert cache.loads == 1 and again.torch_model is first.torch_model
    from safetensors.torch import load_file, save_file

    weights = load_file(copy / "model.safetensors")
    name = next(iter(weights))
    weights[name] = weights[name] + 1.0
    save_file(weights, copy / "model.safetensors", metadata={"format": "pt"})
    changed = await cache.open(copy)
    assert (await changed.fingerprint()).fingerprint != fp1.fingerprint
    assert cache.loads == 2


def test_pickle_and_remote_code_are_refused(tiny_checkpoint: Path, tmp_path: Path) -> None:
    import asyncio

    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(UnsafeModelError, match=r"pytorch_model\.bin.*allow_pickle"):
        asyncio.run(CheckpointCache(1).open(pickled))
    remote = tmp_path / "remote"
    shutil.copytree(tiny_checkpoint, remote)
    config = (remote / "config.json").read_text().replace("{", '{"auto_map": {"AutoModel": "m.X"},', 1)
    (remote / "config.json").write_text(config)
    (remote / "m.py").write_text("X = 1\n")
    with pytest.raises(UnsafeModelError, match=r"m\.py.*trust_remote_code"):
        asyncio.run(CheckpointCache(1).open(remote))
