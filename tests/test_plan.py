"""Saved fits and the planner: round trip, brute-force optimum, flags, the command line end to end."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import t2lib
from t2lib.data.lm_eval import write_lm_eval_runs
from t2lib.laws import analysis
from t2lib.laws.analysis import TaskFits
from t2lib.laws.fit import FitResult
from t2lib.laws.fitquality import classify
from t2lib.laws.plan import gain_in_words, plan
from t2lib.laws.saved import FitsFileError, SavedFits, load_fits, save_fits

REPO_ROOT = Path(__file__).resolve().parent.parent
TASK_LAW = t2lib.Chinchilla(E=2.0, A=300.0, B=900.0, alpha=0.3, beta=0.3)
A1 = t2lib.T2Loss(E=0.5, A=300.0, B=900.0, G=3.0, alpha=0.3, beta=0.3, gamma=0.4)
A2 = t2lib.T2Accuracy(TASK_LAW, theta0=3.5, theta1=2.0, theta2=0.8, theta3=0.5, theta4=-0.3)


def planted(ranges: dict | None = None) -> SavedFits:
    result = lambda law: FitResult(law, 0.0, "converged", 1, 0.0, "fast", 10)  # noqa: E731
    fits = {"t": TaskFits("t", "base", result(TASK_LAW), result(A1), result(A2))}
    ranges = ranges or {"N": (1e6, 1e9), "D": (1e8, 1e12), "k": (1.0, 1024.0)}
    quality = {("t", law): classify(fitted) for law, fitted in fits["t"].results().items()}
    return SavedFits(fits, {"t": ranges}, "0" * 64, t2lib.laws.saved.t2lib_version(), quality)


def brute_force(value, c_train: float, c_inf: float, maximise: bool) -> float:
    N = np.logspace(3, np.log10(c_inf / 2), 200_001)
    scores = value(N, c_train / (6 * N), np.maximum(c_inf / (2 * N), 1.0))  # rounding at N = c_inf/2
    return float(N[np.argmax(scores) if maximise else np.argmin(scores)])


def test_the_plan_agrees_with_a_brute_force_search_and_prices_the_chinchilla_choice() -> None:
    table = plan(planted(), [1e19, 1e21], 1.4e11)
    for c in (1e19, 1e21):
        rows = table[table["c_train"] == c].set_index(["approach", "priced_by"])
        assert rows.loc[("1", "1"), "N"] == pytest.approx(brute_force(A1.loss, c, 1.4e11, False), rel=1e-3)
        assert rows.loc[("2", "2"), "N"] == pytest.approx(brute_force(A2.pass_at_k, c, 1.4e11, True), rel=1e-3)
        chinchilla_N = TASK_LAW.compute_optimal(c)[0]
        assert rows.loc[("chinchilla", "1"), "N"] == pytest.approx(chinchilla_N, rel=1e-6)
        chosen = rows.loc[("chinchilla", "1"), "N"]
        assert rows.loc[("chinchilla", "1"), "value"] == pytest.approx(
            A1.loss(chosen, c / (6 * chosen), 1.4e11 / (2 * chosen)), rel=1e-12)
        assert rows.loc[("1", "1"), "value"] <= rows.loc[("chinchilla", "1"), "value"]
    assert len(gain_in_words(table)) == 4 and "lower" in gain_in_words(table)[0]


def test_every_number_outside_the_fitted_data_is_flagged() -> None:
    table = plan(planted({"N": (1e8, 1e9), "D": (1e8, 1e10), "k": (1.0, 8.0)}), [1e22], 2e9)
    optimum = table[table["approach"] == "1"].iloc[0]
    assert "N below the fitted range" in optimum["flags"] and "D above the fitted range" in optimum["flags"]
    unaffordable = plan(planted(), [1e24], 2e9)
    chinchilla = unaffordable[unaffordable["approach"] == "chinchilla"].iloc[0]
    assert np.isnan(chinchilla["value"]) and "unaffordable: N > C_inf/2" in chinchilla["flags"]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: plan(planted(), [-1.0], 2e9), "c_train must be > 0"),
    (lambda: plan(planted(), [1e20], 2e9, tasks=["mmlu"]), "tasks: no fits for task 'mmlu'"),
    (lambda: plan(planted(), [1e20], 2e9, approach="3"), "approach must be"),
])
def test_bad_plans_are_named(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[t2lib.Suite, dict, Path]:
    suite = t2lib.load_suite(REPO_ROOT / "data" / "t2_suite")
    fits = analysis.fit_suite(suite, ["sciq", "openbookqa"])
    path = save_fits(fits, tmp_path_factory.mktemp("fits") / "fits.json", suite=suite, ks=analysis.FIT_KS)
    return suite, fits, path


def test_saved_fits_reload_to_identical_predictions(fitted) -> None:
    suite, fits, path = fitted
    saved = load_fits(path)
    assert saved.suite_sha256 == suite.sha256
    rng = np.random.default_rng(0)
    N, D, k = 10 ** rng.uniform(6, 10, 50), 10 ** rng.uniform(8, 13, 50), 2 ** rng.uniform(0, 12, 50)
    for task, fit in fits.items():
        again = saved.fits[task]
        assert again.approach1.law == fit.approach1.law and again.approach2.law == fit.approach2.law
        assert np.array_equal(again.approach2.law.pass_at_k(N, D, k), fit.approach2.law.pass_at_k(N, D, k))
        assert again.approach1.status == fit.approach1.status and again.approach1.on_bounds == fit.approach1.on_bounds
    base = suite.base
    assert saved.fitted_range("N") == (base["params"].min(), base["params"].max())
    assert saved.fitted_range("k") == (1.0, 1024.0)


def test_a_fits_file_of_another_version_or_format_is_refused(fitted, tmp_path: Path) -> None:
    _, _, path = fitted
    record = json.loads(path.read_text())
    record["t2lib_version"] = "0.0.1"
    other = tmp_path / "old.json"
    other.write_text(json.dumps(record))
    with pytest.raises(FitsFileError, match=r"old.json: written by t2lib 0.0.1, this is t2lib"):
        load_fits(other)
    other.write_text("{}")
    with pytest.raises(FitsFileError, match=r"not a t2lib fits file"):
        load_fits(other)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "t2lib", *args], capture_output=True, text=True, cwd=REPO_ROOT)


def test_two_commands_turn_a_folder_of_runs_into_a_plan(tmp_path: Path) -> None:
    suite = t2lib.load_suite(REPO_ROOT / "data" / "t2_suite")
    folder = write_lm_eval_runs(suite, tmp_path / "evals", tasks=["sciq"], checkpoints=list(suite.base["checkpoint"]))
    imported = run_cli("import-lm-eval", str(folder / "runs"), "--models", str(folder / "models.csv"),
                       "--out", str(tmp_path / "suite"))
    assert imported.returncode == 0, imported.stderr
    assert "found 106 runs; imported 106 as checkpoints" in imported.stdout
    fitted = run_cli("fit", str(tmp_path / "suite"), "--out", str(tmp_path / "fits.json"))
    assert fitted.returncode == 0, fitted.stderr
    planned = run_cli("plan", "--fits", str(tmp_path / "fits.json"), "--c-train", "1e19", "1e20", "--c-inf", "2e9",
                      "--json")
    assert planned.returncode == 0, planned.stderr
    rows = json.loads(planned.stdout)
    assert {row["approach"] for row in rows} == {"1", "2", "chinchilla"} and len(rows) == 8
    assert {"c_train", "c_inf", "N", "D", "k", "tokens_per_param", "value", "flags"} <= set(rows[0])
    # The same data, fitted directly, give the same plan.
    direct = plan(load_fits(save_fits(analysis.fit_suite(suite, ["sciq"]), tmp_path / "direct.json", suite=suite,
                                      ks=analysis.FIT_KS)), [1e19, 1e20], 2e9)
    np.testing.assert_allclose([row["N"] for row in rows], direct["N"], rtol=1e-9)


@pytest.mark.parametrize(("args", "message"), [
    (["plan", "--fits", "nope.json", "--c-train", "1e20", "--c-inf", "2e9"], "error: nope.json: no such fits file"),
    (["plan", "--fits", "x.json", "--c-train", "-5", "--c-inf", "2e9"],
     "error: python -m t2lib plan: argument --c-train: must be a positive number of FLOPs; got '-5'"),
    (["plan", "--suite", "data/t2_suite", "--tasks", "mmlu", "--c-train", "1e20", "--c-inf", "2e9"],
     "error: --tasks: the suite data/t2_suite has no task 'mmlu'"),
    (["import-lm-eval", "no-such-dir", "--models", "m.csv", "--out", "x"], "error: m.csv: no such file"),
])
def test_command_line_errors_are_one_line(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and result.stderr.startswith(message), result.stderr


def test_saved_fits_record_the_range_of_the_checkpoints_fitted(fitted, tmp_path: Path) -> None:
    suite, _, _ = fitted
    small = suite.base[suite.base["params"] < 5e7]["checkpoint"]
    fits = analysis.fit_suite(suite, ["sciq"], checkpoints=small)
    saved = load_fits(save_fits(fits, tmp_path / "part.json", suite=suite, ks=analysis.FIT_KS, checkpoints=small))
    assert saved.fitted_range("N")[1] == suite.base.set_index("checkpoint").loc[small, "params"].max() < 5e7


def test_writing_runs_again_replaces_the_earlier_ones(tmp_path: Path) -> None:
    suite = t2lib.load_suite(REPO_ROOT / "data" / "t2_suite")
    checkpoints = list(suite.base["checkpoint"])
    write_lm_eval_runs(suite, tmp_path / "evals", tasks=["sciq"], checkpoints=checkpoints)
    folder = write_lm_eval_runs(suite, tmp_path / "evals", tasks=["sciq"], checkpoints=checkpoints[:3])
    run_dir = folder / "runs" / "example__model"
    assert len(list(run_dir.glob("results_*.json"))) == 3 and len(list(run_dir.glob("samples_*.jsonl"))) == 3
