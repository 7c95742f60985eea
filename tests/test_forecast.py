"""The forecast written before a validation run: its rows, its budget rules, its provenance, the
file round trip and the command line."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import t2lib
from t2lib.book.formatting import format_number
from t2lib.data.seeds import runs_digest
from t2lib.data.suite import SuiteError, write_suite
from t2lib.laws.forecast import (SWEEP_FORMAT, SWEEP_SAMPLES, ForecastFileError, chinchilla_size, forecast_rows,
                                 inference_budget, largest_difference, lm_chinchilla, load_forecast, load_sweep_forecasts,
                                 make_sweep_forecast, read_sizes, save_forecast, sweep_sizes, trainable_sizes,
                                 validation_budget)
from t2lib.laws.laws import Chinchilla
from t2lib.laws.plan import plan
from t2lib.laws.saved import save_fits
from test_plan import A1, A2, planted

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_the_forecast_holds_the_plan_and_each_optimum_s_neighbours() -> None:
    saved = planted()
    rows = forecast_rows(saved, 1e21, 1.4e11)
    planned = plan(saved, [1e21], 1.4e11)
    np.testing.assert_allclose(rows.iloc[:len(planned)]["N"], planned["N"])
    for key, law, value in (("1", A1, A1.loss), ("2", A2, A2.pass_at_k)):
        optimum = planned[(planned["approach"] == key) & (planned["priced_by"] == key)]["N"].iloc[0]
        neighbours = rows[rows["approach"] == f"{key} neighbour"]
        np.testing.assert_allclose(neighbours["N"], [optimum / 2, optimum * 2])
        expected = value(neighbours["N"], 1e21 / (6 * neighbours["N"]), 1.4e11 / (2 * neighbours["N"]))
        np.testing.assert_allclose(neighbours["value"], expected, rtol=1e-12)
        better = neighbours["value"].min() >= rows[(rows["approach"] == key)]["value"].iloc[0] if key == "1" else \
            neighbours["value"].max() <= rows[(rows["approach"] == key)]["value"].iloc[0]
        assert better, "a neighbour of the optimum predicts better than the optimum"
    assert rows["flags"].notna().all()


def test_budget_rules_and_the_file_round_trip(tmp_path: Path) -> None:
    suite = t2lib.load_suite(REPO_ROOT / "data" / "t2_suite")
    assert validation_budget(suite) == pytest.approx(4 * suite.base["train_flops"].max())
    with pytest.raises(ValueError, match="factor must be > 0"):
        validation_budget(suite, 0.0)
    saved = planted()
    chinchilla = plan(saved, [1e21], 1e30).query("approach == 'chinchilla'")["N"].iloc[0]
    assert chinchilla_size(saved, 1e21) == pytest.approx(chinchilla, rel=1e-12)
    assert inference_budget(saved, 1e21, 3.0) == pytest.approx(6 * chinchilla, rel=1e-12)
    with pytest.raises(ValueError, match="k_at_chinchilla"):
        inference_budget(saved, 1e21, 0.5)
    record = {"format": "t2lib-forecast-1", "c_train": 1.0, "rows": [{"approach": "1", "N": 5.0}]}
    meta, rows = load_forecast(save_forecast(record, tmp_path / "f.json"))
    assert meta["c_train"] == 1.0 and rows["N"].tolist() == [5.0]
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ForecastFileError, match="not JSON"):
        load_forecast(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"format": "x"}))
    with pytest.raises(ForecastFileError, match="not a t2lib forecast"):
        load_forecast(tmp_path / "other.json")


def test_the_models_to_train_are_each_optimum_with_its_neighbours_and_the_chinchilla_choice() -> None:
    saved = planted()
    ladder = np.geomspace(1e6, 1e11, 26)  # ratio 1.58
    c_inf = inference_budget(saved, 1e21, sizes=ladder)
    optima = plan(saved, [1e21], c_inf)
    size = {key: optima.query(f"approach == '{key}' and priced_by == '{'1' if key == 'chinchilla' else key}'")["N"].iloc[0]
            for key in ("1", "2", "chinchilla")}
    trained, roles = trainable_sizes(optima, ladder, c_inf)
    nearest = {key: ladder[np.argmin(np.abs(np.log(ladder / N)))] for key, N in size.items()}
    around = [ladder[(ladder >= nearest[key] / 1.59) & (ladder <= nearest[key] * 1.59)] for key in ("1", "2")]
    expected = set(np.concatenate(around)) | {nearest["chinchilla"]}
    assert set(trained) == {N for N in expected if N <= c_inf / 2}
    assert c_inf == 2 * nearest["chinchilla"]  # the Chinchilla model to train affords exactly one sample
    assert "Chinchilla choice" in roles[nearest["chinchilla"]] and "Approach 1 optimum" in roles[nearest["1"]]
    rows = forecast_rows(saved, 1e21, c_inf, sizes=ladder)
    priced = rows[rows["approach"] == "trainable"]
    assert len(priced) == 2 * len(trained) and priced["role"].notna().all()
    one = priced[priced["priced_by"] == "1"]
    np.testing.assert_allclose(one["value"], A1.loss(one["N"], 1e21 / (6 * one["N"]), c_inf / (2 * one["N"])),
                               rtol=1e-12)


def test_a_sweep_trains_every_budgets_optima_the_named_choices_and_enough_sizes_around_them() -> None:
    saved = planted()
    ladder = np.geomspace(1e6, 1e11, 26)
    c_infs = [inference_budget(saved, 1e21, k, sizes=ladder) for k in SWEEP_SAMPLES]
    optima = pd.concat([plan(saved, [1e21], c_inf) for c_inf in c_infs])
    nearest = lambda N: float(ladder[np.argmin(np.abs(np.log(ladder / N)))])  # noqa: E731
    trained, roles = sweep_sizes(optima, ladder, {"LM-loss Chinchilla choice": 3e9})
    for c_inf, budget in optima.groupby("c_inf"):
        for key in ("1", "2"):
            N = budget.query(f"approach == '{key}' and priced_by == '{key}'")["N"].iloc[0]
            assert f"Approach {key} optimum at C_inf {format_number(c_inf)}" in roles[nearest(N)]
    assert "LM-loss Chinchilla choice" in roles[nearest(3e9)] and "Chinchilla choice (task NLL" in roles[
        nearest(chinchilla_size(saved, 1e21))]
    assert len(trained) >= 5 and set(roles) == set(trained)
    few, few_roles = sweep_sizes(optima[optima["c_inf"] == c_infs[0]], ladder, minimum=7)
    assert len(few) == 7 and list(few_roles.values()).count("isoFLOP curve") >= 7 - 3
    far, far_roles = sweep_sizes(optima, [1e6, 1e7], {"far": 1e10}, minimum=1)
    assert any("× away" in role for role in far_roles.values())


def test_a_sweep_forecast_prices_its_models_at_every_budget_and_records_them(tmp_path: Path) -> None:
    suite = t2lib.load_suite(REPO_ROOT / "data" / "t2_suite")
    fits = t2lib.laws.analysis.fit_suite(suite, ["sciq", "openbookqa"])
    fits_file = save_fits(fits, tmp_path / "fits.json", suite=suite, ks=t2lib.laws.analysis.FIT_KS)
    ladder = np.geomspace(1e8, 1e11, 16)
    c_train = 4 * suite.base["train_flops"].max()
    c_infs = [2e10, 2e11, 2e12]
    forecast = make_sweep_forecast(fits_file, c_train, c_infs, sizes=ladder, extra={"LM-loss choice": 2e10},
                                   rule="planted", allow_degenerate=True, fitted_to="checkpoints")
    assert forecast["format"] == SWEEP_FORMAT and forecast["c_infs"] == c_infs and "c_inf" not in forecast
    meta, rows = load_forecast(save_forecast(forecast, tmp_path / "sweep.json"))
    assert meta["extra_sizes"] == {"LM-loss choice": 2e10}
    trained = rows[rows["approach"] == "trainable"]
    assert trained["N"].nunique() >= 5 and set(trained["c_inf"]) == set(c_infs)
    for c_inf, group in trained.groupby("c_inf"):  # each model priced by both approaches where it affords k ≥ 1
        assert (group["N"] <= c_inf / 2).all() and len(group) == 2 * group["N"].nunique()


def test_the_lm_loss_chinchilla_recovers_a_planted_law(tmp_path: Path) -> None:
    law = Chinchilla(E=1.0, A=400.0, B=2000.0, alpha=0.34, beta=0.28)
    N, D = np.meshgrid(np.geomspace(1e4, 1e6, 5), np.geomspace(1e6, 1e9, 6))
    checkpoints = pd.DataFrame({"checkpoint": [f"c{i}" for i in range(N.size)], "params": N.ravel(),
                                "tokens": D.ravel(), "train_flops": 6 * N.ravel() * D.ravel(), "source": "planted",
                                "stage": "base", "base_checkpoint": "",
                                "validation_loss": law.loss(N.ravel(), D.ravel())})
    nll = pd.DataFrame({"checkpoint": checkpoints["checkpoint"], "task": "t", "question": 0, "nll": 1.0})
    suite = t2lib.load_suite(write_suite(tmp_path / "s", checkpoints, nll))
    chosen, result = lm_chinchilla(suite, 1e15)
    assert result.law.alpha == pytest.approx(0.34, rel=1e-3) and result.law.beta == pytest.approx(0.28, rel=1e-3)
    grid = np.geomspace(1e3, 1e8, 20001)
    assert chosen == pytest.approx(grid[np.argmin(law.loss(grid, 1e15 / (6 * grid)))], rel=1e-3)
    with pytest.raises(SuiteError, match="no column 'lm'"):
        lm_chinchilla(suite, 1e15, loss="lm")


def test_a_sizes_file_is_read_and_a_bad_one_named(tmp_path: Path) -> None:
    good = tmp_path / "shapes.csv"
    good.write_text("width,params\n16,10448\n24,17976\n")
    assert read_sizes(good).tolist() == [10448.0, 17976.0]
    bad = tmp_path / "bad.csv"
    bad.write_text("params\n10448\n-5\n")
    with pytest.raises(ValueError, match=r"bad.csv: column 'params', line 3: must be a number > 0; got -5"):
        read_sizes(bad)
    with pytest.raises(ValueError, match="missing"):
        read_sizes(tmp_path / "none.csv")


@pytest.mark.chapter
def test_the_forecast_command_writes_the_forecast_and_its_fits(tmp_path: Path) -> None:
    out = tmp_path / "forecast.json"
    result = subprocess.run([sys.executable, "-m", "t2lib", "forecast", "data/t2_suite", "--out", str(out),
                             "--tasks", "lambada_openai", "--resamples", "0"],
                            capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    meta, rows = load_forecast(out)
    fits_file = tmp_path / "forecast.fits.json"
    assert meta["fits_sha256"] == hashlib.sha256(fits_file.read_bytes()).hexdigest()
    assert meta["suite_sha256"] == t2lib.load_suite(REPO_ROOT / "data" / "t2_suite").sha256
    assert meta["c_train"] == pytest.approx(4 * 2.56e19, rel=1e-3) and "C_inf = 2 · N_chinchilla" in meta["rule"]
    chinchilla = rows[rows["approach"] == "chinchilla"]
    assert meta["c_inf"] == pytest.approx(2 * chinchilla["N"].iloc[0], rel=1e-9)  # it affords exactly one sample
    assert set(rows["approach"]) == {"1", "2", "chinchilla", "1 neighbour", "2 neighbour"}
    assert "wrote" in result.stdout and result.stderr.count("Warning") == 0


def test_the_forecast_command_makes_a_sweep_at_several_budgets(tmp_path: Path) -> None:
    sizes = tmp_path / "sizes.csv"
    pd.DataFrame({"params": np.geomspace(1e8, 1e11, 16).round()}).to_csv(sizes, index=False)
    out = tmp_path / "sweep.json"
    command = [sys.executable, "-m", "t2lib", "forecast", "data/t2_suite", "--out", str(out), "--tasks", "sciq",
               "--resamples", "0", "--allow-degenerate", "--k-at-chinchilla", "1", "10", "100"]
    refused = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)
    assert refused.returncode == 2 and "--sizes: a sweep" in refused.stderr and len(refused.stderr.splitlines()) == 1
    result = subprocess.run(command + ["--sizes", str(sizes)], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    meta, rows = load_forecast(out)
    assert meta["format"] == SWEEP_FORMAT and len(meta["c_infs"]) == 3 and "k = 1, 10, 100" in meta["rule"]
    assert meta["c_infs"][1] == pytest.approx(10 * meta["c_infs"][0]) and "C_inf FLOPs/token" in result.stdout
    assert rows.loc[rows["approach"] == "trainable", "N"].nunique() >= 5


def test_the_largest_difference_of_two_forecasts_is_relative_and_zero_for_the_same() -> None:
    rows = forecast_rows(planted(), 1e21, 1.4e11)
    assert largest_difference(rows, rows.copy()) == 0.0
    moved = rows.copy()
    moved.loc[2, "value"] *= 1.001
    assert largest_difference(rows, moved) == pytest.approx(0.001 / 1.001, rel=1e-9)
    unpriced = rows.copy()
    unpriced.loc[0, "value"] = np.nan
    assert largest_difference(rows, unpriced) == np.inf  # a number gone missing is not a small difference
    with pytest.raises(ValueError, match="different rows"):
        largest_difference(rows, rows.iloc[1:])


def test_each_run_is_refused_on_a_suite_of_one_run_per_checkpoint(tmp_path: Path) -> None:
    # Forecasts fitted to each run and to pooled seeds are made, and checked, in tests/test_sweep_chapter.py.
    one_run = subprocess.run([sys.executable, "-m", "t2lib", "forecast", "data/t2_suite", "--each-run",
                              "--out", str(tmp_path / "x.json")], capture_output=True, text=True, cwd=REPO_ROOT)
    assert one_run.returncode == 2 and len(one_run.stderr.splitlines()) == 1
    assert "--each-run: data/t2_suite/checkpoints.csv has no 'cell' and 'seed' columns" in one_run.stderr
    assert not (tmp_path / "x.json").exists()


def planted_sweep_forecast(path: Path, fitted_to: str, c_train: float = 7.2e13, suite: str = "ab12",
                           form: str = SWEEP_FORMAT, tasks: tuple = ("a", "b")) -> Path:
    checksum = runs_digest(suite) if fitted_to == "each run" else suite
    path.write_text(json.dumps({"format": form, "c_train": c_train, "c_infs": [2e6, 2e7], "fitted_to": fitted_to,
                                "tasks": list(tasks), "extra_sizes": {"Chinchilla choice (LM loss)": 2e5},
                                "suite_sha256": checksum, "rows": [{"approach": "trainable", "N": 1e5}]}))
    return path


@pytest.mark.parametrize("pooled_is, refusal", [
    ({"fitted_to": "each run"}, "fitted to 'each run', not 'pooled seeds' \\(make it without --each-run\\)"),
    ({"c_train": 3.6e13}, "different training budgets \\(3.6e\\+13, 7.2e\\+13 FLOPs\\)"),
    ({"suite": "ef56"}, "made from different suites"),
    ({"form": "t2lib-forecast-1"}, "not a sweep"),
    ({"tasks": ["other"]}, "differ in tasks"),
])
def test_a_sweeps_forecasts_are_of_their_kind_one_budget_and_one_suite(tmp_path: Path, pooled_is: dict,
                                                                       refusal: str) -> None:
    each = planted_sweep_forecast(tmp_path / "each.json", "each run")
    pooled = planted_sweep_forecast(tmp_path / "pooled.json", **{"fitted_to": "pooled seeds", **pooled_is})
    with pytest.raises(ForecastFileError, match=refusal):
        load_sweep_forecasts({"each run": each, "pooled seeds": pooled})


def test_a_sweeps_forecasts_of_one_suite_load_by_what_they_are_fitted_to(tmp_path: Path) -> None:
    each = planted_sweep_forecast(tmp_path / "each.json", "each run")
    pooled = planted_sweep_forecast(tmp_path / "pooled.json", "pooled seeds")
    loaded = load_sweep_forecasts({"each run": each, "pooled seeds": pooled})
    assert list(loaded) == ["each run", "pooled seeds"] and loaded["pooled seeds"][0]["suite_sha256"] == "ab12"
