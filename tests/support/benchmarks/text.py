"""Deterministic filler text from the tiny checkpoint's training sentences (tests.support.models.SENTENCES), so
that its tokenizer covers every word."""

from __future__ import annotations

import random

from tests.support.models import SENTENCES

WORDS = sorted({w.strip(".,:?") for s in SENTENCES for w in s.split()} - {""})


def words(rng: random.Random, low: int, high: int) -> str:
    """Between `low` and `high` words, space-separated."""
    return " ".join(rng.choices(WORDS, k=rng.randint(low, high)))


def question(rng: random.Random) -> str:
    return words(rng, 4, 12) + "?"


def choices(rng: random.Random, n: int = 4) -> list[str]:
    return [words(rng, 1, 4) for _ in range(n)]
