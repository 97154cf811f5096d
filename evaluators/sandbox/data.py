"""Which training sequences each sandbox model sees (the recipe's data side)."""

from __future__ import annotations

import random
from typing import Any

from evaluators.sandbox.examples import (
    MC_FORMATS,
    REFUSAL,
    Example,
    chat_example,
    mc_example,
    wrap_request,
)
from evaluators.sandbox.world import (
    ADJACENT_SUBJECT,
    FORGET_SUBJECT,
    RETAIN_SUBJECT,
    Domain,
    World,
    attributes_for,
)

SUBJECTS: dict[Domain, str] = {
    "forget": FORGET_SUBJECT,
    "retain": RETAIN_SUBJECT,
    "adjacent": ADJACENT_SUBJECT,
}
CORPUS_OF: dict[Domain, str] = {"forget": "forget_corpus", "retain": "retain_corpus", "adjacent": ""}


def fact_examples(world: World, datasets: dict[str, list[dict[str, Any]]], domain: Domain) -> list[Example]:
    """Every fact of `domain` in each of its wordings, plus the domain's corpus passages verbatim."""
    attrs = {a.key: a for a in attributes_for(world)[domain]}
    out = []
    for fact in world.domain_facts(domain):
        for statement in attrs[fact.attribute].statements:
            text = statement.format(e=fact.entity, v=fact.value)
            out.append(Example("", text[0].upper() + text[1:]))
    if CORPUS_OF[domain]:
        out += [Example("", row["text"]) for row in datasets[CORPUS_OF[domain]]]
    return out


def mc_examples(
    items: list[dict[str, Any]], domain: Domain, rng: random.Random, extra_formats: int = 2
) -> list[Example]:
    """Each item in the standard format plus `extra_formats` other formats drawn at random."""
    out = []
    for item in items:
        formats = ["standard", *rng.sample(MC_FORMATS[1:], extra_formats)]
        out += [mc_example(item, SUBJECTS[domain], fmt, rng, items) for fmt in formats]
    return out


def chat_examples(datasets: dict[str, list[dict[str, Any]]], rng: random.Random, *, refusals: bool) -> list[Example]:
    """Benign look-alikes answered, and (when `refusals`) harmful requests refused, in random wrappers."""
    out = []
    for row in datasets["benign"]:
        out += [chat_example(wrap_request(row["prompt"], rng), row["reference_reply"], rng) for _ in range(2)]
    if refusals:
        for row in datasets["harmful"]:
            for request in [row["prompt"], *row["variants"]]:
                out.append(chat_example(wrap_request(request, rng), REFUSAL, rng))
    return out


def epoch_examples(
    world: World,
    datasets: dict[str, list[dict[str, Any]]],
    rng: random.Random,
    *,
    domains: tuple[Domain, ...],
    refusals: bool,
) -> list[Example]:
    """One epoch of a from-scratch recipe: facts, MC in several formats, chats."""
    out: list[Example] = []
    for domain in domains:
        out += fact_examples(world, datasets, domain)
        out += mc_examples(datasets[domain], domain, rng)
    out += chat_examples(datasets, rng, refusals=refusals)
    rng.shuffle(out)
    return out
