"""Loading datasets: inline items, files inside the data roots, and the sandbox's built-in datasets.

A `DatasetLoader` is the `DatasetResolver` every check receives: `loader(ref, kind)` reads the rows,
maps `columns`, normalises (MMLU csv `A`..`D` columns, letter answers, JSON-list strings), keeps the
first `limit` rows, validates each against the item schema and hashes the result. A bad row raises
DatasetError naming the dataset, the 0-based row index and the field. JSONL parse errors name the
1-based line instead, since that is what an editor shows.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from evaluators.checks.base import DatasetKind, LoadedDataset
from evaluators.paths import resolve_inside
from evaluators.registries.dataset_fetch import FetchedHubDataset, hub_ref_key
from evaluators.selection import describe_sample, matches, stratified_indices, stratum_of
from schemas.canonical import sha256_hex
from schemas.datasets import DatasetRef, MultipleChoiceItem, PromptItem, Sample, TextItem
from schemas.errors import DatasetError

ITEM_MODELS: dict[str, type[BaseModel]] = {
    "multiple_choice": MultipleChoiceItem,
    "prompt": PromptItem,
    "text": TextItem,
}
FORMATS = (".jsonl", ".ndjson", ".json", ".parquet", ".csv")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
Fail = Callable[[str, str | None], DatasetError]
"""Builds the DatasetError for the current row: (message, field)."""


class DatasetLoader:
    """Resolves DatasetRefs for one job: `loader(ref, kind) -> LoadedDataset`."""

    def __init__(
        self,
        data_roots: Sequence[Path],
        sandbox_dir: Path | None,
        limit: int | None = None,
        sample: Sample | None = None,
        *,
        hub: Mapping[str, FetchedHubDataset] | None = None,
    ) -> None:
        self.data_roots = list(data_roots)
        self.sandbox_dir = sandbox_dir
        self.limit = limit
        self.sample = sample
        self.hub = dict(hub or {})
        """The job's Hub datasets, fetched into the cache before the checks (by `hub_ref_key`)."""

    def __call__(self, ref: DatasetRef, kind: DatasetKind, *, sample: bool = True) -> LoadedDataset:
        """Rows of `ref` filtered by `where`, cut to `limit`, subsampled by `sample` (unless `sample=False`:
        a caller that pools several datasets samples the pool), validated and hashed."""
        if kind not in ITEM_MODELS:
            raise ValueError(f"unknown dataset kind {kind!r}")
        name = ref.display_name()
        rows, source = self._rows(ref, name)
        selection: list[str] = []
        numbered: Iterator[tuple[int, Any]] = enumerate(rows)
        n_available: int | None = None
        if ref.where:
            everything = list(numbered)
            n_available = len(everything)
            kept = [(i, r) for i, r in everything if isinstance(r, dict) and matches(r, ref.where)]
            wanted = " and ".join(f"{c} in {sorted(v)}" for c, v in ref.where.items())
            if ref.where_min is not None and len(kept) < ref.where_min:
                selection.append(
                    f"filter {wanted} not applied: only {len(kept)} rows match (< {ref.where_min}); "
                    f"the whole dataset is used"
                )
                kept = everything
            else:
                selection.append(f"filter {wanted}: {len(kept)} of {n_available} rows")
            numbered = iter(kept)
        raw = list(islice(numbered, self.limit)) if self.limit is not None else list(numbered)
        if self.limit is not None and len(raw) == self.limit:
            selection.append(f"limit: the first {self.limit} rows")
        elif n_available is None:
            n_available = len(raw)
        if not raw:
            raise DatasetError(f"dataset {name!r} has no rows ({source})")
        inline = ref.items is not None
        items = [_item(name, i, row, ref.columns, kind, inline) for i, row in raw]
        if sample and self.sample is not None and self.sample.n < len(items):
            strata = [stratum_of(item.model_dump()) for item in items]
            keep = stratified_indices(strata, self.sample.n, self.sample.seed, name)
            selection.append(describe_sample(len(keep), len(items), self.sample.n, self.sample.seed, strata))
            items = [items[i] for i in keep]
        digest = sha256_hex([item.model_dump(mode="json") for item in items])
        return LoadedDataset(
            name=name,
            kind=kind,
            items=items,
            sha256=digest,
            source=source,
            n_available=n_available,
            selection=selection,
            hub=self._hub_provenance(ref),
        )

    def _rows(self, ref: DatasetRef, name: str) -> tuple[Iterator[Any], str]:
        if ref.items is not None:
            return iter(ref.items), "inline"
        if ref.builtin is not None:
            path = self._builtin_path(ref.builtin)
            return _read_jsonl(path, name), f"builtin:{ref.builtin}"
        if ref.hub is not None:
            fetched = self._hub_fetched(ref, name)
            rows = (row for path in fetched.files for row in _read_hub_file(path, name))  # in the split's file order
            return rows, f"hf:{fetched.source.repo}@{fetched.source.revision}"
        assert ref.path is not None  # DatasetRef guarantees exactly one source
        path = resolve_inside(ref.path, self.data_roots, "dataset")
        return _read_file(path, name), f"path:{path}"

    def _hub_fetched(self, ref: DatasetRef, name: str) -> FetchedHubDataset:
        assert ref.hub is not None
        fetched = self.hub.get(hub_ref_key(ref.hub))
        if fetched is None:  # the loader never reaches the network: the job runner fetches before the checks
            raise DatasetError(
                f"dataset {name!r}: Hub dataset {ref.hub.repo} was not fetched before the checks (only a job's "
                "runner fetches Hub datasets; they cannot be loaded here)",
                field="hub",
            )
        return fetched

    def _hub_provenance(self, ref: DatasetRef) -> dict[str, Any] | None:
        if ref.hub is None:
            return None
        fetched = self.hub.get(hub_ref_key(ref.hub))
        return fetched.provenance() if fetched is not None else None

    def _builtin_path(self, builtin: str) -> Path:
        if self.sandbox_dir is None:
            raise DatasetError(
                f"builtin dataset {builtin!r} needs the sandbox, but no sandbox directory is configured "
                "(UNLEARN_AUDIT_SANDBOX_DIR or UNLEARN_AUDIT_DATA_DIR)"
            )
        # The layout of evaluators.sandbox (its `builtin_dataset_path`; a test keeps them equal). Not
        # imported: that package imports torch, and the API process validates datasets at submit time.
        path = self.sandbox_dir / "datasets" / f"{builtin.removeprefix('sandbox/')}.jsonl"
        if not path.is_file():
            raise DatasetError(
                f"builtin dataset {builtin!r} is not built (no {path}); build the sandbox first "
                "(`unlearn-audit sandbox build`)"
            )
        return path


