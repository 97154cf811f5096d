"""The TGI backend: prompt log-probs from `text_generation(details=True,
decoder_input_details=True, max_new_tokens=1)` via huggingface_hub's AsyncInferenceClient, token
boundaries from `/tokenize`, identity from `/info` (the endpoint's claim, so the fingerprint is unverified).

The context/continuation split follows lm-eval: trailing spaces of the context move to the continuation, the
context is tokenised alone and the continuation is whatever follows those tokens in the whole input.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from evaluators.models.chat_prompt import chat_messages
from evaluators.models.http_retry import (
    RetryableError,
    RetryPolicy,
    classify_status,
    request_json,
    with_retries,
)
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
from evaluators.net import OutboundPolicy, checked_async_client, checked_inference_client
from schemas.errors import AuditError, ModelProtocolError
from schemas.scorecard import ModelProvenance

PREFILL_ADVICE = (
    "the TGI server returned no prompt log-probabilities (empty prefill). TGI >= 3 serves them only when "
    "started with `--enable-prefill-logprobs`: restart it with that flag"
)


def split_trailing_space(context: str, continuation: str) -> tuple[str, str]:
    """lm-eval's rule: trailing whitespace of the context belongs to the continuation."""
    n = len(context) - len(context.rstrip())
    if n:
        return context[:-n], context[-n:] + continuation
    return context, continuation


def _status_of(exc: BaseException) -> tuple[int, Any, str] | None:
    """The HTTP status behind a huggingface_hub error (its own or its cause's)."""
    seen: BaseException | None = exc
    while seen is not None:
        response = getattr(seen, "response", None)
        if response is not None and hasattr(response, "status_code"):
            try:
                text = response.text
            except Exception:  # a streamed body may be unreadable; the status is what matters
                text = ""
            return int(response.status_code), response.headers, text
        seen = seen.__cause__
    return None


