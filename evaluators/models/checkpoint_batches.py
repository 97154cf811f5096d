"""Log-likelihood work units for a causal LM: rows (one forward each) and the positions scored in them.

A request's row is (context + continuation)[:-1], truncated from the left to the model's length, as in
lm-eval. Requests whose rows are identical share one forward pass: all one-token answers of a question (the
row is the context), and also answers like " A".." D" that a tokenizer splits into a shared first token and
one more (lm-eval groups by the same key).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Target:
    request: int
    start: int
    """Position in the row whose output predicts the continuation's first token."""
    tokens: list[int]


@dataclass
class Row:
    tokens: list[int]
    targets: list[Target] = field(default_factory=list)


def build_rows(encoded: Sequence[tuple[list[int], list[int]]], max_length: int) -> list[Row]:
    """Rows for encoded (context, continuation) pairs, longest first (OOMs show up on the first batch)."""
    shared: dict[tuple[int, ...], Row] = {}
    rows: list[Row] = []
    for index, (context, continuation) in enumerate(encoded):
        if not continuation:
            continue
        whole = (context + continuation)[-(max_length + 1) :]
        tokens = whole[:-1]
        target = Target(index, len(tokens) - len(continuation), list(continuation))
        row = shared.get(tuple(tokens))
        if row is None:
            row = shared[tuple(tokens)] = Row(tokens)
            rows.append(row)
        row.targets.append(target)
    rows.sort(key=lambda r: -len(r.tokens))
    return rows
