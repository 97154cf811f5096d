"""A server that speaks the OpenAI completions/chat protocol as vLLM documents it: POST /v1/completions
(echo + logprobs: tokens, token_logprobs, top_logprobs, text_offset) and POST /v1/chat/completions
(logprobs.content[].top_logprobs). `faults.chat_logprobs=False` mimics a chat server without log-probs."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request, Response, post

from tests.support.servers.faults import FaultPlan
from tests.support.servers.tiny_lm import TinyLM


def completion_choice(lm: TinyLM, index: int, prompt: str, body: dict[str, Any]) -> dict[str, Any]:
    ids = list(lm.tokenizer.encode(prompt))
    max_tokens = int(body.get("max_tokens") or 16)
    new = lm.greedy(ids, max_tokens)
    text = "".join(lm.token_text(t) for t in new)
    choice: dict[str, Any] = {"index": index, "text": (prompt + text) if body.get("echo") else text}
    if body.get("logprobs") is not None:
        offset = 0 if body.get("echo") else len(ids)
        all_ids = (ids + new)[offset:]
        scores = lm.score(ids + new)
        lps = scores.logprobs[offset:]
        tops: list[dict[str, float] | None] = [
            None if t is None else {lm.token_text(t[0]): t[1]} for t in scores.top1[offset:]
        ]
        for i, lp in enumerate(lps):  # vLLM also lists the chosen token among the top log-probs
            top = tops[i]
            if top is not None and lp is not None:
                top[lm.token_text(all_ids[i])] = lp
        texts = [lm.token_text(t) for t in all_ids]
        offsets, pos = [], 0
        for t in texts:
            offsets.append(pos)
            pos += len(t)
        choice["logprobs"] = {
            "tokens": texts,
            "token_logprobs": lps,
            "top_logprobs": tops,
            "text_offset": offsets,
        }
    choice["finish_reason"] = "length"
    return choice


def openai_app(lm: TinyLM, faults: FaultPlan, *, model: str = "tiny") -> Litestar:
    """The app; `faults` scripts failures and records bodies."""

    @post("/v1/completions", status_code=200)
    async def completions(request: Request[Any, Any, Any]) -> Response[Any]:
        body = await request.json()
        if fault := await faults.intercept("/v1/completions", body):
            return fault
        if body.get("model") != model:
            return Response({"error": {"message": f"model {body.get('model')!r} not found"}}, status_code=404)
        prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
        choices = [completion_choice(lm, i, p, body) for i, p in enumerate(prompts)]
        return Response(
            {"id": "cmpl-test", "object": "text_completion", "created": 0, "model": model, "choices": choices}
        )

    @post("/v1/chat/completions", status_code=200)
    async def chat(request: Request[Any, Any, Any]) -> Response[Any]:
        body = await request.json()
        if fault := await faults.intercept("/v1/chat/completions", body):
            return fault
        ids = lm.chat_ids(body["messages"])
        new = lm.greedy(ids, int(body.get("max_tokens") or 16))
        text = "".join(lm.token_text(t) for t in new)
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "length",
            "logprobs": None,
        }
        if body.get("logprobs") and faults.chat_logprobs:
            k = int(body.get("top_logprobs") or 1)
            nxt = lm.score(ids, top_k=k).next_top
            first = {"token": lm.token_text(new[0]), "logprob": nxt[0][1], "bytes": None}
            first["top_logprobs"] = [{"token": lm.token_text(t), "logprob": lp, "bytes": None} for t, lp in nxt]
            choice["logprobs"] = {"content": [first]}
        return Response(
            {
                "id": "chat-test",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [choice],
            }
        )

    return Litestar([completions, chat])
