"""Which files of a Hub dataset repository hold a config's split, found the way the `datasets` library finds them.

First the dataset card: README.md's YAML front matter may list `configs:`, each with a `config_name`,
`data_files` (a list of `{split, path}` where `path` is a glob or a list of globs; or a glob or list of globs,
which is the `train` split) and optionally `default: true`. Without that list, the conventional layouts:
`{config}/{split}-*.parquet`, `{config}/{split}/*.parquet` and `data/{split}-*.parquet` (the `default` config).
Globs are fsspec's: `*` and `?` stay inside one path segment, `**` crosses them. A pattern's matches are read
in sorted order, patterns in the order listed. Pure functions: no network.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from schemas.errors import DatasetError, excerpt

READABLE_SUFFIXES = (".parquet", ".json", ".jsonl")
"""Data files the loader reads: parquet, and JSON (a list of rows, or JSON Lines as `datasets`' json builder reads)."""

DEFAULT_SPLIT = "train"
"""The split of `data_files` given without splits (as `datasets` names it)."""


@dataclass(frozen=True)
class ConfigLayout:
    """One config: its splits' glob patterns, and whether the card marks it the default."""

    name: str
    splits: dict[str, tuple[str, ...]] = field(default_factory=dict)
    default: bool = False


def front_matter(readme: str) -> dict[str, Any]:
    """The YAML front matter of a dataset card ({} when it has none or it is not a mapping)."""
    import yaml

    match = re.match(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(\r?\n|\Z)", readme, re.DOTALL)
    if match is None:
        return {}
    try:
        data = yaml.safe_load(match[1])
    except yaml.YAMLError as exc:
        raise DatasetError(f"the dataset card's YAML front matter cannot be read ({exc})", field="repo") from None
    return data if isinstance(data, dict) else {}


def card_configs(readme: str) -> list[ConfigLayout]:
    """The configs README.md's front matter lists ([] when it lists none)."""
    listed = front_matter(readme).get("configs")
    if not isinstance(listed, list):
        return []
    configs = []
    for entry in listed:
        if not isinstance(entry, dict) or not isinstance(entry.get("config_name", "default"), str):
            raise DatasetError(f"the dataset card lists a config that is not a mapping: {excerpt(entry)}", field="repo")
        configs.append(
            ConfigLayout(
                name=entry.get("config_name", "default"),
                splits=_card_splits(entry.get("data_files")),
                default=entry.get("default") is True,
            )
        )
    return configs


def _card_splits(data_files: Any) -> dict[str, tuple[str, ...]]:
    if isinstance(data_files, str):
        return {DEFAULT_SPLIT: (data_files,)}
    if isinstance(data_files, dict):  # an older form: {split: pattern(s)}
        return {str(k): _patterns(v) for k, v in data_files.items()}
    splits: dict[str, tuple[str, ...]] = {}
    for item in data_files if isinstance(data_files, list) else []:
        if isinstance(item, str):
            splits[DEFAULT_SPLIT] = (*splits.get(DEFAULT_SPLIT, ()), item)
        elif isinstance(item, dict) and "path" in item:
            split = str(item.get("split", DEFAULT_SPLIT))
            splits[split] = (*splits.get(split, ()), *_patterns(item["path"]))
    return splits


def _patterns(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def conventional_configs(paths: Sequence[str]) -> list[ConfigLayout]:
    """The configs the conventional parquet layouts give `paths` (repository file paths)."""
    found: dict[str, dict[str, tuple[str, ...]]] = {}
    for path in paths:
        parts = path.split("/")
        if not path.endswith(".parquet") or len(parts) not in (2, 3):
            continue
        if len(parts) == 2 and "-" in parts[1]:  # {config}/{split}-*.parquet, data/{split}-*.parquet
            config, split = parts[0], parts[1].split("-", 1)[0]
            pattern = f"{config}/{split}-*.parquet"
        elif len(parts) == 3 and parts[0] != "data":  # {config}/{split}/*.parquet
            config, split = parts[0], parts[1]
            pattern = f"{config}/{split}/*.parquet"
        else:
            continue
        name = "default" if config == "data" else config
        if split:
            found.setdefault(name, {})[split] = (pattern,)
    return [ConfigLayout(name=n, splits=s) for n, s in sorted(found.items())]


def choose_config(configs: Sequence[ConfigLayout], requested: str | None, repo: str) -> ConfigLayout:
    """The config `requested` names, or (None) the only one, the card's default, or one named `default`."""
    names = ", ".join(c.name for c in configs) or "none"
    if requested is not None:
        for config in configs:
            if config.name == requested:
                return config
        raise DatasetError(
            f"Hub dataset {excerpt(repo)} has no config {excerpt(requested)}; its configs: {names}", field="config"
        )
    if len(configs) == 1:
        return configs[0]
    chosen = [c for c in configs if c.default] or [c for c in configs if c.name == "default"]
    if len(chosen) == 1:
        return chosen[0]
    raise DatasetError(
        f"Hub dataset {excerpt(repo)} has several configs and no default; name one in `config`: {names}",
        field="config",
    )


def split_files(config: ConfigLayout, split: str, paths: Sequence[str], repo: str) -> list[str]:
    """The data files of `split` among `paths`, in reading order; DatasetError naming the splits there are,
    or the files that are neither parquet nor JSON (TOFU publishes JSON Lines as `.json`)."""
    if split not in config.splits:
        raise DatasetError(
            f"Hub dataset {excerpt(repo)} config {excerpt(config.name)} has no split {excerpt(split)}; its splits: "
            f"{', '.join(config.splits) or 'none'}",
            field="split",
        )
    chosen: list[str] = []
    for pattern in config.splits[split]:
        regex = _glob_regex(pattern.lstrip("/"))
        chosen += [p for p in sorted(paths) if regex.fullmatch(p) and p not in chosen and not _hidden(p)]
    if not chosen:
        raise DatasetError(
            f"Hub dataset {excerpt(repo)} config {excerpt(config.name)} split {excerpt(split)}: no file matches "
            f"{', '.join(config.splits[split])}",
            field="split",
        )
    other = [p for p in chosen if not p.endswith(READABLE_SUFFIXES)]
    if other:
        raise DatasetError(
            f"Hub dataset {excerpt(repo)} config {excerpt(config.name)} split {excerpt(split)} is stored as "
            f"{excerpt(other[0])}; only parquet and JSON files are read (the Hub's refs/convert/parquet revision "
            "has parquet)",
            field="split",
        )
    return chosen


def _hidden(path: str) -> bool:
    return any(part.startswith((".", "__")) for part in path.split("/"))


@cache
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """fsspec's glob: `**` any path, `*` and `?` within one segment, `[...]` a character class."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end].replace("\\", "\\\\")
            out.append(f"[^{body[1:]}]" if body.startswith("!") else f"[{body}]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))
