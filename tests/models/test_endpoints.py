"""TGI and OpenAI backends against real local servers over the tiny checkpoint: the three backends agree
to 1e-4, and each sends exactly the payloads its protocol documents."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from evaluators.models import Capability, GenerationRequest, LoglikelihoodRequest, NextTokenRequest
from evaluators.models.checkpoint_loader import CheckpointCache
from evaluators.models.http_retry import RetryPolicy
from evaluators.models.openai_compat import OpenAICompatModel
from evaluators.models.tgi import TGIModel
from evaluators.scoring import score_multiple_choice
from schemas.datasets import MultipleChoiceItem

FAST = RetryPolicy(attempts=3, backoff_s=0.05, max_backoff_s=0.5, timeout_s=10, concurrency=4)
REQUESTS = [
    LoglikelihoodRequest("A. red\nB. green\nC. blue\nD. yellow\nAnswer:", " C"),
    LoglikelihoodRequest("A. red\nB. green\nC. blue\nD. yellow\nAnswer:", " D"),
    LoglikelihoodRequest("The quick brown fox ", "jumps over"),
    LoglikelihoodRequest("Water boils at", " one hundred degrees"),
]
ITEMS = [
    MultipleChoiceItem(question="What colour is the sky?", choices=["red", "green", "blue", "yellow"], answer=2),
    MultipleChoiceItem(question="Where is the silver key?", choices=["north", "archive", "dog"], answer=1),
]

# TGI's documented GenerateRequest for prompt log-probs (OpenAPI: GenerateRequest/GenerateParameters).
GOLDEN_TGI_GENERATE = {
    "inputs": "The quick brown fox jumps over",
    "parameters": {"details": True, "decoder_input_details": True, "max_new_tokens": 1},
}
# lm-eval 0.4.13 local-completions' log-likelihood body (LocalCompletionsAPI._create_payload).
GOLDEN_COMPLETIONS = {
    "model": "tiny",
    "prompt": ["Water boils at", "Water boils at one hundred degrees"],
    "temperature": 0,
    "max_tokens": 1,
    "logprobs": 1,
    "seed": 1234,
    "echo": True,
}


async def _checkpoint_scores(path: Path) -> list[tuple[float, bool]]:
    model = await CheckpointCache(1).open(path, batch_size=4)
    return await model.loglikelihood(REQUESTS)


async def test_three_backends_agree(tiny_checkpoint: Path, tgi_server: Any, openai_server: Any) -> None:
    reference = await _checkpoint_scores(tiny_checkpoint)
    tgi = TGIModel(tgi_server[0], policy=FAST)
    oai = OpenAICompatModel(openai_server[0] + "/v1", "tiny", policy=FAST)
    try:
        from_tgi = await tgi.loglikelihood(REQUESTS)
        from_oai = await oai.loglikelihood(REQUESTS)
    finally:
        await tgi.close()
        await oai.close()
    for ref, t, o in zip(reference, from_tgi, from_oai, strict=True):
        assert t[0] == pytest.approx(ref[0], abs=1e-4)
        assert o[0] == pytest.approx(ref[0], abs=1e-4)
        assert o[1] == ref[1]  # the completions API gives top-1 per position, so greediness is known


async def test_multiple_choice_scores_agree(tiny_checkpoint: Path, tgi_server: Any, openai_server: Any) -> None:
    ckpt = await CheckpointCache(1).open(tiny_checkpoint)
    tgi = TGIModel(tgi_server[0], policy=FAST)
    oai = OpenAICompatModel(openai_server[0] + "/v1", "tiny", policy=FAST)
    try:
        results = [await score_multiple_choice(m, ITEMS, "biology") for m in (ckpt, tgi, oai)]
    finally:
        await tgi.close()
        await oai.close()
    for per_backend in zip(*results, strict=True):
        assert {s.scorer for s in per_backend} == {"loglikelihood"}
        assert len({s.chosen for s in per_backend}) == 1
        for s in per_backend[1:]:
            assert s.logliks == pytest.approx(per_backend[0].logliks, abs=1e-4)


async def test_tgi_payloads_tokenize_and_info(tgi_server: Any) -> None:
    url, plan = tgi_server
    tgi = TGIModel(url, policy=FAST)
    try:
        await tgi.loglikelihood([LoglikelihoodRequest("The quick brown fox ", "jumps over")])
        provenance = await tgi.fingerprint()
    finally:
        await tgi.close()
    assert plan.bodies("/tokenize") == [{"inputs": "The quick brown fox"}]
    assert plan.bodies("/") == [GOLDEN_TGI_GENERATE]
    assert provenance.fingerprint == "tiny/llama-test@0123456789abcdef0123456789abcdef01234567"
    assert provenance.fingerprint_verified is False


async def test_openai_payloads(openai_server: Any) -> None:
    url, plan = openai_server
    oai = OpenAICompatModel(url + "/v1", "tiny", policy=FAST)
    try:
        await oai.loglikelihood([LoglikelihoodRequest("Water boils at", " one hundred degrees")])
        await oai.generate([GenerationRequest("Say hi", max_new_tokens=5, stop=("\n",))])
    finally:
        await oai.close()
    assert plan.bodies("/v1/completions") == [GOLDEN_COMPLETIONS]
    assert plan.bodies("/v1/chat/completions") == [
        {
            "model": "tiny",
            "messages": [{"role": "user", "content": "Say hi"}],
            "max_tokens": 5,
            "temperature": 0.0,
            "stop": ["\n"],
        }
    ]


async def test_chat_only_scores_from_top_logprobs_then_generation(tiny_checkpoint: Path, openai_server: Any) -> None:
    url, plan = openai_server
    oai = OpenAICompatModel(url + "/v1", "tiny", chat_only=True, policy=FAST)
    try:
        assert Capability.LOGLIKELIHOOD not in oai.capabilities
        got = await oai.next_token_logprobs([NextTokenRequest("Answer:", (" A", " B"))])
        assert all(v <= 0 for v in got[0].values())
        assert plan.bodies("/v1/chat/completions")[0] == {
            "model": "tiny",
            "messages": [{"role": "user", "content": "Answer:"}],
            "max_tokens": 1,
            "temperature": 0,
            "logprobs": True,
            "top_logprobs": 20,
        }
        oai.top_logprobs = 1000  # the whole tiny vocabulary, so every letter is listed
        scores = await score_multiple_choice(oai, ITEMS, "biology")
        assert {s.scorer for s in scores} == {"next_token_top_logprobs"}
        # A letter's top log-prob is the best of its spellings (" A", "A"), so never below the exact " A".
        ckpt = await CheckpointCache(1).open(tiny_checkpoint)
        exact = await ckpt.next_token_logprobs(
            [NextTokenRequest(s.context, tuple(s.record["continuations"]), chat=True) for s in scores]
        )
        found = 0
        for s, e in zip(scores, exact, strict=True):
            for ll, cont in zip(s.logliks or [], s.record["continuations"], strict=True):
                if not math.isinf(ll):
                    found += 1
                    assert ll >= e[cont] - 1e-4
        assert found > 0
        plan.chat_logprobs = False
        fallback = await score_multiple_choice(oai, ITEMS, "biology")
        assert {s.scorer for s in fallback} == {"generation_parse"}
        assert all("generation" in s.record for s in fallback)
    finally:
        await oai.close()
