"""The forecast written before a validation run: its rows, its budget rules, its provenance, the
file round trip and the command line."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import t2lib
from t2lib.forecast import (ForecastFileError, chinchilla_size, forecast_rows, inference_budget, largest_difference,
                            load_forecast, read_sizes, save_forecast, trainable_sizes, validation_budget)
from t2lib.plan import plan
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
