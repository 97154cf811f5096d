"""Latent knowledge: read the answer from hidden states instead of the output (logit lens, linear probe).

Both read the last token's hidden state of the standard-format prompt (ending "Answer:") at every layer,
from `WhiteBoxModel.hidden_states` ([num_layers + 1, hidden] per text, embeddings first).

- Logit lens (nostalgebraist 2020): apply the model's final norm and output projection to each layer's
  state (the last state already carries the final norm in transformers, so it only gets the projection)
  and compare the logits of the answer letters " A".." D". The layer is chosen out of fold: for the
  items of fold f, the layer with the best accuracy on the other folds is used.
- Linear probe: a multinomial logistic regression (L2, `PROBE_L2`) from the standardised hidden state to
  the answer position, trained on the other folds; its layer is chosen by accuracy on one inner
  validation fold (by training fit when there are only two folds), then the probe is refit on all other
  folds at that layer. A model that only suppresses the answer in its last layers still encodes it
  linearly in the middle ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

PROBE_L2 = 1e-2
PROBE_STEPS = 150


def final_norm(torch_model: Any) -> Any:
    """The model's final normalisation layer (Llama/Mistral/Qwen, GPT-2, GPT-NeoX, OPT), or identity."""
    base = getattr(torch_model, getattr(torch_model, "base_model_prefix", ""), None)
    for holder in (base, torch_model):
        for name in ("norm", "ln_f", "final_layer_norm", "final_layernorm"):
            module = getattr(holder, name, None) if holder is not None else None
            if module is not None:
                return module
        decoder = getattr(holder, "decoder", None) if holder is not None else None
        if decoder is not None and getattr(decoder, "final_layer_norm", None) is not None:
            return decoder.final_layer_norm
    return torch.nn.Identity()


def letter_token_ids(tokenizer: Any, letters: Sequence[str]) -> list[int]:
    """The token id of " A", " B", ... (the last token when a letter encodes to several)."""
    return [int(tokenizer.encode(" " + letter, add_special_tokens=False)[-1]) for letter in letters]


@torch.no_grad()
def logit_lens_choices(
    torch_model: Any, states: Sequence[torch.Tensor], letter_ids: Sequence[int], n_choices: Sequence[int]
) -> torch.Tensor:
    """[items, layers, max_choices] letter logits per layer (choices beyond an item's k are -inf)."""
    stacked = torch.stack(list(states))  # [N, L+1, H]
    param = next(torch_model.parameters())
    norm = final_norm(torch_model)
    head = torch_model.get_output_embeddings()
    h = stacked.to(device=param.device, dtype=param.dtype)
    # transformers' last hidden state already has the final norm applied; the earlier ones do not.
    h = torch.cat([norm(h[:, :-1]), h[:, -1:]], dim=1)
    weight = head.weight[list(letter_ids)]  # [C, H]
    logits = (h @ weight.T).float().cpu()
    for i, k in enumerate(n_choices):
        logits[i, :, k:] = -torch.inf
    return logits


def choose_layer_out_of_fold(
    predictions: torch.Tensor, answers: Sequence[int], folds: Sequence[int]
) -> tuple[list[int], list[int]]:
    """Per item, (chosen layer, predicted choice): the layer is the best on the other folds' items.

    `predictions` is [items, layers] of predicted choice indices.
    """
    answers_t = torch.tensor(list(answers))
    correct = predictions.eq(answers_t[:, None]).float()
    folds_t = torch.tensor(list(folds))
    layers, picks = [0] * len(answers), [0] * len(answers)
    for f in sorted(set(folds)):
        train = folds_t != f
        best = int(correct[train].mean(dim=0).argmax())
        for i in torch.nonzero(~train).flatten().tolist():
            layers[i], picks[i] = best, int(predictions[i, best])
    return layers, picks


def _standardise(train: torch.Tensor, test: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean, std = train.mean(dim=0), train.std(dim=0).clamp_min(1e-6)
    return (train - mean) / std, (test - mean) / std


def _fit_predict(
    x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, classes: int, seed: int
) -> torch.Tensor:
    """Fit an L2 multinomial logistic regression (L-BFGS) and return test logits [n_test, classes]."""
    x_train, x_test = _standardise(x_train, x_test)
    torch.manual_seed(seed)
    weight = torch.zeros(x_train.shape[1], classes, requires_grad=True)
    bias = torch.zeros(classes, requires_grad=True)
    optimiser = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=PROBE_STEPS, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        logits = x_train @ weight + bias
        loss = torch.nn.functional.cross_entropy(logits, y_train) + PROBE_L2 * weight.pow(2).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    with torch.no_grad():
        return x_test @ weight + bias


def probe_out_of_fold(
    states: Sequence[torch.Tensor],
    answers: Sequence[int],
    n_choices: Sequence[int],
    folds: Sequence[int],
    seed: int,
) -> tuple[list[int], list[int]]:
    """Per item, (layer used, predicted choice) from a linear probe trained on the other folds only."""
    x = torch.stack(list(states)).float()  # [N, L+1, H]
    y = torch.tensor(list(answers))
    k = torch.tensor(list(n_choices))
    classes = int(k.max())
    fold_ids = sorted(set(folds))
    folds_t = torch.tensor(list(folds))
    layers, picks = [0] * len(answers), [0] * len(answers)
    for position, f in enumerate(fold_ids):
        test = folds_t == f
        inner = folds_t == fold_ids[(position + 1) % len(fold_ids)]
        fit = ~test & ~inner
        if not bool(fit.any()):  # two folds: no separate inner fold, choose the layer by training fit
            fit = inner
        scores = []
        for layer in range(x.shape[1]):
            logits = _fit_predict(x[fit, layer], y[fit], x[inner, layer], classes, seed)
            scores.append(float(_masked_argmax(logits, k[inner]).eq(y[inner]).float().mean()))
        best = max(range(len(scores)), key=lambda i: (scores[i], i))
        logits = _fit_predict(x[~test, best], y[~test], x[test, best], classes, seed)
        chosen = _masked_argmax(logits, k[test])
        for i, c in zip(torch.nonzero(test).flatten().tolist(), chosen.tolist(), strict=True):
            layers[i], picks[i] = best, int(c)
    return layers, picks


def _masked_argmax(logits: torch.Tensor, n_choices: torch.Tensor) -> torch.Tensor:
    cols = torch.arange(logits.shape[1])[None, :]
    return logits.masked_fill(cols >= n_choices[:, None], -torch.inf).argmax(dim=1)
