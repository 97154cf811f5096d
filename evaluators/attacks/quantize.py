"""Round-to-nearest fake quantization in plain torch (label: `emulated`).

Zhang et al. (2024) found that 4-bit quantization restores much of the knowledge that gradient-based
unlearning removed: the unlearning update is small, and rounding snaps the weights back towards the
original grid. This module reproduces that rounding without any quantization kernel: each weight is
quantized and immediately dequantized ("fake" quantization), so the model keeps its float dtype and runs on
any device. Figures produced this way are labelled `emulated`; real kernels (bitsandbytes on GPU) may differ
slightly in rounding of the scales, not in the grid.

The grid (stable: the sandbox's `quant_fragile` control is built on exactly this definition):

- `int8`: per-row absmax symmetric. For a weight [out, in], each output row r gets
  scale_r = max|w_r| / 127 and w' = round(w / scale_r).clamp(-127, 127) * scale_r (rows of zeros stay zero).
- `nf4`: QLoRA's 4-bit NormalFloat. The flattened tensor is cut into blocks of `block_size` (default 64,
  as in QLoRA/bitsandbytes; the last block may be shorter); each block is divided by its absmax and every
  value is replaced by the nearest of the 16 NF4 levels (`NF4_LEVELS`), then multiplied back. The absmax
  scale is kept in full precision (no double quantization).

`quantize_model_` applies this to the weight of every `torch.nn.Linear` (and transformers' GPT-2 style
`Conv1D`, whose weight is stored [in, out] and is transposed so rows are output channels) except the output
embedding (`lm_head`, often tied to the input embedding). Embeddings, layer norms and biases are left in full
precision, as bitsandbytes' `load_in_8bit` / `load_in_4bit` do by default.
"""

from __future__ import annotations

from typing import Any, Literal

import torch

QuantScheme = Literal["int8", "nf4"]

QUANTIZATION_LABEL = "emulated"
"""How quantized figures are labelled on the scorecard: rounding emulated in torch, not a real kernel."""

NF4_LEVELS: tuple[float, ...] = (
    -1.0,
    -0.6961928009986877,
    -0.5250730514526367,
    -0.39491748809814453,
    -0.28444138169288635,
    -0.18477343022823334,
    -0.09105003625154495,
    0.0,
    0.07958029955625534,
    0.16093020141124725,
    0.24611230194568634,
    0.33791524171829224,
    0.44070982933044434,
    0.5626170039176941,
    0.7229568362236023,
    1.0,
)
"""The 16 NF4 levels of QLoRA (Dettmers et al. 2023), as in bitsandbytes."""


def _int8_rows(w: torch.Tensor) -> torch.Tensor:
    rows = w.reshape(w.shape[0], -1) if w.dim() > 1 else w.reshape(1, -1)
    scale = rows.abs().amax(dim=1, keepdim=True) / 127.0
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.round(rows / safe).clamp(-127, 127) * scale
    return q.reshape(w.shape)


def _nf4_blocks(w: torch.Tensor, block_size: int) -> torch.Tensor:
    flat = w.reshape(-1)
    n = flat.numel()
    pad = (-n) % block_size
    padded = torch.cat([flat, flat.new_zeros(pad)]) if pad else flat
    blocks = padded.reshape(-1, block_size)
    absmax = blocks.abs().amax(dim=1, keepdim=True)
    safe = torch.where(absmax > 0, absmax, torch.ones_like(absmax))
    levels = torch.tensor(NF4_LEVELS, dtype=blocks.dtype, device=blocks.device)
    normalised = blocks / safe
    # Nearest level; on an exact midpoint argmin takes the lower level (deterministic).
    idx = (normalised.unsqueeze(-1) - levels).abs().argmin(dim=-1)
    q = levels[idx] * absmax
    return q.reshape(-1)[:n].reshape(w.shape)


def quantize_tensor(w: torch.Tensor, scheme: QuantScheme, block_size: int = 64) -> torch.Tensor:
    """A new tensor: `w` quantized with round-to-nearest on `scheme`'s grid and dequantized to w's dtype.

    int8: per-row absmax symmetric (rows = first dimension). nf4: blockwise absmax (over the flattened
    tensor, `block_size` values per block) onto the 16 NF4 levels. Computed in float32.
    """
    if block_size < 1:
        raise ValueError(f"block_size must be positive, got {block_size}")
    x = w.detach().to(torch.float32)
    if scheme == "int8":
        q = _int8_rows(x)
    elif scheme == "nf4":
        q = _nf4_blocks(x, block_size)
    else:
        raise ValueError(f"unknown quantization scheme {scheme!r}; use 'int8' or 'nf4'")
    return q.to(w.dtype)


def _is_conv1d(module: torch.nn.Module) -> bool:
    # transformers.pytorch_utils.Conv1D (GPT-2): a Linear with the weight stored transposed.
    return type(module).__name__ == "Conv1D" and hasattr(module, "nf")


def quantized_module_names(model: Any) -> list[str]:
    """Names of the modules `quantize_model_` changes: Linear/Conv1D layers except the output embedding."""
    skip: set[int] = set()
    get_out = getattr(model, "get_output_embeddings", None)
    out = get_out() if callable(get_out) else None
    if out is not None:
        skip.add(id(out))
    names = []
    for name, module in model.named_modules():
        if id(module) in skip or name.split(".")[-1] == "lm_head":
            continue
        if isinstance(module, torch.nn.Linear) or _is_conv1d(module):
            names.append(name)
    return names


@torch.no_grad()
def quantize_model_(model: Any, scheme: QuantScheme, block_size: int = 64) -> list[str]:
    """Fake-quantize, in place, the weights of `model`'s Linear layers; return the names of those changed.

    Skips the output embedding (`lm_head`), embeddings, norms and biases (see the module docstring).
    Call it on a copy (`copy.deepcopy(white_box.torch_model)`), never on the audited model itself.
    """
    names = quantized_module_names(model)
    modules = dict(model.named_modules())
    for name in names:
        weight = modules[name].weight
        if _is_conv1d(modules[name]):
            weight.copy_(quantize_tensor(weight.t(), scheme, block_size).t())
        else:
            weight.copy_(quantize_tensor(weight, scheme, block_size))
    return names