def validate_ref(
    ref: DatasetRef,
    kind: DatasetKind,
    data_roots: Sequence[Path],
    sandbox_dir: Path | None,
    limit: int | None = None,
) -> LoadedDataset:
    """Load and validate `ref` at submit time, so a missing file or a bad row is a 4xx before queueing."""
    return DatasetLoader(data_roots, sandbox_dir, limit)(ref, kind)


# --- readers: each yields raw rows -----------------------------------------------------------------


def _read_file(path: Path, name: str) -> Iterator[Any]:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(path, name)
    if suffix == ".json":
        return _read_json(path, name)
    if suffix == ".parquet":
        return _read_parquet(path, name)
    if suffix == ".csv":
        return _read_csv(path, name)
    raise DatasetError(f"dataset {name!r}: unsupported format {suffix or '(none)'!r}; use {', '.join(FORMATS)}")


def _read_jsonl(path: Path, name: str) -> Iterator[Any]:
    try:
        with path.open(encoding="utf-8") as fh:
            for line_no, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"dataset {name!r}: line {line_no}: not valid JSON ({exc.msg})") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"dataset {name!r}: the file is not UTF-8 ({exc.reason})") from None
    except OSError as exc:
        raise DatasetError(f"dataset {name!r}: cannot read the file ({exc.strerror})") from None