class TGIModel:
    """A LanguageModel over a Text Generation Inference server.

    Both clients (ours for /tokenize, /info and chat; huggingface_hub's for generation) go through the checked
    transport of `outbound`: by default a policy that admits `url`'s host and port alone.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        policy: RetryPolicy | None = None,
        chat_template: str = "auto",
        outbound: OutboundPolicy | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.name = self.url
        self.policy = policy or RetryPolicy()
        self._chat_template = chat_template
        raw = {Capability.RAW_PROMPT} if chat_template == "none" else set()
        self.capabilities = frozenset({Capability.LOGLIKELIHOOD, Capability.TOP_LOGPROBS, Capability.GENERATION, *raw})
        """Raw prompts (prefill) only without a chat template: TGI applies its template server-side."""
        outbound = outbound or OutboundPolicy.only(self.url)
        self._client = checked_inference_client(
            outbound, base_url=self.url, headers=headers, timeout=self.policy.timeout_s
        )
        self._http = checked_async_client(outbound, base_url=self.url, headers=headers, timeout=self.policy.timeout_s)
        self._limit = asyncio.Semaphore(self.policy.concurrency)
        self._info: dict[str, Any] | None = None

    async def _generate(self, prompt: str, **params: Any) -> Any:
        from huggingface_hub.errors import InferenceTimeoutError

        async def attempt() -> Any:
            try:
                return await self._client.text_generation(prompt, **params)
            except AuditError:  # a refused request or redirect (url_not_allowed): final, not retried
                raise
            except InferenceTimeoutError as exc:
                raise RetryableError(f"TGI generate: timed out: {exc}") from exc
            except (ValueError, json.JSONDecodeError) as exc:
                raise ModelProtocolError(f"TGI generate: the server answered malformed JSON: {exc}") from exc
            except Exception as exc:
                status = _status_of(exc)
                if status is None:
                    if type(exc).__name__.endswith(("ConnectError", "ReadError", "RemoteProtocolError")):
                        raise RetryableError(f"TGI generate: connection failed: {exc!r}") from exc
                    raise
                classify_status(*status, what="TGI generate")
                raise

        async with self._limit:
            return await with_retries(attempt, self.policy, f"TGI {self.url}/ generate")

    async def _token_count(self, text: str) -> int:
        async with self._limit:
            tokens = await request_json(
                self._http, "POST", "/tokenize", self.policy, f"TGI {self.url}/tokenize", {"inputs": text}
            )
        if not isinstance(tokens, list):
            raise ModelProtocolError(f"TGI /tokenize answered {type(tokens).__name__}, expected a list of tokens")
        return len(tokens)

    async def _score(self, context: str, continuation: str, context_lengths: dict[str, int]) -> tuple[float, bool]:
        context, continuation = split_trailing_space(context, continuation)
        if context not in context_lengths:
            context_lengths[context] = await self._token_count(context)
        output = await self._generate(
            context + continuation, details=True, decoder_input_details=True, max_new_tokens=1
        )
        prefill = list(getattr(getattr(output, "details", None), "prefill", None) or [])
        if not prefill:
            raise ModelProtocolError(PREFILL_ADVICE)
        scored = prefill[context_lengths[context] :]
        if any(t.logprob is None for t in scored):
            raise ModelProtocolError(PREFILL_ADVICE)
        # TGI gives no alternatives for prompt tokens, so greediness is unknown: reported as False.
        return float(sum(t.logprob for t in scored)), False

    async def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], hook: BatchHook | None = None
    ) -> list[tuple[float, bool]]:
        """Sum of the continuation's prompt log-probs per request (greedy flag unknown: False)."""
        lengths: dict[str, int] = {}
        out: list[tuple[float, bool]] = []
        step = self.policy.concurrency * 4
        for start in range(0, len(requests), step):
            chunk = requests[start : start + step]
            out += await asyncio.gather(*(self._score(r.context, r.continuation, lengths) for r in chunk))
            if hook is not None:
                hook(len(out))
        return out

    async def next_token_logprobs(
        self, requests: Sequence[NextTokenRequest], hook: BatchHook | None = None
    ) -> list[dict[str, float]]:
        """Candidate log-probs from prompt log-probs (TGI scores any continuation, not only the top-k)."""
        flat = [LoglikelihoodRequest(r.context, c) for r in requests for c in r.candidates]
        scores = await self.loglikelihood(flat, hook)
        out, k = [], 0
        for r in requests:
            out.append({c: scores[k + j][0] for j, c in enumerate(r.candidates)})
            k += len(r.candidates)
        return out

    async def generate(self, requests: Sequence[GenerationRequest], hook: BatchHook | None = None) -> list[str]:
        """Generation: chat requests go to /v1/chat/completions (TGI's chat template), others to /generate."""

        async def one(r: GenerationRequest) -> str:
            unsupported_generation(self.capabilities, r, f"TGI {self.url}")
            if r.chat and self._chat_template == "auto":
                return cut_at_stop(await self._chat(r), r.stop)
            params: dict[str, Any] = {"max_new_tokens": r.max_new_tokens}
            if r.stop:
                params["stop"] = list(r.stop)[:4]
            if r.temperature > 0:
                params.update(do_sample=True, temperature=r.temperature, seed=r.seed)
                if r.top_p < 1:  # TGI takes top_p in (0, 1) only
                    params["top_p"] = r.top_p
            text = await self._generate(plain_prompt(r), **params)
            return cut_at_stop(str(text), r.stop)

        out: list[str] = []
        step = self.policy.concurrency * 4
        for start in range(0, len(requests), step):
            out += await asyncio.gather(*(one(r) for r in requests[start : start + step]))
            if hook is not None:
                hook(len(out))
        return out

    async def _chat(self, r: GenerationRequest) -> str:
        payload: dict[str, Any] = {
            "model": "tgi",
            "messages": chat_messages(r),
            "max_tokens": r.max_new_tokens,
            "temperature": r.temperature,
        }
        if r.top_p < 1:
            payload["top_p"] = r.top_p
        if r.stop:
            payload["stop"] = list(r.stop)[:4]
        if r.seed is not None:
            payload["seed"] = r.seed
        async with self._limit:
            body = await request_json(
                self._http,
                "POST",
                "/v1/chat/completions",
                self.policy,
                f"TGI {self.url}/v1/chat/completions",
                payload,
            )
        try:
            return str(body["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError) as exc:
            raise ModelProtocolError(f"TGI chat completion without choices[0].message.content: {body!r:.200}") from exc

    async def fingerprint(self) -> ModelProvenance:
        """The server's claim from /info (model_id@model_sha): not verified against weights."""
        if self._info is None:
            info = await request_json(self._http, "GET", "/info", self.policy, f"TGI {self.url}/info")
            if not isinstance(info, dict) or "model_id" not in info:
                raise ModelProtocolError(f"TGI {self.url}/info did not answer a model_id")
            self._info = info
        model_id, sha = self._info.get("model_id"), self._info.get("model_sha")
        return ModelProvenance(
            kind="tgi",
            fingerprint=f"{model_id}@{sha}" if sha else str(model_id),
            fingerprint_verified=False,
            description=f"TGI {self._info.get('version', '?')} at {self.url}",
        )

    def runtime(self) -> RuntimeInfo:
        return RuntimeInfo(extra={"endpoint": self.url, "concurrency": self.policy.concurrency})

    async def close(self) -> None:
        await self._client.close()
        await self._http.aclose()
