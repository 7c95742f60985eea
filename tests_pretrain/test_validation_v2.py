"""The second suite's validation sweep: the shapes a forecast may choose, and the cells planned from
a sweep forecast (a planted one), which the grid runner trains at their seeds (the sweep's suite
is built in test_suite_v2, from that module's trained runs)."""

import json
from pathlib import Path

import pytest

from pretrain.grid import runs_of_grid
from pretrain.grid_v2 import WIDTH_DEPTH
from pretrain.pilot import grid_lr
from pretrain.validation_v2 import FACTOR, LARGER, SEEDS, SMALLER, plan_sweep, sizes_table
from t2lib.data.seeds import runs_digest
from t2lib.laws.forecast import FORMAT, SWEEP_FORMAT


def planted_forecast(path: Path, sizes: list[int], form: str = SWEEP_FORMAT, fitted_to: str = "each run",
                     c_train: float = 7.2e13, suite: str = "ab12") -> Path:
    rows = [{"approach": "trainable", "priced_by": key, "c_train": c_train, "c_inf": c_inf, "N": float(n),
             "role": f"planted {n}"} for n in sizes for key in ("1", "2") for c_inf in (2e6, 2e7)]
    checksum = runs_digest(suite) if fitted_to == "each run" else suite
    path.write_text(json.dumps({"format": form, "c_train": c_train, "c_infs": [2e6, 2e7], "fitted_to": fitted_to,
                                "suite_sha256": checksum, "rows": rows}))
    return path


def test_the_shapes_are_the_grids_with_smaller_and_larger_ones_and_heads_of_width_about_16() -> None:
    sizes = sizes_table()
    assert list(zip(sizes["width"], sizes["depth"])) == SMALLER + WIDTH_DEPTH + LARGER
    grid_like = sizes["width"] >= 24
    assert ((sizes["width"] / sizes["heads"])[grid_like].between(12, 20)).all() and (sizes["heads"] >= 1).all()
    assert (sizes.loc[~grid_like, "heads"] == 1).all() and sizes["params"].is_monotonic_increasing
    assert FACTOR >= 2 and SEEDS >= 2


def test_the_plan_trains_each_forecast_size_at_the_forecasts_budget_and_seeds(tmp_path: Path) -> None:
    sizes_file = tmp_path / "sizes.csv"
    sizes_table().to_csv(sizes_file, index=False)
    chosen = [37_600, 103_104, 341_840, 841_856, 1_298_080]
    plan = plan_sweep({"each run": planted_forecast(tmp_path / "f.json", chosen)}, sizes_file)
    assert list(plan["params"]) == chosen and (plan["seeds"] == SEEDS).all() and plan["role"].str.startswith("planted").all()
    assert plan["tokens"].tolist() == [round(7.2e13 / (6 * n)) for n in chosen]
    assert plan["lr"].tolist() == [float(f"{grid_lr(n):.2g}") for n in chosen]
    plan.to_csv(tmp_path / "plan.csv", index=False)
    runs = runs_of_grid(tmp_path / "plan.csv")
    assert len(runs) == SEEDS * len(chosen) and {spec.model_seed for _, spec in runs} == set(range(SEEDS))
    with pytest.raises(ValueError, match="not a sweep"):
        plan_sweep({"each run": planted_forecast(tmp_path / "one.json", chosen, FORMAT)}, sizes_file)
    with pytest.raises(ValueError, match="is not a shape of"):
        plan_sweep({"each run": planted_forecast(tmp_path / "odd.json", [12_345])}, sizes_file)


def test_the_sweep_trains_every_size_either_forecast_names_and_says_which(tmp_path: Path) -> None:
    sizes_file = tmp_path / "sizes.csv"
    sizes_table().to_csv(sizes_file, index=False)
    each = planted_forecast(tmp_path / "each.json", [103_104, 341_840])
    pooled = planted_forecast(tmp_path / "pooled.json", [37_600, 103_104], fitted_to="pooled seeds")
    plan = plan_sweep({"each run": each, "pooled seeds": pooled}, sizes_file)
    assert list(plan["params"]) == [37_600, 103_104, 341_840] and (plan["seeds"] == SEEDS).all()
    assert list(plan["role"]) == ["pooled seeds: planted 37600", "each run: planted 103104; pooled seeds: planted 103104",
                                  "each run: planted 341840"]
