"""The transformers backend: a loaded causal LM scored exactly as lm-eval 0.4.13's HFLM, but faster.

Torch work runs in a worker thread (`asyncio.to_thread`) one batch at a time, so the job's heartbeat keeps
running and the BatchHook can stop the job between batches. Only the positions whose log-probs are needed go
through the output projection (the base model gives hidden states; lm_head runs on the gathered positions).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import torch

from evaluators.models.chat_prompt import PromptText, prompt_texts
from evaluators.models.checkpoint_batches import Row, build_rows
from evaluators.models.protocol import (
    BatchHook,
    Capability,
    GenerationRequest,
    LanguageModel,
    LoglikelihoodRequest,
    NextTokenRequest,
    RuntimeInfo,
    cut_at_stop,
)
from evaluators.models.tokenization import LmEvalEncoder, resolve_max_length
from schemas.errors import BadInputError
from schemas.scorecard import ModelProvenance

CPU_BATCH_SIZE = 16
CUDA_START_BATCH_SIZE = 256
# Architectures that transform logits after lm_head: the gathered-position shortcut would skip that step.
_LOGIT_TRANSFORMS = ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_multiplier_scale")


class CheckpointModel:
    """A LanguageModel and WhiteBoxModel over a loaded transformers causal LM."""

    capabilities = frozenset(
        {
            Capability.LOGLIKELIHOOD,
            Capability.TOP_LOGPROBS,
            Capability.GENERATION,
            Capability.WHITE_BOX,
            Capability.RAW_PROMPT,
            Capability.LOCAL_CHAT_TEMPLATE,
        }
    )

    def __init__(
        self,
        torch_model: Any,
        tokenizer: Any,
        *,
        name: str,
        provenance: ModelProvenance,
        chat_template: str = "auto",
        batch_size: int | None = None,
        on_close: Callable[[], Awaitable[None] | None] | None = None,
    ) -> None:
        self.name = name
        self._on_close = on_close
        self._model = torch_model
        self._tokenizer = tokenizer
        self._provenance = provenance
        self._chat_template = chat_template
        self._encoder = LmEvalEncoder(tokenizer)
        self.max_length = resolve_max_length(torch_model.config, tokenizer)
        self._device = str(next(torch_model.parameters()).device)
        self._on_cuda = self._device.startswith("cuda")
        self._fixed_batch = batch_size is not None
        self._batch_size = batch_size or (CUDA_START_BATCH_SIZE if self._on_cuda else CPU_BATCH_SIZE)
        self._lock = asyncio.Lock()
        config = torch_model.config
        self._base: Any = getattr(torch_model, getattr(torch_model, "base_model_prefix", ""), None)
        self._head: Any = torch_model.get_output_embeddings()
        self._gather_fast = (
            self._base is not None
            and self._head is not None
            and not any(getattr(config, a, None) for a in _LOGIT_TRANSFORMS)
        )
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self._pad_id = int(pad if pad is not None else 0)

    # -- WhiteBoxModel -------------------------------------------------------------------------------
    @property
    def torch_model(self) -> Any:
        return self._model

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer

    @property
    def device(self) -> str:
        return self._device

    def derived(self, torch_model: Any, label: str) -> LanguageModel:
        """Score a modified copy of the weights with the same tokenizer, template and batching."""
        provenance = ModelProvenance(
            kind="derived",
            fingerprint=None,
            fingerprint_verified=False,
            description=f"{label} of {self.name}",
        )
        return CheckpointModel(
            torch_model,
            self._tokenizer,
            name=f"{self.name}:{label}",
            provenance=provenance,
            chat_template=self._chat_template,
            batch_size=self._batch_size if self._fixed_batch else None,
        )

    async def hidden_states(self, texts: Sequence[str], hook: BatchHook | None = None) -> list[Any]:
        """Per text: float32 CPU tensor [num_layers + 1, hidden] of the last token's hidden states."""
        encoded = [self._encoder.encode(t)[-self.max_length :] for t in texts]
        order = sorted(range(len(texts)), key=lambda i: -len(encoded[i]))
        out: list[Any] = [None] * len(texts)
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            states = await self._in_thread(self._hidden_batch, [encoded[i] for i in chunk])
            for i, s in zip(chunk, states, strict=True):
                out[i] = s
            if hook is not None:
                hook(min(start + len(chunk), len(texts)))
        return out

    def _hidden_batch(self, batch: list[list[int]]) -> list[Any]:
        ids, mask = self._pad(batch)
        with torch.inference_mode():
            result = self._model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        last = torch.tensor([len(t) - 1 for t in batch], device=ids.device)
        rows = torch.arange(len(batch), device=ids.device)
        stacked = torch.stack([h[rows, last] for h in result.hidden_states], dim=1)  # [B, L+1, H]
        return [s.float().cpu() for s in stacked]

    # -- LanguageModel -------------------------------------------------------------------------------
    async def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], hook: BatchHook | None = None
    ) -> list[tuple[float, bool]]:
        """Sum of continuation log-probs and whether it is the greedy decode, per request (lm-eval's)."""
        encoded = self._encoder.encode_pairs([(r.context, r.continuation) for r in requests])
        for _, cont in encoded:
            if len(cont) > self.max_length:
                raise BadInputError(f"a continuation of {len(cont)} tokens exceeds the model's {self.max_length}")
        results: list[tuple[float, bool]] = [(0.0, True)] * len(requests)
        rows = build_rows(encoded, self.max_length)
        done, position = 0, 0
        while position < len(rows):
            size = self._batch_size
            batch = rows[position : position + size]
            try:
                scored = await self._in_thread(self._score_rows, batch)
            except torch.OutOfMemoryError:
                if self._fixed_batch or size == 1:
                    raise
                self._batch_size = max(1, size // 2)  # too big for this device: halve and retry
                torch.cuda.empty_cache()
                continue
            for index, value in scored:
                results[index] = value
            position += len(batch)
            done += sum(len(r.targets) for r in batch)
            if hook is not None:
                hook(done)
        return results

    def _pad(self, batch: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(t) for t in batch)
        ids = torch.full((len(batch), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, tokens in enumerate(batch):  # right padding: real positions never see the pads
            ids[i, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
            mask[i, : len(tokens)] = 1
        return ids.to(self._device), mask.to(self._device)

    def _score_rows(self, batch: list[Row]) -> list[tuple[int, tuple[float, bool]]]:
        ids, _ = self._pad([r.tokens for r in batch])
        row_idx: list[int] = []
        pos_idx: list[int] = []
        for b, row in enumerate(batch):
            for t in row.targets:
                row_idx += [b] * len(t.tokens)
                pos_idx += range(t.start, t.start + len(t.tokens))
        rows_t = torch.tensor(row_idx, device=ids.device)
        pos_t = torch.tensor(pos_idx, device=ids.device)
        with torch.inference_mode():
            if self._gather_fast:
                # Right padding needs no mask: causal attention keeps real positions blind to later pads,
                # and without a mask SDPA takes its is_causal fast path (lm-eval passes none either).
                hidden = self._base(input_ids=ids).last_hidden_state
                logits = self._head(hidden[rows_t, pos_t]).float()
            else:
                logits = self._model(input_ids=ids).logits[rows_t, pos_t].float()
            logprobs = torch.log_softmax(logits, dim=-1)
            greedy = logits.argmax(dim=-1).tolist()
            wanted = torch.tensor([tok for row in batch for t in row.targets for tok in t.tokens], device=ids.device)
            picked = logprobs.gather(1, wanted.unsqueeze(1)).squeeze(1).tolist()
        out: list[tuple[int, tuple[float, bool]]] = []
        k = 0
        for row in batch:
            for t in row.targets:
                n = len(t.tokens)
                out.append((t.request, (float(sum(picked[k : k + n])), greedy[k : k + n] == t.tokens)))
                k += n
        return out

    def _chat_prompt(self, prompt: str, chat: bool) -> tuple[str, bool]:
        """(text, add_special_tokens): the chat template supplies its own special tokens."""
        if chat and self._chat_template == "auto" and getattr(self._tokenizer, "chat_template", None):
            text = self._tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
            )
            return str(text), False
        return prompt, True

    async def generate(self, requests: Sequence[GenerationRequest], hook: BatchHook | None = None) -> list[str]:
        """Greedy (temperature 0) or seeded sampling (temperature, top_p), cut at the first stop string.

        The prompt is the chat template rendered here (`chat_prompt.prompt_texts`) then the request's prefill;
        the text returned is what the model wrote after it.
        """
        prompts = await asyncio.to_thread(prompt_texts, requests, self._tokenizer, self._chat_template)
        out = [""] * len(requests)
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault((r.max_new_tokens, r.temperature, r.top_p, r.seed, r.chat), []).append(i)
        done = 0
        size = min(self._batch_size, 32)
        for indices in groups.values():
            for start in range(0, len(indices), size):
                chunk = indices[start : start + size]
                batch = [requests[i] for i in chunk]
                texts = await self._in_thread(self._generate_batch, batch, [prompts[i] for i in chunk])
                for i, text in zip(chunk, texts, strict=True):
                    out[i] = cut_at_stop(text, requests[i].stop)
                done += len(chunk)
                if hook is not None:
                    hook(done)
        return out

    def _generate_batch(self, batch: list[GenerationRequest], prompts: list[PromptText]) -> list[str]:
        first = batch[0]
        encoded = [
            self._encoder.encode(text, add_special_tokens=None if special else False) for text, special in prompts
        ]
        encoded = [e[-(self.max_length - first.max_new_tokens) :] for e in encoded]
        width = max(len(e) for e in encoded)
        ids = torch.full((len(batch), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, e in enumerate(encoded):  # left padding for generation
            ids[i, width - len(e) :] = torch.tensor(e, dtype=torch.long)
            mask[i, width - len(e) :] = 1
        kwargs: dict[str, Any] = {"max_new_tokens": first.max_new_tokens, "pad_token_id": self._pad_id}
        if first.temperature > 0:
            if first.seed is not None:
                torch.manual_seed(first.seed)
            kwargs.update(do_sample=True, temperature=first.temperature, top_p=first.top_p, top_k=0)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        with torch.inference_mode():
            generated = self._model.generate(
                input_ids=ids.to(self._device), attention_mask=mask.to(self._device), **kwargs
            )
        return [self._tokenizer.decode(g[width:], skip_special_tokens=True) for g in generated]

    async def next_token_logprobs(
        self, requests: Sequence[NextTokenRequest], hook: BatchHook | None = None
    ) -> list[dict[str, float]]:
        """Exact log-probs of each candidate after the context (chat template applied when asked)."""
        flat: list[LoglikelihoodRequest] = []
        for r in requests:
            context, _ = self._chat_prompt(r.context, r.chat)
            flat += [LoglikelihoodRequest(context, c) for c in r.candidates]
        scores = await self.loglikelihood(flat, hook)
        out: list[dict[str, float]] = []
        k = 0
        for r in requests:
            out.append({c: scores[k + j][0] for j, c in enumerate(r.candidates)})
            k += len(r.candidates)
        return out

    async def fingerprint(self) -> ModelProvenance:
        return self._provenance

    def runtime(self) -> RuntimeInfo:
        dtype = str(next(self._model.parameters()).dtype).removeprefix("torch.")
        return RuntimeInfo(
            device=self._device,
            dtype=dtype,
            batch_size=self._batch_size,
            extra={"max_length": self.max_length, "gathered_lm_head": self._gather_fast},
        )

    async def close(self) -> None:
        """The worker's model cache owns the loaded weights; a fetched model's cache pin is released here."""
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            pending = on_close()
            if pending is not None:
                await pending

    async def _in_thread(self, fn: Any, *args: Any) -> Any:
        async with self._lock:  # one batch at a time on this model
            return await asyncio.to_thread(fn, *args)
