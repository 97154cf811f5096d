"""A request's chat template is hostile input: sandbox escapes, CPU and memory bombs are refused cleanly
(a 4xx naming the field, at submit and at render), and an honest template renders as transformers renders it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from evaluators.models.chat_template import FIELD, check_chat_template, render_chats
from schemas.errors import BadInputError
from service.app import create_app
from service.settings import Settings
from service.store import SqlJobStore
from tests.api.helpers import API_KEYS, bearer, serve_in_loop

ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ messages.__class__.__base__.__subclasses__() }}",
    "{% set ns = namespace(_hidden=1) %}{{ ns }}",
    "{{ dict.__call__.__globals__ }}",
    "{{ (messages|first).update({'role': 'system'}) }}",
]
"""Attribute escapes the sandbox refuses (the last: mutating a message, refused by the immutable sandbox)."""

BOMBS = [
    "{{ 'a' * 10**10 }}",
    "{{ 'a'.ljust(10**10) }}",
    "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
]
"""Memory bombs: the child process's address-space limit stops them."""

HF_STYLE = (
    "{{ bos_token }}{% for m in messages %}{% if m['role'] not in ['system', 'user', 'assistant'] %}"
    "{{ raise_exception('unknown role') }}{% endif %}{% if loop.index0 > 5 %}{% break %}{% endif %}"
    "{% set ns = namespace(n=loop.index) %}<|{{ m['role'] }}|>{{ m['content'] | trim }}{{ ns.n | tojson }}\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% generation %}{% endgeneration %}{% endif %}"
)
"""What real templates use: special tokens, raise_exception, loop controls, namespace, tojson, generation."""


@pytest.mark.parametrize("template", ESCAPES)
def test_sandbox_escapes_are_refused_naming_the_field(template: str) -> None:
    with pytest.raises(BadInputError, match=r"security|template") as caught:
        check_chat_template(template)
    assert caught.value.field == FIELD


@pytest.mark.parametrize("reach", ["self._TemplateReference__context", "raise_exception.__globals__"])
def test_private_attributes_render_as_nothing(reach: str) -> None:
    """Jinja's sandbox makes an underscore attribute undefined (empty when printed, as transformers renders it)."""
    assert render_chats(f"[{{{{ {reach} }}}}]", [[{"role": "user", "content": "x"}]]) == ["[]"]


@pytest.mark.parametrize("template", BOMBS)
def test_memory_bombs_are_refused(template: str) -> None:
    with pytest.raises(BadInputError, match=r"memory|budget"):
        check_chat_template(template)


def test_a_cpu_bomb_is_stopped_at_its_cpu_budget() -> None:
    loops = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    with pytest.raises(BadInputError, match="budget"):
        check_chat_template(loops, cpu_s=1)


def test_syntax_errors_and_the_templates_own_exceptions_are_refused() -> None:
    with pytest.raises(BadInputError, match="syntax"):
        check_chat_template("{% if %}")
    with pytest.raises(BadInputError, match="no system turn here"):
        check_chat_template(
            "{% if messages[0]['role'] == 'system' %}{{ raise_exception('no system turn here') }}{% endif %}"
        )


def test_an_honest_template_renders_as_transformers_renders_it(tiny_checkpoint: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer: Any = AutoTokenizer.from_pretrained(tiny_checkpoint)
    chats = [
        [{"role": "user", "content": " hello "}],
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": 'Quote "this" and é.'}],
    ]
    ours = render_chats(HF_STYLE, chats, tokenizer.special_tokens_map)
    theirs = [
        tokenizer.apply_chat_template(c, chat_template=HF_STYLE, tokenize=False, add_generation_prompt=True)
        for c in chats
    ]
    assert ours == theirs
    assert ours[0] == "<s><|user|>hello1\n<|assistant|>\n"


@pytest.fixture
async def api(tmp_path: Path, sqlite_store: SqlJobStore) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(data_dir=tmp_path / "data", api_keys=API_KEYS)
    async with serve_in_loop(create_app(settings, sqlite_store)) as client:
        yield client


@pytest.mark.parametrize("template", [ESCAPES[0], ESCAPES[1], BOMBS[0], "{% for %}"])
async def test_hostile_templates_are_4xx_at_submit(api: httpx.AsyncClient, template: str) -> None:
    body = {
        "target": {"kind": "sandbox", "name": "base"},
        "checks": {"refusal": {"harmful": {"items": [{"prompt": "p"}]}, "generation": {"chat_template": template}}},
    }
    resp = await api.post("/v1/evaluations", json=body, headers=bearer("submitter"))
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["field"] == FIELD and "chat template" in error["message"], error
