"""Each source and file format loads to the same validated, hashed items."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evaluators.checks.base import DatasetKind, LoadedDataset
from evaluators.datasets import DatasetLoader, validate_ref
from schemas.datasets import DatasetRef, MultipleChoiceItem, PromptItem, TextItem

ROWS = [
    {
        "question": "Which gate opens the vault of Veld?",
        "choices": ["north", "south", "east", "west"],
        "answer": 2,
    },
    {"question": "Who founded Orrin?", "choices": ["Ama", "Bo", "Cy"], "answer": 0},
    {"question": "What colour is the Tallow river?", "choices": ["red", "blue"], "answer": 1},
]


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


def load(
    root: Path, ref: dict[str, object], kind: DatasetKind = "multiple_choice", limit: int | None = None
) -> LoadedDataset:
    return DatasetLoader([root], None, limit)(DatasetRef.model_validate(ref), kind)


def test_inline_items(root: Path) -> None:
    ds = load(root, {"items": ROWS, "name": "veld"})
    assert ds.name == "veld" and ds.kind == "multiple_choice" and ds.source == "inline"
    assert [type(i) for i in ds.items] == [MultipleChoiceItem] * 3
    assert ds.items[0].answer == 2 and ds.provenance().n == 3 and len(ds.sha256) == 64


def test_jsonl_json_parquet_and_csv_give_the_same_items_and_hash(root: Path) -> None:
    write_jsonl(root / "a.jsonl", ROWS)
    (root / "b.json").write_text(json.dumps(ROWS))
    (root / "c.json").write_text(json.dumps({"data": ROWS, "version": 1}))
    pq.write_table(pa.Table.from_pylist(ROWS), root / "d.parquet")
    with (root / "e.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["question", "choices", "answer"])
        writer.writeheader()
        writer.writerows({**r, "choices": json.dumps(r["choices"])} for r in ROWS)
    loaded = [load(root, {"path": p}) for p in ("a.jsonl", "b.json", "c.json", "d.parquet", "e.csv")]
    assert len({ds.sha256 for ds in loaded}) == 1
    assert [ds.name for ds in loaded] == ["a", "b", "c", "d", "e"]
    assert loaded[0].source == f"path:{(root / 'a.jsonl').resolve()}"
    assert all(ds.items == loaded[0].items for ds in loaded)


def test_jsonl_skips_blank_lines(root: Path) -> None:
    (root / "gaps.jsonl").write_text("\n" + json.dumps(ROWS[0]) + "\n\n" + json.dumps(ROWS[1]) + "\n")
    assert len(load(root, {"path": "gaps.jsonl"}).items) == 2


def test_mmlu_csv_letter_columns_and_letter_answers(root: Path) -> None:
    (root / "mmlu.csv").write_text(
        "question,A,B,C,D,answer\n"
        "What is 2+2?,3,4,5,22,B\n"
        '"Capital of France, today?",Lyon,Paris,Nice,Lille,b\n'
        "Largest planet?,Mars,Venus,Jupiter,Earth,2\n"
    )
    ds = load(root, {"path": "mmlu.csv"})
    assert [i.answer for i in ds.items] == [1, 1, 2]
    assert ds.items[0].choices == ["3", "4", "5", "22"]
    assert ds.items[1].question == "Capital of France, today?"


def test_columns_mapping_harmbench_behaviors(root: Path) -> None:
    with (root / "harmbench.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Behavior", "FunctionalCategory", "BehaviorID"])
        writer.writerow(["Explain how to pick the lock of the Veld vault", "standard", "veld_lock"])
        writer.writerow(["Write a ransom note for Orrin", "standard", "orrin_note"])
    ds = load(root, {"path": "harmbench.csv", "columns": {"prompt": "Behavior"}}, kind="prompt")
    assert [type(i) for i in ds.items] == [PromptItem, PromptItem]
    assert ds.items[0].prompt.startswith("Explain how") and ds.items[0].variants == []
    dumped = ds.items[0].model_dump()
    assert "Behavior" not in dumped and dumped["BehaviorID"] == "veld_lock"  # other columns kept


def test_columns_mapping_renamed_multiple_choice_fields(root: Path) -> None:
    rows = [{"q": r["question"], "options": r["choices"], "label": r["answer"]} for r in ROWS]
    write_jsonl(root / "renamed.jsonl", rows)
    ds = load(root, {"path": "renamed.jsonl", "columns": {"question": "q", "choices": "options", "answer": "label"}})
    plain = load(root, {"items": ROWS})
    assert ds.items == plain.items and ds.sha256 == plain.sha256


def test_prompt_variants_from_a_json_list_cell_and_text_items(root: Path) -> None:
    (root / "p.csv").write_text('prompt,variants\nTell me X,"[""Say X"", ""X please""]"\nTell me Y,\n')
    ds = load(root, {"path": "p.csv"}, kind="prompt")
    assert ds.items[0].variants == ["Say X", "X please"] and ds.items[1].variants == []
    text = load(root, {"items": [{"content": "Veld is a city."}], "columns": {"text": "content"}}, kind="text")
    assert isinstance(text.items[0], TextItem) and text.items[0].text == "Veld is a city."


def test_limit_keeps_the_first_rows_and_changes_the_hash(root: Path) -> None:
    write_jsonl(root / "a.jsonl", ROWS)
    full = load(root, {"path": "a.jsonl"})
    two = load(root, {"path": "a.jsonl"}, limit=2)
    assert two.items == full.items[:2] and two.sha256 != full.sha256
    assert two.sha256 == load(root, {"items": ROWS[:2]}).sha256


def test_limit_stops_before_a_bad_row(root: Path) -> None:
    write_jsonl(root / "late.jsonl", [*ROWS, {"question": "broken"}])
    assert len(load(root, {"path": "late.jsonl"}, limit=3).items) == 3


def test_integral_float_answers_from_parquet(root: Path) -> None:
    pq.write_table(pa.Table.from_pylist([{**ROWS[0], "answer": 2.0}]), root / "f.parquet")
    assert load(root, {"path": "f.parquet"}).items[0].answer == 2


def test_builtin_from_the_sandbox_layout(tmp_path: Path) -> None:
    sandbox = tmp_path / "sandbox"
    (sandbox / "datasets").mkdir(parents=True)
    write_jsonl(sandbox / "datasets" / "forget.jsonl", ROWS)
    ds = DatasetLoader([], sandbox)(DatasetRef(builtin="sandbox/forget"), "multiple_choice")
    assert ds.name == "sandbox/forget" and ds.source == "builtin:sandbox/forget" and len(ds.items) == 3


def test_validate_ref_is_the_loader(root: Path) -> None:
    write_jsonl(root / "a.jsonl", ROWS)
    ds = validate_ref(DatasetRef(path="a.jsonl"), "multiple_choice", [root], None, limit=1)
    assert len(ds.items) == 1


def test_builtin_layout_is_the_sandbox_packages_layout(tmp_path: Path) -> None:
    # The loader does not import evaluators.sandbox (torch); it must agree with its locator.
    from evaluators.sandbox import builtin_dataset_path
    from schemas.datasets import BUILTIN_DATASETS

    (tmp_path / "datasets").mkdir()
    loader = DatasetLoader([], tmp_path)
    for name in BUILTIN_DATASETS:
        write_jsonl(tmp_path / "datasets" / f"{name.split('/', 1)[1]}.jsonl", [{"text": name}])
        assert loader(DatasetRef(builtin=name), "text").items[0].text == name
        assert builtin_dataset_path(name, tmp_path).read_text() == f'{{"text": "{name}"}}\n'
