"""A request's own chat template, rendered in a sandboxed Jinja environment in a limited child process.

The template comes from the user, so it is hostile input: Jinja's ImmutableSandboxedEnvironment (the one
transformers uses) refuses attribute escapes, and the child process (`chat_template_child`) bounds what the
sandbox does not: CPU time, memory and the rendered length. The environment mirrors transformers', so a
template that renders there renders the same here. Any failure is a BadInputError naming the field.
A model's own template (from its checkpoint, which the operator chose to load) is rendered by transformers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from schemas.errors import BadInputError

FIELD = "checks.refusal.generation.chat_template"
CPU_S = 5
"""CPU seconds per render call (real templates take milliseconds for a batch)."""
WALL_S = 20.0
MEMORY_BYTES = 768 * 2**20
"""Address space of the child: the interpreter and jinja2 take about 50 MiB of it."""
MAX_RENDERED_CHARS = 1_000_000
_CHILD = Path(__file__).with_name("chat_template_child.py")

Conversation = Sequence[Mapping[str, str]]

PROBE_CONVERSATION: list[dict[str, str]] = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "How do I bake bread?"},
]
"""What `check_chat_template` renders: a system and a user turn, as the refusal check sends them."""


def render_chats(
    template: str,
    conversations: Sequence[Conversation],
    variables: Mapping[str, Any] | None = None,
    *,
    add_generation_prompt: bool = True,
    cpu_s: int = CPU_S,
) -> list[str]:
    """Each conversation rendered with `template` (plus `variables`, e.g. the tokenizer's special tokens).

    Blocking (one child process per call): call it off the event loop. Raises BadInputError for a template
    that does not parse, escapes the sandbox, raises, or exceeds its time, memory or length budget.
    """
    if not conversations:
        return []
    job = {
        "template": template,
        "conversations": [list(map(dict, c)) for c in conversations],
        "variables": dict(variables or {}),
        "add_generation_prompt": add_generation_prompt,
        "cpu_s": cpu_s,
        "memory_bytes": MEMORY_BYTES,
        "max_chars": MAX_RENDERED_CHARS,
    }
    try:
        done = subprocess.run(
            [sys.executable, "-I", str(_CHILD)],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            timeout=WALL_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BadInputError(f"the chat template did not render within {WALL_S:.0f} s", field=FIELD) from exc
    if done.returncode != 0:
        # SIGXCPU / SIGKILL at the CPU limit, or an allocation the address-space limit refused outright.
        raise BadInputError(
            f"the chat template exceeded its budget ({cpu_s} s CPU, {MEMORY_BYTES // 2**20} MiB) while rendering",
            field=FIELD,
        )
    answer = json.loads(done.stdout)
    if "error" in answer:
        raise BadInputError(f"chat template refused ({answer['error']}): {answer['message']}", field=FIELD)
    rendered: list[str] = answer["rendered"]
    return rendered


def check_chat_template(template: str, *, cpu_s: int = CPU_S) -> None:
    """Parse and render `template` once on PROBE_CONVERSATION; BadInputError (with the field) if it cannot."""
    render_chats(template, [PROBE_CONVERSATION], {"bos_token": "<s>", "eos_token": "</s>"}, cpu_s=cpu_s)
