"""Each dataset a request's checks would load, counted as the worker would draw it.

Files, inline items and the sandbox's builtin datasets are read here, with the request's `where`, `limit` and
`sample` applied by the worker's own loader (a collateral group's sample drawn from the pool, as the check
draws it). A Hub dataset is only pinned at submit; its rows are counted at run time, once the worker has
fetched the split.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from evaluators.checks.base import DatasetKind, LoadedDataset
from evaluators.checks.collateral.groups import sample_group
from evaluators.datasets import DatasetLoader
from evaluators.request_datasets import request_datasets
from schemas.dataset_sources import DatasetSource
from schemas.datasets import DatasetRef
from schemas.dry_run import PlannedDataset
from schemas.requests import EvaluationRequest
from service.settings import Settings

_COLLATERAL = "checks.collateral.datasets."


@dataclass
class _Entry:
    field: str
    ref: DatasetRef
    kind: DatasetKind
    loaded: LoadedDataset | None


def _group(entry: _Entry) -> str | None:
    return getattr(entry.ref, "group", None) if entry.field.startswith(_COLLATERAL) else None


def planned_datasets(
    request: EvaluationRequest, pinned: Mapping[str, DatasetSource], settings: Settings
) -> list[PlannedDataset]:
    """Every dataset of `request` (suite included) with its item count; `pinned`: Hub pins by field."""
    loader = DatasetLoader(settings.data_root_paths(), settings.resolved_sandbox_dir(), request.limit, request.sample)
    entries = []
    for field, ref, kind in request_datasets(request):
        grouped = field.startswith(_COLLATERAL) and getattr(ref, "group", None) is not None
        loaded = None if ref.hub is not None else loader(ref, kind, sample=not grouped)
        entries.append(_Entry(field, ref, kind, loaded))
    _draw_groups(entries, request)
    return [_planned(e, pinned.get(e.field)) for e in entries]


def _draw_groups(entries: list[_Entry], request: EvaluationRequest) -> None:
    """A collateral group's sample, drawn from its members together; unknown when a member is on the Hub."""
    if request.sample is None:
        return
    groups: dict[str, list[_Entry]] = {}
    for entry in entries:
        if (group := _group(entry)) is not None:
            groups.setdefault(group, []).append(entry)
    for group, members in groups.items():
        loaded = [m.loaded for m in members]
        if any(d is None for d in loaded):
            for m in members:
                m.loaded = None  # the pool's draw needs every member's rows
            continue
        drawn = sample_group([d for d in loaded if d is not None], request.sample, group)
        for m, d in zip(members, drawn, strict=True):
            m.loaded = d


def _planned(entry: _Entry, pin: DatasetSource | None) -> PlannedDataset:
    name = entry.ref.display_name()
    kind = entry.kind
    if entry.loaded is not None:
        return PlannedDataset(
            field=entry.field,
            name=name,
            kind=kind,
            n_items=len(entry.loaded.items),
            n_available=entry.loaded.n_available,
            n_user_variants=(
                sum(len([t for t in item.variants if t.strip()]) for item in entry.loaded.items)
                if kind == "prompt"
                else None
            ),
            selection=list(entry.loaded.selection),
        )
    if entry.ref.hub is not None and pin is not None:
        size = sum(f.size for f in pin.files)
        note = (
            f"counted at run time: the worker fetches the split ({len(pin.files)} parquet file(s), {size:,} bytes "
            f"at {pin.revision[:12]})"
        )
    else:
        note = (
            f"counted at run time: group {_group(entry)!r} is drawn from its members together, one of them on the Hub"
        )
    return PlannedDataset(field=entry.field, name=name, kind=kind, hub=pin, note=note)
