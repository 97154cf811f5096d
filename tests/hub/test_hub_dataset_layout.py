"""Which files hold a config's split, as the `datasets` library finds them: the card's `configs` (each form of
`data_files`, fsspec globs, the default config) and the conventional parquet layouts."""

from __future__ import annotations

import pytest

from evaluators.registries.hub_dataset_layout import card_configs, choose_config, conventional_configs, split_files
from schemas.errors import DatasetError

CARD = """---
configs:
- config_name: all
  data_files:
  - split: test
    path: all/test-*
  - split: dev
    path: [all/dev-*, extra/dev.parquet]
- config_name: flat
  data_files: flat/*.parquet
  default: true
---
text
"""
PATHS = [
    "all/test-00001-of-00002.parquet",
    "all/test-00000-of-00002.parquet",
    "all/dev-00000.parquet",
    "extra/dev.parquet",
    "flat/a.parquet",
    "flat/sub/b.parquet",
    "flat/.hidden.parquet",
    "README.md",
]


def test_card_configs_and_their_files_in_reading_order() -> None:
    configs = card_configs(CARD)
    assert [c.name for c in configs] == ["all", "flat"]
    assert split_files(choose_config(configs, "all", "r"), "test", PATHS, "r") == [
        "all/test-00000-of-00002.parquet",
        "all/test-00001-of-00002.parquet",
    ]
    assert split_files(configs[0], "dev", PATHS, "r") == ["all/dev-00000.parquet", "extra/dev.parquet"]
    flat = choose_config(configs, None, "r")  # the card's default
    assert flat.name == "flat" and split_files(flat, "train", PATHS, "r") == ["flat/a.parquet"]  # `*`: one segment


def test_unknown_configs_and_splits_name_what_exists() -> None:
    configs = card_configs(CARD)
    with pytest.raises(DatasetError, match="its configs: all, flat") as missing:
        choose_config(configs, "none", "r")
    assert missing.value.field == "config"
    with pytest.raises(DatasetError, match="its splits: test, dev"):
        split_files(configs[0], "validation", PATHS, "r")


def test_conventional_layouts() -> None:
    paths = ["wmdp-bio/test-00000-of-00001.parquet", "mmlu/validation/0000.parquet", "data/train-0.parquet"]
    found = {c.name: c.splits for c in conventional_configs(paths)}
    assert found == {
        "default": {"train": ("data/train-*.parquet",)},
        "mmlu": {"validation": ("mmlu/validation/*.parquet",)},
        "wmdp-bio": {"test": ("wmdp-bio/test-*.parquet",)},
    }
    assert card_configs("# no front matter") == []


def test_only_parquet_and_json_are_read() -> None:
    configs = card_configs("---\nconfigs:\n- config_name: c\n  data_files: data/*.csv\n---\n")
    with pytest.raises(DatasetError, match="only parquet and JSON"):
        split_files(configs[0], "train", ["data/x.csv"], "r")
    tofu = card_configs("---\nconfigs:\n- config_name: forget01\n  data_files: forget01.json\n---\n")
    assert split_files(tofu[0], "train", ["forget01.json", "forget05.json"], "locuslab/TOFU") == ["forget01.json"]
