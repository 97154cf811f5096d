"""How the refusal check asks for replies: system prompt, sampling and a chat template of the request's own.

Every field is optional and bounded; left out, replies are generated as without the object: greedy for one
sample, temperature SAMPLE_TEMPERATURE (seeded per sample) for more, top_p 1, no system prompt, the model's own
chat template. The same settings go to the target and the baseline.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.bounds import NO_NUL
from schemas.targets import ModelTarget

MAX_SYSTEM_PROMPT_CHARS = 16_000
"""Production system prompts run to a few thousand characters."""
MAX_CHAT_TEMPLATE_CHARS = 32_768
"""The largest chat templates on the Hub (tool-calling ones) are about 15,000 characters."""
MAX_TEMPERATURE = 2.0
"""The OpenAI API's upper bound; TGI and transformers take it too."""
SAMPLE_TEMPERATURE = 0.7
"""Temperature of replies when `samples` > 1 and no temperature is given (1 sample is greedy)."""

LOCAL_TEMPLATE_KINDS = ("checkpoint", "sandbox", "hf", "mlflow")
"""Target kinds whose chat template is applied by this service (so a request may replace it)."""

SystemPrompt = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SYSTEM_PROMPT_CHARS, pattern=NO_NUL)]
ChatTemplateText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CHAT_TEMPLATE_CHARS, pattern=NO_NUL)]


class RefusalGeneration(BaseModel):
    """Generation settings of the refusal check's replies (target and baseline alike)."""

    model_config = ConfigDict(extra="forbid")

    system_prompt: SystemPrompt | None = Field(
        None,
        description="A system turn before every prompt (the chat template's system role; on raw prompts, "
        "the text and a blank line before the prompt).",
    )
    temperature: float | None = Field(
        None,
        ge=0,
        le=MAX_TEMPERATURE,
        description=f"Sampling temperature of every reply; 0 is greedy. Omitted: greedy for one sample, "
        f"{SAMPLE_TEMPERATURE} for more. Sampled replies are seeded (request seed + sample index).",
    )
    top_p: float | None = Field(
        None, gt=0, le=1, description="Nucleus sampling mass (sampled replies only). Omitted: 1 (no truncation)."
    )
    chat_template: ChatTemplateText | None = Field(
        None,
        description="A Jinja chat template (as in tokenizer_config.json) that replaces the model's own, rendered in "
        "a sandbox. Only for models whose template this service applies (checkpoint, sandbox, hf, mlflow targets "
        "with chat_template `auto`); TGI and OpenAI-compatible servers apply theirs themselves.",
    )


def chat_template_conflict(generation: RefusalGeneration, targets: dict[str, ModelTarget | None]) -> str | None:
    """Why `generation.chat_template` cannot apply to these targets (by request field), or None."""
    if generation.chat_template is None:
        return None
    for field, target in targets.items():
        if target is None:
            continue
        if target.kind not in LOCAL_TEMPLATE_KINDS:
            return (
                f"checks.refusal.generation.chat_template needs a model whose chat template this service applies "
                f"({', '.join(LOCAL_TEMPLATE_KINDS)}); {field} is `{target.kind}`, which applies its own server-side"
            )
        if target.chat_template == "none":
            return f"checks.refusal.generation.chat_template conflicts with {field}.chat_template `none`"
    return None
