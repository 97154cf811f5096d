"""From measured units to the full suite: fixed costs, per-unit seconds times the published counts, a table."""

from __future__ import annotations

from typing import Any

from bench.wmdp_cost.units import FULL_SUITE_COUNTS, Unit

STANDARD_PASSES = {"relearning": 1.5, "benign_relearning": 1.0, "quantization": 2.0}
"""Scoring each white-box attack does, in standard passes over the items on both roles: relearning scores
each held-out fold on three trained copies (target, baseline, placebo), benign relearning all items on two,
quantization all items on two copies per scheme (int8, nf4)."""


def white_box_fixed_costs(units: list[Unit]) -> None:
    """Split each white-box attack into its scoring (scales with items, as many standard passes as it makes)
    and the rest: copies, training steps (set by the budget) and quantizing, which do not scale with items."""
    std = next((u for u in units if u.part == "forget" and u.name == "standard" and u.seconds is not None), None)
    for u in units:
        if u.part != "forget" or u.name not in STANDARD_PASSES or u.seconds is None or std is None:
            continue
        assert std.seconds is not None
        scoring = STANDARD_PASSES[u.name] * std.seconds * u.n / std.n
        u.fixed_s = max(0.0, u.seconds - scoring)
        u.notes.append(
            f"fixed part (copies, training, quantizing) = seconds - {STANDARD_PASSES[u.name]} standard passes"
        )


def extrapolation(units: list[Unit]) -> dict[str, Any]:
    """Per-unit figures times the published counts: labelled, never a measurement."""
    parts: dict[str, float] = {}
    rows = {}
    for u in units:
        full = u.extrapolated_s()
        if full is None:
            continue
        rows[f"{u.part}/{u.name}"] = round(full, 1)
        parts[u.part] = parts.get(u.part, 0.0) + full
    total = sum(parts.values())
    return {
        "label": "extrapolated: measured per-unit seconds x published item counts (+ fixed costs); not measured",
        "counts": FULL_SUITE_COUNTS,
        "harmbench_rows_used": "all 200 (chemical_biological assumed 28 < n_min 50)",
        "units_s": rows,
        "parts_s": {k: round(v, 1) for k, v in parts.items()},
        "total_s": round(total, 1),
        "total_h": round(total / 3600, 2),
        "both_roles": True,
    }


def table(units: list[Unit], extra: dict[str, Any]) -> str:
    lines = [
        f"{'part':10s} {'unit':22s} {'n':>5s} {'s (both)':>10s} {'fixed s':>9s} {'s/unit':>10s} "
        f"{'full n':>7s} {'extrapolated s':>15s}"
    ]
    for u in units:
        d = u.as_dict()
        secs = "-" if d["seconds_both_roles"] is None else f"{d['seconds_both_roles']:.2f}"
        per = "-" if d["per_unit_s"] is None else f"{d['per_unit_s']:.4f}"
        full = "-" if d["extrapolated_s"] is None else f"{d['extrapolated_s']:.0f}"
        count = "-" if u.full_count is None else str(u.full_count)
        lines.append(
            f"{u.part:10s} {u.name:22s} {u.n:5d} {secs:>10s} {u.fixed_s:9.2f} {per:>10s} {count:>7s} {full:>15s}"
        )
    lines.append(f"extrapolated (not measured) per part: {extra['parts_s']}")
    lines.append(f"extrapolated (not measured) full wmdp-bio suite: {extra['total_s']} s = {extra['total_h']} h")
    return "\n".join(lines)
