"""Pooled groups of collateral datasets: one gated figure per group (MMLU's subjects pooled), members reported.

Gating 57 MMLU subjects one by one would make every audit inconclusive (each subject holds 100-300 items and
the simultaneous bounds widen with m), so datasets that share a `group` are pooled into one accuracy, and
each member's own figures are reported but not gated. A request's subsample is drawn from the pool,
stratified by member (a member is a subject), so a smoke audit still covers every subject in proportion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from evaluators.checks.base import LoadedDataset
from evaluators.checks.collateral.accuracy import DatasetAccuracy
from evaluators.selection import describe_sample, stratified_indices
from schemas.canonical import sha256_hex
from schemas.datasets import Sample


def sample_group(members: Sequence[LoadedDataset], sample: Sample, group: str) -> list[LoadedDataset]:
    """`sample.n` items drawn from the members together, stratified by member; each member keeps its share."""
    strata = [m.name for m in members for _ in m.items]
    total = len(strata)
    if sample.n >= total:
        return list(members)
    keep = set(stratified_indices(strata, sample.n, sample.seed, group))
    line = describe_sample(len(keep), total, sample.n, sample.seed, strata) + f" (drawn from group {group!r})"
    out, start = [], 0
    for m in members:
        items = [item for k, item in enumerate(m.items) if start + k in keep]
        start += len(m.items)
        digest = sha256_hex([item.model_dump(mode="json") for item in items])
        out.append(replace(m, items=items, sha256=digest, selection=[*m.selection, line]))
    return out


def pool(members: Sequence[DatasetAccuracy], group: str) -> DatasetAccuracy:
    """The group's pooled correctness: its members' items concatenated (target and baseline alike)."""
    target = [c for m in members for c in m.target]
    baselines = [m.baseline for m in members]
    baseline = None if any(b is None for b in baselines) else [c for b in baselines if b is not None for c in b]
    return DatasetAccuracy(group, members[0].adjacent, target, baseline)


def gated_and_members(
    data: Sequence[DatasetAccuracy], groups: Sequence[str | None]
) -> tuple[list[DatasetAccuracy], list[DatasetAccuracy]]:
    """The figures gated (ungrouped datasets, then each group pooled, in first-seen order) and the members."""
    gated = [d for d, g in zip(data, groups, strict=True) if g is None]
    members = [d for d, g in zip(data, groups, strict=True) if g is not None]
    order: list[str] = []
    for g in groups:
        if g is not None and g not in order:
            order.append(g)
    for g in order:
        gated.append(pool([d for d, dg in zip(data, groups, strict=True) if dg == g], g))
    return gated, members
