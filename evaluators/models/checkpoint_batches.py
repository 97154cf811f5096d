"""Log-likelihood work units for a causal LM: rows (one forward each) and the positions scored in them.

All one-token continuations that share a context are scored from one row over the context, so a
multiple-choice question with one-token answers costs one forward pass. Longer continuations get a row over
(context + continuation)[:-1], truncated from the left to the model's length, as lm-eval does.
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
        if len(continuation) == 1:
            row = shared.get(tuple(tokens))
            if row is None:
                row = shared[tuple(tokens)] = Row(tokens)
                rows.append(row)
            row.targets.append(target)
        else:
            rows.append(Row(tokens, [target]))
    rows.sort(key=lambda r: -len(r.tokens))
    return rows