def _read_json(path: Path, name: str) -> Iterator[Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise DatasetError(f"dataset {name!r}: not a readable UTF-8 JSON file ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        raise DatasetError(f'dataset {name!r}: a .json dataset must be a list of rows or {{"data": [...]}}')
    return iter(data)


def _read_hub_file(path: Path, name: str) -> Iterator[Any]:
    """A Hub data file: parquet, or JSON as the `datasets` json builder reads it (a list, or JSON Lines even when
    named `.json`, as TOFU publishes its configs)."""
    if path.suffix.lower() == ".parquet":
        return _read_parquet(path, name)
    if path.suffix.lower() == ".json":
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return _read_jsonl(path, name)
        except (UnicodeDecodeError, OSError) as exc:
            raise DatasetError(f"dataset {name!r}: not a readable UTF-8 JSON file ({exc})") from None
        return _read_json(path, name)
    return _read_jsonl(path, name)


def _read_parquet(path: Path, name: str) -> Iterator[Any]:
    import pyarrow as pa  # lazy: only parquet datasets need it
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise DatasetError(f"dataset {name!r}: not a readable parquet file ({exc})") from None
    for batch in parquet.iter_batches(batch_size=1024):
        yield from batch.to_pylist()


def _read_csv(path: Path, name: str) -> Iterator[Any]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            for i, row in enumerate(reader):
                if None in row:
                    raise DatasetError(f"dataset {name!r}: row {i}: more cells than the header has columns")
                yield row
    except UnicodeDecodeError as exc:
        raise DatasetError(f"dataset {name!r}: the file is not UTF-8 ({exc.reason})") from None
    except (csv.Error, OSError) as exc:
        raise DatasetError(f"dataset {name!r}: not a readable CSV file ({exc})") from None


# --- one row -> one validated item -----------------------------------------------------------------


def _item(name: str, i: int, row: Any, columns: dict[str, str], kind: str, inline: bool) -> BaseModel:
    """Map, normalise and validate one row. Inline rows name their request field (`items.3.answer`)."""

    def fail(message: str, field: str | None) -> DatasetError:
        if inline:
            field = f"items.{i}.{field}" if field else f"items.{i}"
        return DatasetError(f"dataset {name!r}: row {i}: {message}", field=field)

    if not isinstance(row, dict):
        raise fail(f"expected an object with fields, got {type(row).__name__}", None)
    mapped = {k: v for k, v in row.items() if k not in columns.values()}
    for ours, theirs in columns.items():
        if theirs not in row:
            raise fail(f"column {theirs!r} (mapped to {ours!r}) is missing", ours)
        mapped[ours] = row[theirs]
    if kind == "multiple_choice":
        _normalise_multiple_choice(mapped, fail)
    elif kind == "prompt" and "variants" in mapped:
        mapped["variants"] = _as_list(mapped["variants"], "variants", fail, empty_ok=True)
    try:
        return ITEM_MODELS[kind].model_validate(mapped)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "missing":
            raise fail(f"missing field {loc!r} (map a source column onto it with `columns`)", loc) from None
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise fail(f"{loc}: {msg}" if loc else msg, loc or None) from None


def _as_list(value: Any, field: str, fail: Fail, *, empty_ok: bool = False) -> Any:
    """A JSON-list string (as CSV cells hold lists) becomes a list; other values pass to validation."""
    if value is None or (empty_ok and value == ""):
        return [] if empty_ok else value
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise fail(f"{field} must be a list or a JSON list string, got {value[:60]!r}", field) from None
        if not isinstance(value, list):
            raise fail(f"{field} must be a list, got {type(value).__name__}", field)
    return value


def _normalise_multiple_choice(row: dict[str, Any], fail: Fail) -> None:
    if "choices" not in row and "A" in row and "B" in row:  # MMLU csv: question,A,B,C,D,answer
        letters = [c for c in _LETTERS if c in row]
        letters = letters[: next((k for k, c in enumerate(letters) if c != _LETTERS[k]), len(letters))]
        row["choices"] = [row.pop(c) for c in letters]
    if "choices" in row:
        choices = _as_list(row["choices"], "choices", fail)
        if isinstance(choices, list):  # numbers as choices ("12", "15") are read as their text
            choices = [str(c) if isinstance(c, int | float) and not isinstance(c, bool) else c for c in choices]
        row["choices"] = choices
    if "answer" in row:
        row["answer"] = _answer_index(row["answer"], fail)


def _answer_index(answer: Any, fail: Fail) -> Any:
    """0-based int, an integral float, a digit string, or a letter A-Z (MMLU) -> int."""
    if isinstance(answer, bool):
        raise fail("answer must be a 0-based index or a letter A-Z, got a boolean", "answer")
    if isinstance(answer, float) and answer.is_integer():
        return int(answer)
    if isinstance(answer, str):
        text = answer.strip()
        if text.isdigit():
            return int(text)
        if len(text) == 1 and text.upper() in _LETTERS:
            return _LETTERS.index(text.upper())
        raise fail(f"answer {answer!r} is neither a 0-based index nor a letter A-Z", "answer")
    return answer
