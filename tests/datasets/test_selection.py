"""Row filters (`where`, `where_min`) and the seeded, stratified subsample (`sample`) of the dataset loader."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from evaluators.datasets import DatasetLoader
from evaluators.selection import allocate, stratified_indices
from schemas.datasets import DatasetRef, Sample
from schemas.errors import DatasetError


def mc_rows(subjects: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {"question": f"{s} {i}?", "choices": ["a", "b", "c", "d"], "answer": i % 4, "subject": s}
        for s, n in subjects.items()
        for i in range(n)
    ]


def test_allocation_is_proportional_with_largest_remainder() -> None:
    # 10 of (50, 30, 20): exact shares 5, 3, 2.
    assert allocate({"a": 50, "b": 30, "c": 20}, 10) == {"a": 5, "b": 3, "c": 2}
    # 4 of (5, 3, 2): exact 2.0, 1.2, 0.8 -> floors 2, 1, 0; one left goes to c (remainder 0.8 > 0.2).
    assert allocate({"a": 5, "b": 3, "c": 2}, 4) == {"a": 2, "b": 1, "c": 1}
    # 3 of (1, 1, 1, 1): exact 0.75 each -> ties broken by name.
    assert allocate({"d": 1, "c": 1, "b": 1, "a": 1}, 3) == {"a": 1, "b": 1, "c": 1, "d": 0}
    assert allocate({"a": 2, "b": 1}, 10) == {"a": 2, "b": 1}


def test_the_same_seed_draws_the_same_rows_and_another_seed_others() -> None:
    strata = ["x"] * 60 + ["y"] * 40
    first = stratified_indices(strata, 10, seed=7, dataset="d")
    assert first == stratified_indices(strata, 10, seed=7, dataset="d")
    assert first != stratified_indices(strata, 10, seed=8, dataset="d")
    assert first == sorted(first) and len(set(first)) == 10
    assert Counter(strata[i] for i in first) == {"x": 6, "y": 4}


def test_sample_is_stratified_by_subject_and_stated() -> None:
    ref = DatasetRef(items=mc_rows({"virology": 30, "anatomy": 60, "nutrition": 10}), name="mmlu")
    loaded = DatasetLoader([], None, sample=Sample(n=20, seed=3))(ref, "multiple_choice")
    assert len(loaded.items) == 20
    assert Counter(item.subject for item in loaded.items) == {"anatomy": 12, "virology": 6, "nutrition": 2}
    assert loaded.n_available == 100
    assert loaded.selection == ["sample: 20 of 100 (n=20, seed=3) stratified over 3 strata"]
    again = DatasetLoader([], None, sample=Sample(n=20, seed=3))(ref, "multiple_choice")
    assert again.sha256 == loaded.sha256
    whole = DatasetLoader([], None)(ref, "multiple_choice")
    assert whole.sha256 != loaded.sha256 and whole.selection == []
    assert DatasetLoader([], None, sample=Sample(n=20))(ref, "multiple_choice", sample=False).sha256 == whole.sha256


def test_prompts_are_stratified_by_category_and_limit_comes_first() -> None:
    rows = [{"prompt": f"p{i}", "category": "cyber" if i % 4 == 0 else "other"} for i in range(80)]
    loaded = DatasetLoader([], None, limit=40, sample=Sample(n=8))(DatasetRef(items=rows), "prompt")
    assert all(int(item.prompt[1:]) < 40 for item in loaded.items)
    assert Counter(item.category for item in loaded.items) == {"other": 6, "cyber": 2}
    assert loaded.selection[0] == "limit: the first 40 rows"
    assert loaded.selection[1].startswith("sample: 8 of 40")
    provenance = loaded.provenance()
    assert provenance.n == 8 and provenance.selection == loaded.selection


def test_where_keeps_matching_rows_and_falls_back_below_where_min() -> None:
    rows = [{"prompt": f"p{i}", "category": "chemical_biological" if i < 5 else "illegal"} for i in range(30)]
    narrow = DatasetRef(items=rows, where={"category": ["chemical_biological"]})
    kept = DatasetLoader([], None)(narrow, "prompt")
    assert [p.prompt for p in kept.items] == [f"p{i}" for i in range(5)]
    assert kept.selection == ["filter category in ['chemical_biological']: 5 of 30 rows"]
    fallback = DatasetRef(items=rows, where={"category": ["chemical_biological"]}, where_min=10)
    whole = DatasetLoader([], None)(fallback, "prompt")
    assert len(whole.items) == 30
    assert "not applied: only 5 rows match (< 10)" in whole.selection[0]
    none = DatasetRef(items=rows, where={"category": ["nothing"]})
    with pytest.raises(DatasetError, match="no rows"):
        DatasetLoader([], None)(none, "prompt")


def test_row_errors_name_the_row_in_the_file_not_in_the_selection() -> None:
    rows = [{"prompt": "ok", "category": "a"}, {"prompt": "", "category": "b"}]
    with pytest.raises(DatasetError, match="row 1"):
        DatasetLoader([], None)(DatasetRef(items=rows, where={"category": ["b"]}), "prompt")
