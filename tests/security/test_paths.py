"""Path confinement with real directories and symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evaluators.paths import resolve_inside
from schemas.errors import BadInputError, DatasetError, PathNotAllowedError
from service.errors import status_of


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    root = tmp_path / "data"
    outside = tmp_path / "secret"
    root.mkdir()
    outside.mkdir()
    (root / "wmdp.jsonl").write_text("{}\n")
    (root / "sub").mkdir()
    (root / "sub" / "mmlu.csv").write_text("question\n")
    (outside / "passwd").write_text("root:x\n")
    return {"root": root, "outside": outside}


def test_absolute_and_relative_paths_inside_a_root(layout: dict[str, Path]) -> None:
    root = layout["root"]
    assert resolve_inside(str(root / "wmdp.jsonl"), [root], "dataset") == (root / "wmdp.jsonl").resolve()
    assert resolve_inside("sub/mmlu.csv", [root], "dataset") == (root / "sub" / "mmlu.csv").resolve()


def test_relative_path_is_found_in_a_later_root(layout: dict[str, Path], tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    assert resolve_inside("wmdp.jsonl", [other, layout["root"]], "dataset").parent == layout["root"].resolve()


def test_dotdot_is_refused_even_when_it_would_stay_inside(layout: dict[str, Path]) -> None:
    root = layout["root"]
    with pytest.raises(PathNotAllowedError, match=r"'\.\.'"):
        resolve_inside(str(root / ".." / "secret" / "passwd"), [root], "dataset")
    with pytest.raises(PathNotAllowedError):
        resolve_inside("sub/../wmdp.jsonl", [root], "dataset")


def test_absolute_path_outside_is_refused_naming_the_setting(layout: dict[str, Path]) -> None:
    target = str(layout["outside"] / "passwd")
    with pytest.raises(PathNotAllowedError, match="UNLEARN_AUDIT_DATA_ROOTS") as err:
        resolve_inside(target, [layout["root"]], "dataset")
    assert target in err.value.message and status_of(type(err.value)) == 403


def test_symlink_pointing_out_is_refused(layout: dict[str, Path]) -> None:
    root = layout["root"]
    os.symlink(layout["outside"] / "passwd", root / "innocent.jsonl")
    os.symlink(layout["outside"], root / "linkdir")
    with pytest.raises(PathNotAllowedError, match="symlinks are followed"):
        resolve_inside("innocent.jsonl", [root], "dataset")
    with pytest.raises(PathNotAllowedError):
        resolve_inside(str(root / "linkdir" / "passwd"), [root], "dataset")


def test_symlink_within_the_root_is_fine(layout: dict[str, Path]) -> None:
    root = layout["root"]
    os.symlink(root / "wmdp.jsonl", root / "alias.jsonl")
    assert resolve_inside("alias.jsonl", [root], "dataset") == (root / "wmdp.jsonl").resolve()


def test_symlinked_root_itself_is_resolved(layout: dict[str, Path], tmp_path: Path) -> None:
    link_root = tmp_path / "root_link"
    os.symlink(layout["root"], link_root)
    assert resolve_inside(str(layout["root"] / "wmdp.jsonl"), [link_root], "dataset").name == "wmdp.jsonl"


def test_no_roots_configured_names_the_setting() -> None:
    with pytest.raises(PathNotAllowedError, match="UNLEARN_AUDIT_DATA_ROOTS"):
        resolve_inside("/tmp/x.jsonl", [], "dataset")
    with pytest.raises(PathNotAllowedError, match="UNLEARN_AUDIT_MODEL_ROOTS"):
        resolve_inside("/models/llama", [], "checkpoint")


def test_missing_files_inside_a_root(layout: dict[str, Path]) -> None:
    with pytest.raises(DatasetError, match=r"nope\.jsonl") as err:
        resolve_inside("nope.jsonl", [layout["root"]], "dataset")
    assert status_of(type(err.value)) == 422
    with pytest.raises(BadInputError, match="does not exist") as err2:
        resolve_inside("ckpt", [layout["root"]], "checkpoint")
    assert not isinstance(err2.value, DatasetError)


def test_missing_file_outside_is_refused_not_reported_missing(layout: dict[str, Path]) -> None:
    with pytest.raises(PathNotAllowedError):
        resolve_inside(str(layout["outside"] / "ghost"), [layout["root"]], "dataset")


def test_empty_and_nul_paths(layout: dict[str, Path]) -> None:
    for bad in ("", "a\x00b"):
        with pytest.raises(BadInputError):
            resolve_inside(bad, [layout["root"]], "dataset")
