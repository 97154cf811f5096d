"""The OpenAI-compatible backend (vLLM, llama.cpp server, TGI's /v1) over httpx.

Log-likelihood the way lm-eval's local-completions does it: `/v1/completions` with `echo: true, logprobs: 1,
max_tokens: 1, temperature: 0`, the prompt log-probs of context+continuation summed after the context's tokens
(the context's token count comes from echoing the context alone, in the same batched request), the greedy flag
from each position's top log-prob. Generation via `/v1/chat/completions` (or `/v1/completions` without chat).
Chat-only servers: next-token `top_logprobs` over the answer letters; without those, generation only.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

from evaluators.models.chat_prompt import chat_messages
from evaluators.models.http_retry import RetryPolicy, request_json
from evaluators.models.protocol import (
    BatchHook,
    Capability,
    GenerationRequest,
    LoglikelihoodRequest,
    NextTokenRequest,
    RuntimeInfo,
    cut_at_stop,
    plain_prompt,
    unsupported_generation,
)
from evaluators.models.tgi import split_trailing_space
from evaluators.net import OutboundPolicy, checked_async_client
from schemas.errors import ModelProtocolError, UnsupportedCapabilityError
from schemas.scorecard import ModelProvenance

PROMPTS_PER_REQUEST = 16
TOP_LOGPROBS = 20


def _logprobs_of(choice: dict[str, Any]) -> tuple[list[float | None], list[dict[str, float] | None]]:
    lp = choice.get("logprobs")
    if not isinstance(lp, dict) or not isinstance(lp.get("token_logprobs"), list):
        raise ModelProtocolError(
            "the completions endpoint returned no echoed prompt log-probs "
            "(choices[].logprobs.token_logprobs); "
            "it must support `echo: true` with `logprobs` (vLLM does), or set chat_only: true"
        )
    return lp["token_logprobs"], lp.get("top_logprobs") or [None] * len(lp["token_logprobs"])


class OpenAICompatModel:
    """A LanguageModel over an OpenAI-compatible server. Requests go through the checked transport of
    `outbound`: by default a policy that admits `base_url`'s host and port alone."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        chat_only: bool = False,
        policy: RetryPolicy | None = None,
        chat_template: str = "auto",
        top_logprobs: int = TOP_LOGPROBS,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = model
        self.chat_only = chat_only
        self.top_logprobs = top_logprobs
        self.policy = policy or RetryPolicy()
        self._chat_template = chat_template
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = checked_async_client(
            outbound or OutboundPolicy.only(self.base_url),
            base_url=self.base_url,
            headers=headers,
            timeout=self.policy.timeout_s,
        )
        self._limit = asyncio.Semaphore(self.policy.concurrency)
        self.capabilities = (
            frozenset({Capability.TOP_LOGPROBS, Capability.GENERATION})
            if chat_only
            else frozenset({Capability.LOGLIKELIHOOD, Capability.TOP_LOGPROBS, Capability.GENERATION})
        )
        if not chat_only and chat_template == "none":  # the server's chat template would not apply: raw prompts
            self.capabilities |= {Capability.RAW_PROMPT}

    async def _post(self, path: str, payload: dict[str, Any]) -> Any:
        async with self._limit:
            body = await request_json(self._http, "POST", path, self.policy, f"{self.base_url}{path}", payload)
        if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
            raise ModelProtocolError(f"{self.base_url}{path} answered without a `choices` list: {body!r:.200}")
        return body

    def echo_payload(self, prompts: list[str]) -> dict[str, Any]:
        """The exact /v1/completions body for prompt log-probs (lm-eval local-completions' fields)."""
        return {
            "model": self.model,
            "prompt": prompts,
            "temperature": 0,
            "max_tokens": 1,
            "logprobs": 1,
            "seed": 1234,
            "echo": True,
        }

    async def _score_group(self, pairs: list[tuple[str, str]]) -> list[tuple[float, bool]]:
        contexts = sorted({c for c, _ in pairs})
        prompts = contexts + [c + x for c, x in pairs]
        body = await self._post("/completions", self.echo_payload(prompts))
        choices = sorted(body["choices"], key=lambda ch: ch.get("index", 0))
        if len(choices) != len(prompts):
            raise ModelProtocolError(f"asked for {len(prompts)} completions, got {len(choices)}")
        # Echoed prompt tokens + 1 generated token: a context alone has len(token_logprobs) - 1 tokens.
        ctx_len = {c: len(_logprobs_of(ch)[0]) - 1 for c, ch in zip(contexts, choices, strict=False)}
        out = []
        for (context, _), choice in zip(pairs, choices[len(contexts) :], strict=True):
            token_lps, tops = _logprobs_of(choice)
            n = ctx_len[context]
            scored, top = token_lps[n:-1], tops[n:-1]
            if any(v is None for v in scored):
                raise ModelProtocolError("the completions endpoint returned null log-probs for continuation tokens")
            values = [float(v or 0.0) for v in scored]
            greedy = all(t is not None and v >= max(t.values()) - 1e-6 for v, t in zip(values, top, strict=True))
            out.append((sum(values), greedy))
        return out

    async def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], hook: BatchHook | None = None
    ) -> list[tuple[float, bool]]:
        """lm-eval local-completions scoring: sum of echoed continuation log-probs, greedy from top-1."""
        if self.chat_only:
            raise UnsupportedCapabilityError(f"{self.base_url} is chat-only: no prompt log-probs")
        pairs = [split_trailing_space(r.context, r.continuation) for r in requests]
        groups = [pairs[i : i + PROMPTS_PER_REQUEST] for i in range(0, len(pairs), PROMPTS_PER_REQUEST)]
        out: list[tuple[float, bool]] = []
        step = self.policy.concurrency
        for start in range(0, len(groups), step):
            for scored in await asyncio.gather(*(self._score_group(g) for g in groups[start : start + step])):
                out += scored
            if hook is not None:
                hook(len(out))
        return out

    def chat_payload(self, r: GenerationRequest) -> dict[str, Any]:
        """The exact /v1/chat/completions body for a generation request."""
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": chat_messages(r),
            "max_tokens": r.max_new_tokens,
            "temperature": r.temperature,
        }
        if r.top_p < 1:
            payload["top_p"] = r.top_p
        if r.stop:
            payload["stop"] = list(r.stop)
        if r.seed is not None:
            payload["seed"] = r.seed
        return payload

    async def _generate_one(self, r: GenerationRequest) -> str:
        unsupported_generation(self.capabilities, r, self.base_url)
        try:
            if (r.chat and self._chat_template == "auto") or self.chat_only:
                body = await self._post("/chat/completions", self.chat_payload(r))
                text = body["choices"][0]["message"]["content"]
            else:
                payload = {k: v for k, v in self.chat_payload(r).items() if k != "messages"}
                body = await self._post("/completions", {**payload, "prompt": plain_prompt(r)})
                text = body["choices"][0]["text"]
        except (KeyError, IndexError, TypeError) as exc:
            raise ModelProtocolError(f"{self.base_url}: a completion without text: {exc!r}") from exc
        return cut_at_stop(str(text or ""), r.stop)

    async def generate(self, requests: Sequence[GenerationRequest], hook: BatchHook | None = None) -> list[str]:
        """Per request, the generated text (chat template server-side when `chat`)."""
        out: list[str] = []
        step = self.policy.concurrency * 4
        for start in range(0, len(requests), step):
            out += await asyncio.gather(*(self._generate_one(r) for r in requests[start : start + step]))
            if hook is not None:
                hook(len(out))
        return out

    def next_token_payload(self, r: NextTokenRequest) -> dict[str, Any]:
        """The exact /v1/chat/completions body asking for the next token's top log-probs."""
        return {
            "model": self.model,
            "messages": [{"role": "user", "content": r.context}],
            "max_tokens": 1,
            "temperature": 0,
            "logprobs": True,
            "top_logprobs": self.top_logprobs,
        }

    async def _next_token_one(self, r: NextTokenRequest) -> dict[str, float]:
        body = await self._post("/chat/completions", self.next_token_payload(r))
        try:
            content = body["choices"][0]["logprobs"]["content"]
            tops = content[0]["top_logprobs"]
        except (KeyError, IndexError, TypeError) as exc:
            raise UnsupportedCapabilityError(
                f"{self.base_url} returned no next-token top_logprobs; scoring falls back to generation"
            ) from exc
        best: dict[str, float] = {}
        for entry in tops:
            token, lp = str(entry.get("token", "")).strip(), float(entry.get("logprob", -math.inf))
            best[token] = max(lp, best.get(token, -math.inf))  # " A" and "A" are the same answer
        return {c: best[c.strip()] for c in r.candidates if c.strip() in best}

    async def next_token_logprobs(
        self, requests: Sequence[NextTokenRequest], hook: BatchHook | None = None
    ) -> list[dict[str, float]]:
        """Candidate -> log-prob when among the next token's top log-probs (whitespace-insensitive)."""
        out: list[dict[str, float]] = []
        step = self.policy.concurrency * 4
        for start in range(0, len(requests), step):
            out += await asyncio.gather(*(self._next_token_one(r) for r in requests[start : start + step]))
            if hook is not None:
                hook(len(out))
        return out

    async def fingerprint(self) -> ModelProvenance:
        """The served model name (the endpoint's claim; unverified)."""
        return ModelProvenance(
            kind="openai",
            fingerprint=self.model,
            fingerprint_verified=False,
            description=f"at {self.base_url}",
        )

    def runtime(self) -> RuntimeInfo:
        return RuntimeInfo(extra={"endpoint": self.base_url, "chat_only": self.chat_only})

    async def close(self) -> None:
        await self._http.aclose()
