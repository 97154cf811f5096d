"""The sandbox's training losses equal their plain definitions (full logits, attention mask, live teacher).

The training loop takes two shortcuts for speed: the output head runs only at weighted positions without an
attention mask (rows are right-padded), and a `kl` stream's teacher log-probs are computed once per example.
Both must give the loss the recipe defines, up to floating-point rounding."""

from __future__ import annotations

import multiprocessing
import random
from pathlib import Path
from typing import Literal

import pytest
import torch
import torch.nn.functional as F
from transformers import LlamaConfig, LlamaForCausalLM

from evaluators.sandbox.train import Encoded, Shard, Stream, _loss, frozen_bottom, join_local_group, train

PAD = 0


def _tiny(seed: int) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=40,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=64,
        pad_token_id=PAD,
    )
    return LlamaForCausalLM(config).eval()


def _data(n: int = 12) -> list[Encoded]:
    """Sequences of mixed lengths: unweighted first token, lightly weighted prefixes, fully weighted targets."""
    rng = random.Random(0)
    out = []
    for _ in range(n):
        length = rng.randint(3, 20)
        prefix = rng.randint(1, length - 1)
        ids = [rng.randint(1, 39) for _ in range(length)]
        out.append((ids, [0.0] + [rng.choice([0.0, 0.1])] * (prefix - 1) + [1.0] * (length - prefix)))
    return out


def _reference(model: LlamaForCausalLM, stream: Stream, indices: list[int]) -> torch.Tensor:
    """The recipe's definition: padded batch with its attention mask, logits everywhere, live teacher."""
    batch = [stream.data[i] for i in indices]
    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), PAD)
    weights = torch.zeros((len(batch), width))
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (tokens, token_weights) in enumerate(batch):
        ids[row, : len(tokens)] = torch.tensor(tokens)
        weights[row, : len(token_weights)] = torch.tensor(token_weights)
        mask[row, : len(tokens)] = 1
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
    w = weights[:, 1:]
    if stream.loss == "kl":
        with torch.no_grad():
            t = F.log_softmax(stream.teacher(input_ids=ids, attention_mask=mask).logits[:, :-1], -1)
        per_token = (t.exp() * (t - F.log_softmax(logits, -1))).sum(-1)
    else:
        per_token = F.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
    loss = (per_token * w).sum() / w.sum()
    return -loss if stream.loss == "ascent" else loss


@pytest.mark.parametrize("kind", ["ce", "ascent", "kl"])
def test_the_loss_equals_its_definition(kind: Literal["ce", "kl", "ascent"]) -> None:
    model = _tiny(1)
    stream = Stream(_data(), kind, _tiny(2) if kind == "kl" else None)
    stream.cache_teacher(PAD, "cpu")
    for indices in ([0, 1, 2, 3], [4, 7, 9], [11]):
        fast = _loss(model, stream, indices, PAD)
        assert fast.item() == pytest.approx(_reference(model, stream, indices).item(), abs=1e-5)
        assert abs(fast.item()) > 1e-3  # a loss that vanished would match trivially


def test_the_kl_loss_is_zero_against_itself_and_its_gradient_matches() -> None:
    model = _tiny(1)
    stream = Stream(_data(), "kl", _tiny(1))
    stream.cache_teacher(PAD, "cpu")
    assert _loss(model, stream, [0, 5, 6], PAD).item() == pytest.approx(0.0, abs=1e-6)
    student, teacher = _tiny(3), _tiny(4)
    stream = Stream(_data(), "kl", teacher)
    stream.cache_teacher(PAD, "cpu")
    _loss(student, stream, [2, 3, 8], PAD).backward()
    fast = [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in student.parameters()]
    student.zero_grad()
    _reference(student, stream, [2, 3, 8]).backward()
    for a, p in zip(fast, student.parameters(), strict=True):
        assert p.grad is not None and torch.allclose(a, p.grad, atol=1e-5)


@pytest.mark.parametrize("kind", ["ce", "kl"])
def test_a_frozen_bottom_computed_once_gives_the_same_loss_and_gradient(kind: Literal["ce", "kl"]) -> None:
    """With only the top layer training, the states entering it are cached per example; the loss and the
    trained layer's gradient are those of the whole forward."""
    model = _tiny(1)
    top = list(model.model.layers[-1].parameters())
    assert frozen_bottom(model, top) == 1 and frozen_bottom(model, list(model.parameters())) == 0
    cached, plain = (Stream(_data(), kind, _tiny(2) if kind == "kl" else None) for _ in range(2))
    for stream in (cached, plain):
        stream.cache_teacher(PAD, "cpu")
    cached.cache_inputs(model, 1, PAD)
    grads = []
    for stream in (cached, plain):
        model.zero_grad()
        loss = _loss(model, stream, [0, 3, 5, 10], PAD)
        loss.backward()
        grads.append((loss.item(), [p.grad.clone() for p in top if p.grad is not None]))
    (fast, fast_grads), (slow, slow_grads) = grads
    assert fast == pytest.approx(slow, abs=1e-5) and abs(slow) > 1e-3
    assert len(fast_grads) == len(slow_grads) == len(top)
    for a, b in zip(fast_grads, slow_grads, strict=True):
        assert torch.allclose(a, b, atol=1e-5)


def test_an_epoch_of_batches_holds_every_example_once() -> None:
    stream = Stream(_data(100), batch_size=8)
    batches = stream.batches(random.Random(0))
    seen = [i for _ in range(13) for i in next(batches)]  # 100 examples: 12 batches of 8 and one of 4
    assert sorted(seen) == list(range(100))


def _rank_body(rank: int, ranks: int, rendezvous: str, out: str) -> None:
    """One rank of a data-parallel run of `_run` (a spawned process): rank 0 saves what it trained."""
    import torch.distributed as dist

    torch.set_num_threads(1)
    join_local_group(rank, ranks, rendezvous)
    model, losses = _run(Shard(rank, ranks))
    dist.destroy_process_group()
    if rank == 0:
        torch.save({"state": model.state_dict(), "losses": losses}, out)


def _run(shard: Shard | None) -> tuple[LlamaForCausalLM, list[float]]:
    """Six steps of a two-stream recipe (ce and kl) with batches of 5: odd, so one rank's share is larger."""
    model = _tiny(1)
    streams = [Stream(_data(23), batch_size=5), Stream(_data(9), "kl", _tiny(2), batch_size=5)]
    losses = train(model, streams, steps=6, lr=1e-2, pad_id=PAD, seed=0, shard=shard)
    return model, losses


def test_a_data_parallel_run_takes_the_single_process_steps(tmp_path: Path) -> None:
    """Two gloo ranks, each on rows rank::2 of every batch, end where one process does (the trunk's speed-up
    must not change what it learns beyond rounding)."""
    ctx = multiprocessing.get_context("spawn")
    rendezvous = f"file://{(tmp_path / 'rendezvous').resolve()}"
    out = tmp_path / "rank0.pt"
    procs = [ctx.Process(target=_rank_body, args=(r, 2, rendezvous, str(out))) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    parallel = torch.load(out)
    model, losses = _run(None)
    assert parallel["losses"] == pytest.approx(losses, abs=1e-5)
    start = _tiny(1).state_dict()
    moved = max(float((w - start[n]).abs().max()) for n, w in model.state_dict().items())
    assert moved > 1e-3  # equal end points must not be two untouched models
    for name, weight in model.state_dict().items():
        assert torch.allclose(parallel["state"][name], weight, atol=1e-5), name
