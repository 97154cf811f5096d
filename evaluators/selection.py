"""Choosing rows of a dataset: a column filter (`where`) and a seeded, stratified subsample (`sample`).

The subsample spreads `n` over the strata (an item's subject for multiple choice, its category for
prompts; one stratum when items carry neither) in proportion to their sizes, rounding by largest
remainder, and draws each stratum's share with a generator seeded by (seed, dataset, stratum), so the same
seed draws the same items from the same data whatever else the request holds. Kept items stay in their
dataset order.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from typing import Any

STRATUM_FIELDS = ("subject", "category")
"""The item fields that name a stratum, first found wins."""


def stratum_of(row: Mapping[str, Any]) -> str:
    """The stratum a row belongs to: its subject or category, else the one stratum ``""``."""
    for field in STRATUM_FIELDS:
        value = row.get(field)
        if value is not None and value != "":
            return str(value)
    return ""


def allocate(sizes: Mapping[str, int], n: int) -> dict[str, int]:
    """Items per stratum: proportional to its size, largest remainder first (ties by stratum name)."""
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    exact = {s: n * size / total for s, size in sizes.items()}
    shares = {s: int(x) for s, x in exact.items()}
    left = n - sum(shares.values())
    for s in sorted(sizes, key=lambda s: (-(exact[s] - shares[s]), s))[:left]:
        shares[s] += 1
    return shares


def _rng(seed: int, dataset: str, stratum: str) -> random.Random:
    key = hashlib.sha256(f"{seed}\x00{dataset}\x00{stratum}".encode()).digest()
    return random.Random(int.from_bytes(key[:8], "big"))


def stratified_indices(strata: Sequence[str], n: int, seed: int, dataset: str) -> list[int]:
    """Indices (ascending) of a seeded sample of `n` rows whose strata are `strata`."""
    members: dict[str, list[int]] = {}
    for i, s in enumerate(strata):
        members.setdefault(s, []).append(i)
    shares = allocate({s: len(rows) for s, rows in members.items()}, n)
    chosen: list[int] = []
    for s, rows in members.items():
        chosen += _rng(seed, dataset, s).sample(rows, shares[s])
    return sorted(chosen)


def matches(row: Mapping[str, Any], where: Mapping[str, Sequence[str]]) -> bool:
    """Whether a raw row holds, in every filtered column, one of the wanted values (compared as text)."""
    return all(str(row.get(column)) in values for column, values in where.items())


def describe_sample(n_kept: int, n_from: int, n: int, seed: int, strata: Sequence[str]) -> str:
    """The scorecard's line for a subsample."""
    by = f" stratified over {len(set(strata))} strata" if len(set(strata)) > 1 else ""
    return f"sample: {n_kept} of {n_from} (n={n}, seed={seed}){by}"
