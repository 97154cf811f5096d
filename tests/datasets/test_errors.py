"""Every way a dataset can be wrong gives a DatasetError (or a path error) that names the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluators.checks.base import DatasetKind, LoadedDataset
from evaluators.datasets import DatasetLoader
from schemas.datasets import DatasetRef
from schemas.errors import DatasetError, PathNotAllowedError
from service.errors import status_of

GOOD = {"question": "Who founded Orrin?", "choices": ["Ama", "Bo", "Cy", "Di"], "answer": 0}


def load(
    roots: list[Path],
    ref: dict[str, object],
    kind: DatasetKind = "multiple_choice",
    sandbox: Path | None = None,
) -> LoadedDataset:
    return DatasetLoader(roots, sandbox)(DatasetRef.model_validate(ref), kind)


@pytest.mark.parametrize(
    "bad_row,message,field",
    [
        ({**GOOD, "answer": 5}, "dataset 'wmdp': row 3: answer index 5 is out of range for 4 choices", None),
        ({"question": "q", "answer": 0}, "dataset 'wmdp': row 3: missing field 'choices'", "choices"),
        (
            {**GOOD, "choices": ["only one"]},
            "dataset 'wmdp': row 3: choices: List should have at least 2",
            "choices",
        ),
        (
            {**GOOD, "question": ""},
            "dataset 'wmdp': row 3: question: String should have at least 1",
            "question",
        ),
        (
            {**GOOD, "answer": -1},
            "dataset 'wmdp': row 3: answer: Input should be greater than or equal to 0",
            "answer",
        ),
        ({**GOOD, "answer": "maybe"}, "dataset 'wmdp': row 3: answer 'maybe' is neither", "answer"),
        ({**GOOD, "answer": True}, "dataset 'wmdp': row 3: answer must be a 0-based index", "answer"),
        ({**GOOD, "answer": "F"}, "dataset 'wmdp': row 3: answer index 5 is out of range", None),
        (
            {**GOOD, "choices": "a, b, c"},
            "dataset 'wmdp': row 3: choices must be a list or a JSON list",
            "choices",
        ),
        (
            {**GOOD, "choices": '{"a": 1}'},
            "dataset 'wmdp': row 3: choices must be a list, got dict",
            "choices",
        ),
    ],
)
def test_bad_rows_name_dataset_row_and_field(bad_row: object, message: str, field: str | None) -> None:
    items = [GOOD, GOOD, GOOD, bad_row]
    with pytest.raises(DatasetError) as err:
        load([], {"items": items, "name": "wmdp"})
    assert err.value.message.startswith(message), err.value.message
    assert err.value.field == (f"items.3.{field}" if field else "items.3") and status_of(type(err.value)) == 422


def test_missing_mapped_column(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"row 0: column 'Behavior' \(mapped to 'prompt'\) is missing"):
        load([], {"items": [{"behavior": "x"}], "columns": {"prompt": "Behavior"}}, kind="prompt")


def test_prompt_and_text_rows() -> None:
    with pytest.raises(DatasetError, match="row 1: missing field 'prompt'"):
        load([], {"items": [{"prompt": "a"}, {"text": "b"}]}, kind="prompt")
    with pytest.raises(DatasetError, match="row 0: missing field 'text'"):
        load([], {"items": [{"prompt": "a"}]}, kind="text")


def test_bad_jsonl_line_is_named_by_line_number(tmp_path: Path) -> None:
    (tmp_path / "x.jsonl").write_text(json.dumps(GOOD) + "\n\n{not json\n")
    with pytest.raises(DatasetError, match=r"dataset 'x': line 3: not valid JSON"):
        load([tmp_path], {"path": "x.jsonl"})


def test_json_of_the_wrong_shape(tmp_path: Path) -> None:
    (tmp_path / "obj.json").write_text(json.dumps({"rows": [GOOD]}))
    with pytest.raises(DatasetError, match=r"must be a list of rows"):
        load([tmp_path], {"path": "obj.json"})
    (tmp_path / "broken.json").write_text("[{")
    with pytest.raises(DatasetError, match="not a readable UTF-8 JSON file"):
        load([tmp_path], {"path": "broken.json"})


def test_empty_files_and_unsupported_formats(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(DatasetError, match="dataset 'empty' has no rows"):
        load([tmp_path], {"path": "empty.jsonl"})
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DatasetError, match=r"unsupported format '\.txt'"):
        load([tmp_path], {"path": "notes.txt"})


def test_csv_problems(tmp_path: Path) -> None:
    (tmp_path / "ragged.csv").write_text('question,choices,answer\nq,"[""a"",""b""]",0,extra\n')
    with pytest.raises(DatasetError, match="row 0: more cells than the header"):
        load([tmp_path], {"path": "ragged.csv"})
    (tmp_path / "latin1.csv").write_bytes("question,A,B,answer\ncaf\xe9,a,b,A\n".encode("latin-1"))
    with pytest.raises(DatasetError, match="not UTF-8"):
        load([tmp_path], {"path": "latin1.csv"})


def test_corrupt_parquet(tmp_path: Path) -> None:
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DatasetError, match="not a readable parquet file"):
        load([tmp_path], {"path": "bad.parquet"})


def test_missing_file_and_path_outside_roots(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    with pytest.raises(DatasetError, match=r"'gone\.jsonl' does not exist"):
        load([root], {"path": "gone.jsonl"})
    (tmp_path / "secret.jsonl").write_text(json.dumps(GOOD) + "\n")
    with pytest.raises(PathNotAllowedError):
        load([root], {"path": str(tmp_path / "secret.jsonl")})
    with pytest.raises(PathNotAllowedError, match="UNLEARN_AUDIT_DATA_ROOTS"):
        load([], {"path": "anything.jsonl"})


def test_builtin_without_sandbox_or_not_built(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no sandbox directory is configured"):
        load([], {"builtin": "sandbox/forget"})
    with pytest.raises(DatasetError, match="'sandbox/retain' is not built"):
        load([], {"builtin": "sandbox/retain"}, sandbox=tmp_path)


def test_a_row_that_is_not_an_object(tmp_path: Path) -> None:
    (tmp_path / "wmdp.jsonl").write_text(json.dumps(GOOD) + "\n" + json.dumps(["not", "an", "object"]) + "\n")
    with pytest.raises(DatasetError, match="dataset 'wmdp': row 1: expected an object with fields, got list"):
        load([tmp_path], {"path": "wmdp.jsonl"})
    (tmp_path / "mc.jsonl").write_text(json.dumps({**GOOD, "answer": 9}) + "\n")
    with pytest.raises(DatasetError, match="dataset 'mc': row 0: answer index 9") as err:
        load([tmp_path], {"path": "mc.jsonl"})
    assert err.value.field is None  # a file row is not a request field; the message names the row
