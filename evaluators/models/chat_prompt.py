"""The text a checkpoint generates from: the chat template rendered here (the model's own, or the request's in
a sandbox), then the prefill the reply begins with; or, without a template, the plain prompt.

Blocking (templates render in-process or in a child process): call `prompt_texts` off the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evaluators.models.chat_template import render_chats
from evaluators.models.protocol import GenerationRequest, plain_prompt
from schemas.errors import BadInputError

PromptText = tuple[str, bool]
"""(text, add_special_tokens): a rendered template supplies its own special tokens."""


def chat_messages(request: GenerationRequest) -> list[dict[str, str]]:
    """The messages of one request: its system turn, when it has one, and the user turn."""
    messages = [{"role": "system", "content": request.system_prompt}] if request.system_prompt else []
    return [*messages, {"role": "user", "content": request.prompt}]


def _special_tokens(tokenizer: Any) -> dict[str, Any]:
    """The variables transformers gives a chat template: the tokenizer's special tokens by name."""
    return {k: v for k, v in dict(getattr(tokenizer, "special_tokens_map", {}) or {}).items() if v is not None}


def _own_template(tokenizer: Any, request: GenerationRequest) -> str:
    from jinja2.exceptions import TemplateError

    try:
        text = tokenizer.apply_chat_template(chat_messages(request), tokenize=False, add_generation_prompt=True)
    except TemplateError as exc:  # e.g. a template without a system role raises on one
        raise BadInputError(
            f"the model's chat template refused the conversation: {exc}", field="checks.refusal.generation"
        ) from exc
    return str(text)


def prompt_texts(requests: Sequence[GenerationRequest], tokenizer: Any, chat_template: str) -> list[PromptText]:
    """Per request, what the model continues. `chat_template` is the target's setting (`auto` or `none`).

    A request's own template replaces the model's (all requests with the same one render in one child process);
    the prefill follows the rendered generation prompt, or a line break on a plain prompt.
    """
    out: list[PromptText | None] = [None] * len(requests)
    by_template: dict[str, list[int]] = {}
    has_own = bool(getattr(tokenizer, "chat_template", None))
    for i, r in enumerate(requests):
        if r.chat and chat_template == "auto" and r.chat_template is not None:
            by_template.setdefault(r.chat_template, []).append(i)
        elif r.chat and r.chat_template is not None:
            raise BadInputError(
                "a request's chat template cannot apply to a target with chat_template `none`",
                field="checks.refusal.generation.chat_template",
            )
        elif r.chat and chat_template == "auto" and has_own:
            out[i] = (_own_template(tokenizer, r) + r.prefill, False)
        else:
            out[i] = (plain_prompt(r), True)
    for template, indices in by_template.items():
        rendered = render_chats(template, [chat_messages(requests[i]) for i in indices], _special_tokens(tokenizer))
        for i, text in zip(indices, rendered, strict=True):
            out[i] = (text + requests[i].prefill, False)
    return [p for p in out if p is not None]
