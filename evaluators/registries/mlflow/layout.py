"""Where the transformers checkpoint is inside downloaded MLflow artifacts.

Two layouts. The `transformers` flavor (`mlflow.transformers.save_model`, `mlflow/transformers/model_io.py`)
writes an MLmodel file whose `flavors.transformers` names the model folder (`model_binary`, `model/`) and the
pipeline components, each saved under `components/<name>/` (the tokenizer in `components/tokenizer/`):

    MLmodel          flavors: {transformers: {model_binary: model, components: [tokenizer], task: ...}}
    model/           config.json, model.safetensors (for a local checkpoint: a copy of the whole folder)
    components/tokenizer/   tokenizer.json, tokenizer_config.json, ...

A model saved with `save_pretrained=False` holds no weights (only a Hub repository and revision): NoWeightsError
saying so. A PEFT adapter (`peft_adaptor`, or a folder with adapter_config.json) is returned as its folder; the
worker loads it on its base. Otherwise, a plain folder of
artifacts: `config.json` beside weights, at the top or in exactly one folder below it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from schemas.errors import BadInputError, NoWeightsError, excerpt

MLMODEL = "MLmodel"
MAX_MLMODEL_BYTES = 1 << 20
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
_FIELD = "model_uri"


@dataclass(frozen=True)
class CheckpointLayout:
    """The folders to load from: the model's config and weights, and the tokenizer (often the same folder)."""

    model_dir: Path
    tokenizer_dir: Path
    layout: Literal["transformers_flavor", "directory", "adapter"]
    task: str | None = None
    """The pipeline task the flavor records (e.g. `text-generation`)."""


def has_adapter(folder: Path) -> bool:
    """Whether `folder` holds a PEFT adapter: its adapter_config.json and adapter weights."""
    if not (folder / "adapter_config.json").is_file():
        return False
    return any(p.is_file() and p.name.endswith(WEIGHT_SUFFIXES) for p in folder.iterdir())


def has_checkpoint(folder: Path) -> bool:
    """Whether `folder` holds a config.json and at least one weight file."""
    if not (folder / "config.json").is_file():
        return False
    return any(p.is_file() and p.name.endswith(WEIGHT_SUFFIXES) for p in folder.iterdir())


def _inside(root: Path, relative: Any, what: str) -> Path:
    """`root / relative` for a relative path the MLmodel file names, refused when it leaves `root`."""
    if not isinstance(relative, str) or not relative.strip() or Path(relative).is_absolute():
        raise BadInputError(f"the MLmodel file names {what} as {excerpt(relative)}, not a relative path", field=_FIELD)
    path = root / relative
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(path)]) != real_root:
        raise BadInputError(f"the MLmodel file puts {what} outside the model ({excerpt(relative)})", field=_FIELD)
    return path


def read_flavors(root: Path) -> dict[str, Any] | None:
    """The `flavors` mapping of `root/MLmodel`; None when there is no MLmodel file."""
    file = root / MLMODEL
    if not file.is_file():
        return None
    if file.stat().st_size > MAX_MLMODEL_BYTES:
        raise BadInputError(f"the MLmodel file is over {MAX_MLMODEL_BYTES} bytes", field=_FIELD)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BadInputError(f"the MLmodel file is not valid YAML: {exc}", field=_FIELD) from exc
    flavors = data.get("flavors") if isinstance(data, dict) else None
    return flavors if isinstance(flavors, dict) else {}


def _transformers_flavor(root: Path, conf: dict[str, Any]) -> CheckpointLayout:
    hub_ref = excerpt(conf.get("source_model_name"))
    if conf.get("source_model_revision"):
        hub_ref += f" at revision {excerpt(conf['source_model_revision'])}"
    if conf.get("peft_adaptor"):
        # The adapter's own folder; the worker applies it to the base its adapter_config.json names (a Hub
        # repository, fetched like an `hf` target) or to the target's `base`.
        adapter_dir = _inside(root, conf["peft_adaptor"], "the PEFT adapter folder")
        if not has_adapter(adapter_dir):
            raise NoWeightsError(
                f"the PEFT adapter folder {excerpt(conf['peft_adaptor'])} of this model over {hub_ref} holds no "
                "adapter_config.json with adapter weights",
                field=_FIELD,
            )
        return CheckpointLayout(adapter_dir, adapter_dir, "adapter", str(conf.get("task") or "") or None)
    if not conf.get("model_binary"):
        raise NoWeightsError(
            f"this MLflow model was logged with save_pretrained=False: its artifacts hold no weights, only a "
            f"reference to Hugging Face Hub model {hub_ref}; audit that as a Hub target",
            field=_FIELD,
        )
    model_dir = _inside(root, conf["model_binary"], "the model folder")
    if not has_checkpoint(model_dir):
        raise NoWeightsError(
            f"the transformers flavor's model folder {excerpt(conf['model_binary'])} holds no config.json with "
            "weights the worker may load",
            field=_FIELD,
        )
    tokenizer_dir = model_dir
    components = conf.get("components") or []
    if isinstance(components, list) and "tokenizer" in components:
        saved = _inside(root, "components/tokenizer", "the tokenizer")
        if saved.is_dir():
            tokenizer_dir = saved
    task = conf.get("task")
    return CheckpointLayout(model_dir, tokenizer_dir, "transformers_flavor", str(task) if task else None)


def find_checkpoint(root: Path) -> CheckpointLayout:
    """The checkpoint inside downloaded artifacts at `root`. Raises NoWeightsError when there is none to load
    (naming what is there instead), BadInputError for a malformed MLmodel or several candidate folders."""
    flavors = read_flavors(root)
    if flavors is not None and isinstance(flavors.get("transformers"), dict):
        return _transformers_flavor(root, flavors["transformers"])
    if has_checkpoint(root):
        return CheckpointLayout(root, root, "directory")
    if has_adapter(root):
        return CheckpointLayout(root, root, "adapter")
    below = sorted(p for p in root.iterdir() if p.is_dir() and has_checkpoint(p)) if root.is_dir() else []
    if len(below) == 1:
        return CheckpointLayout(below[0], below[0], "directory")
    if len(below) > 1:
        names = ", ".join(p.name for p in below[:10])
        raise BadInputError(
            f"the artifacts hold several checkpoints ({names}); name one in the URI (runs:/<run id>/<folder>)",
            field=_FIELD,
        )
    if flavors:
        raise NoWeightsError(
            f"this MLflow model has flavors {', '.join(sorted(map(str, flavors)))}, not transformers, and no "
            "config.json with weights: the audit loads transformers checkpoints",
            field=_FIELD,
        )
    present = sorted(p.name for p in root.iterdir())[:10] if root.is_dir() else []
    raise NoWeightsError(
        "the artifacts hold no transformers checkpoint (a config.json beside *.safetensors weights, or an MLflow "
        f"transformers model); found {', '.join(present) or 'nothing'}",
        field=_FIELD,
    )
