"""Parquet files and dataset cards as `datasets.push_to_hub` writes them: each file carries the `huggingface`
schema metadata (the features as JSON) and the card's YAML front matter has `dataset_info` and `configs`.

Features are given in the card's YAML form (`{"name": …, "dtype": "string"}`, `{"name": …, "sequence": "string"}`,
`{"name": …, "dtype": {"class_label": {"names": {"0": "A", …}}}}`), the form of the published cards, which were
written by datasets 2.x (`sequence:`, `"_type": "Sequence"`), not by the installed 5.x (`list:`, `"_type": "List"`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

Feature = dict[str, Any]
"""One feature as the card's YAML lists it."""


def _arrow_type(feature: Feature) -> pa.DataType:
    if "sequence" in feature:
        return pa.list_(pa.string() if feature["sequence"] == "string" else pa.int64())
    dtype = feature["dtype"]
    if isinstance(dtype, dict):  # class_label: stored as int64
        return pa.int64()
    return {"string": pa.string(), "int64": pa.int64()}[dtype]


def _features_json(features: Sequence[Feature]) -> dict[str, Any]:
    """The features as datasets 2.x serialised them into a parquet file's `huggingface` metadata."""
    out: dict[str, Any] = {}
    for f in features:
        if "sequence" in f:
            out[f["name"]] = {"feature": {"dtype": f["sequence"], "_type": "Value"}, "_type": "Sequence"}
        elif isinstance(f["dtype"], dict):
            names = f["dtype"]["class_label"]["names"]
            out[f["name"]] = {"names": [names[k] for k in sorted(names, key=int)], "_type": "ClassLabel"}
        else:
            out[f["name"]] = {"dtype": f["dtype"], "_type": "Value"}
    return out


@dataclass(frozen=True)
class Split:
    """One split of one config: its rows (column name → values) and where its parquet file lives."""

    name: str
    path: str
    """The parquet file's path in the repository, e.g. `wmdp-bio/test-00000-of-00001.parquet`."""
    rows: Mapping[str, list[Any]]


def parquet_bytes(features: Sequence[Feature], rows: Mapping[str, list[Any]]) -> bytes:
    """One parquet file of `rows` with the `huggingface` metadata for `features` (deterministic bytes)."""
    schema = pa.schema(
        [pa.field(f["name"], _arrow_type(f)) for f in features],
        metadata={"huggingface": json.dumps({"info": {"features": _features_json(features)}})},
    )
    table = pa.Table.from_pydict({f["name"]: rows[f["name"]] for f in features}, schema=schema)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="snappy")
    return buffer.getvalue()


def arrow_size(features: Sequence[Feature], rows: Mapping[str, list[Any]]) -> int:
    """The rows' size in Arrow memory (what a card's `num_bytes` reports)."""
    schema = pa.schema([pa.field(f["name"], _arrow_type(f)) for f in features])
    return int(pa.Table.from_pydict(dict(rows), schema=schema).nbytes)


def dataset_files(
    configs: Mapping[str, list[Split]],
    features: Sequence[Feature] | Mapping[str, Sequence[Feature]],
    card_head: Mapping[str, Any],
    body: str,
) -> dict[str, bytes]:
    """The repository's files: every split's parquet file and a README.md whose front matter is `card_head`
    followed by `dataset_info` (one entry per config, sizes computed) and `configs` (each split's files as a
    `{folder}/{split}-*` pattern, as push_to_hub writes them). `features`: one list for every config, or per config."""
    files: dict[str, bytes] = {}
    infos: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    by_config = features if isinstance(features, Mapping) else dict.fromkeys(configs, features)
    for config, splits in configs.items():
        features = by_config[config]
        split_infos, download = [], 0
        for split in splits:
            data = parquet_bytes(features, split.rows)
            files[split.path] = data
            download += len(data)
            n = len(next(iter(split.rows.values())))
            split_infos.append({"name": split.name, "num_bytes": arrow_size(features, split.rows), "num_examples": n})
        infos.append(
            {
                "config_name": config,
                "features": [dict(f) for f in features],
                "splits": split_infos,
                "download_size": download,
                "dataset_size": sum(s["num_bytes"] for s in split_infos),
            }
        )
        data_files = [{"split": s.name, "path": s.path.rsplit("-00000-of-", 1)[0] + "-*"} for s in splits]
        entries.append({"config_name": config, "data_files": data_files})
    # A card with only the `default` config has its dataset_info as one mapping, without a config name.
    info: Any = {k: v for k, v in infos[0].items() if k != "config_name"} if list(configs) == ["default"] else infos
    front = {**card_head, "dataset_info": info, "configs": entries}
    text = "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n\n" + body
    files["README.md"] = text.encode()
    return files
