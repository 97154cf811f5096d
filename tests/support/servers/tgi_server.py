"""A server that speaks TGI's REST protocol (its published OpenAPI spec): POST /generate and / (compat),
POST /tokenize, GET /info, POST /v1/chat/completions. `faults.prefill_logprobs=False` mimics TGI >= 3
started without `--enable-prefill-logprobs` (empty prefill)."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response, get, post

from tests.support.servers.faults import FaultPlan
from tests.support.servers.tiny_lm import TinyLM

INFO = {
    "model_id": "tiny/llama-test",
    "model_sha": "0123456789abcdef0123456789abcdef01234567",
    "model_pipeline_tag": "text-generation",
    "max_concurrent_requests": 128,
    "max_best_of": 2,
    "max_stop_sequences": 4,
    "max_input_tokens": 200,
    "max_total_tokens": 256,
    "validation_workers": 2,
    "max_client_batch_size": 4,
    "router": "text-generation-router",
    "version": "3.0.1",
}


def generate_response(lm: TinyLM, body: dict[str, Any], prefill_logprobs: bool) -> dict[str, Any]:
    """A GenerateResponse for one GenerateRequest."""
    params = body.get("parameters") or {}
    ids = list(lm.tokenizer.encode(body["inputs"]))
    new = lm.greedy(ids, int(params.get("max_new_tokens") or 20))
    text = "".join(lm.token_text(t) for t in new)
    for stop in params.get("stop") or []:
        if stop in text:
            text = text[: text.index(stop) + len(stop)]
    if not params.get("details", False):
        return {"generated_text": text}
    scores = lm.score(ids + new[:1])
    prefill = []
    if params.get("decoder_input_details") and prefill_logprobs:
        prefill = [
            {"id": t, "text": lm.token_text(t), "logprob": lp}
            for t, lp in zip(ids, scores.logprobs[: len(ids)], strict=True)
        ]
    tokens = [
        {
            "id": t,
            "text": lm.token_text(t),
            "logprob": scores.logprobs[len(ids)] if i == 0 else None,
            "special": False,
        }
        for i, t in enumerate(new)
    ]
    return {
        "generated_text": text,
        "details": {
            "finish_reason": "length",
            "generated_tokens": len(new),
            "seed": None,
            "prefill": prefill,
            "tokens": tokens,
        },
    }


def tgi_app(lm: TinyLM, faults: FaultPlan) -> Litestar:
    """The app; `faults` scripts failures and records bodies."""

    @post("/generate", status_code=200)
    async def generate(request: Request[Any, Any, Any]) -> Response[Any]:
        body = await request.json()
        return await faults.intercept("/generate", body) or Response(
            generate_response(lm, body, faults.prefill_logprobs)
        )

    @post("/", status_code=200)
    async def compat_generate(request: Request[Any, Any, Any]) -> Response[Any]:
        body = await request.json()
        fault = await faults.intercept("/", body)
        return fault or Response([generate_response(lm, body, faults.prefill_logprobs)])

    @post("/tokenize", status_code=200)
    async def tokenize(request: Request[Any, Any, Any]) -> Response[Any]:
        body = await request.json()
        if fault := await faults.intercept("/tokenize", body):
            return fault
        enc = lm.tokenizer(body["inputs"], return_offsets_mapping=True)
        return Response(
            [
                {"id": t, "text": lm.token_text(t), "start": s, "stop": e}
                for t, (s, e) in zip(enc["input_ids"], enc["offset_mapping"], strict=True)
            ]
        )

    @get("/info")
    async def info() -> Response[Any]:
        return await faults.intercept("/info", None) or Response(INFO)

    @post("/v1/chat/completions", status_code=200)
    async def chat(request: Request[Any, Any, Any]) -> Response[Any]:
        body = await request.json()
        if fault := await faults.intercept("/v1/chat/completions", body):
            return fault
        new = lm.greedy(lm.chat_ids(body["messages"]), int(body.get("max_tokens") or 20))
        text = "".join(lm.token_text(t) for t in new)
        return Response(
            {
                "object": "chat.completion",
                "id": "",
                "created": 0,
                "model": INFO["model_id"],
                "system_fingerprint": "3.0.1-native",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": len(new), "total_tokens": len(new)},
            }
        )

    return Litestar([generate, compat_generate, tokenize, info, chat])
