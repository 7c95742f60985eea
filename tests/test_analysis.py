"""From a suite to fitted laws: the measured targets, planted-law recovery, and the fit report."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import t2lib
from t2lib import T2Accuracy, T2Loss
from t2lib.bench import BUDGETS, SIZES
from t2lib.laws import analysis

KS = analysis.FIT_KS
T2_LOSS = T2Loss(E=0.5, A=300.0, B=900.0, G=3.0, alpha=0.3, beta=0.3, gamma=0.4)
# Stage 1 of Approach 2 is fitted on the k = 1 task NLL, i.e. on T2_LOSS at k = 1.
TASK_LAW = T2_LOSS.single_pass
T2_ACC = T2Accuracy(TASK_LAW, theta0=4.5, theta1=2.0, theta2=0.8, theta3=0.5, theta4=-0.3)


def small_suite(tmp_path: Path) -> t2lib.Suite:
    rng = np.random.default_rng(1)
    checkpoints = pd.DataFrame({
        "checkpoint": [f"m{i}" for i in range(4)], "params": [1e7, 2e7, 4e7, 8e7], "tokens": [4e9, 2e9, 1e9, 5e8],
        "train_flops": [2.4e17] * 4, "source": ["porian", "porian", "porian", "overtrained"], "stage": ["base"] * 4,
        "base_checkpoint": [""] * 4,
    })
    nll = pd.DataFrame([{"checkpoint": c, "task": "t", "question": q, "nll": float(rng.exponential(3.0))}
                        for c in checkpoints["checkpoint"] for q in range(50)])
    tasks = pd.DataFrame({"task": ["t"], "display_name": ["T"], "group": ["real"], "n_questions": [50],
                          "source": ["made up for a test"]})
    return t2lib.load_suite(t2lib.write_suite(tmp_path / "suite", checkpoints, nll, tasks))


def test_measure_gives_task_nll_and_pass_at_k_per_checkpoint(tmp_path: Path) -> None:
    suite = small_suite(tmp_path)
    measured = analysis.measure(suite, "t")
    assert measured.task_nll.shape == measured.pass_at_k.shape == (4, len(KS))
    row = suite.task_nll("m2", "t")
    np.testing.assert_allclose(measured.task_nll[2], t2lib.task_nll(row, KS))
    np.testing.assert_allclose(measured.pass_at_k[2], t2lib.task_pass_at_k(row, KS))
    N, D, k = measured.long()
    assert len(N) == measured.task_nll.size and k[: len(KS)].tolist() == KS.tolist() and N[len(KS)] == 2e7


def test_measure_keeps_only_the_checkpoints_named(tmp_path: Path) -> None:
    suite = small_suite(tmp_path)
    measured = analysis.measure(suite, "t", checkpoints=["m3", "m0"])
    assert measured.checkpoints["checkpoint"].tolist() == ["m0", "m3"]
    with pytest.raises(KeyError, match="no base NLLs of task 't' for checkpoint 'nope'"):
        analysis.measure(suite, "t", checkpoints=["m0", "nope"])


def test_measure_at_budget_uses_each_checkpoints_own_k(tmp_path: Path) -> None:
    suite = small_suite(tmp_path)
    table = analysis.measure_at_budget(suite, "t", c_inf=2e9)
    np.testing.assert_allclose(table["k"], 2e9 / (2 * table["params"]))
    assert table["pass_at_k"][1] == pytest.approx(float(t2lib.task_pass_at_k(suite.task_nll("m1", "t"), 50.0)))
    with pytest.raises(ValueError, match="fewer than one sample for checkpoint .m3."):
        analysis.measure_at_budget(suite, "t", c_inf=1e8)


def planted_measurement() -> analysis.Measured:
    N, C = (a.ravel() for a in np.meshgrid(SIZES, BUDGETS))
    D = C / (6 * N)
    keep = (D / N >= 1) & (D / N <= 1e4)
    meta = pd.DataFrame({"checkpoint": np.arange(keep.sum()).astype(str), "params": N[keep], "tokens": D[keep],
                         "train_flops": C[keep]})
    N_grid, k_grid = np.meshgrid(N[keep], KS, indexing="ij")
    D_grid = np.meshgrid(D[keep], KS, indexing="ij")[0]
    return analysis.Measured("planted", "base", meta, KS, T2_LOSS.loss(N_grid, D_grid, k_grid),
                             T2_ACC.pass_at_k(N_grid, D_grid, k_grid))


def test_fit_task_recovers_planted_laws() -> None:
    fits = analysis.fit_task(planted_measurement())
    assert fits.approach1.converged, fits.approach1.message
    for name in ("E", "A", "B", "G", "alpha", "beta", "gamma"):
        assert getattr(fits.approach1.law, name) == pytest.approx(getattr(T2_LOSS, name), rel=1e-4), name
    # Stage 1 sees the k = 1 task NLL, which is Chinchilla with floor E + G.
    assert fits.chinchilla.law.E == pytest.approx(T2_LOSS.E + T2_LOSS.G, rel=1e-4)
    assert fits.approach2.converged, fits.approach2.message
    for i in range(5):
        assert getattr(fits.approach2.law, f"theta{i}") == pytest.approx(getattr(T2_ACC, f"theta{i}"), rel=1e-3)


def test_fit_report_has_a_status_for_every_fit() -> None:
    fits = {"planted": analysis.fit_task(planted_measurement())}
    report = analysis.fit_report(fits)
    assert report["law"].tolist() == ["Chinchilla (k = 1)", "Approach 1", "Approach 2"]
    assert set(report["status"]) <= {"converged", "hit a bound", "reached max iterations", "failed"}
    assert analysis.approach1_laws(fits)[0] is fits["planted"].approach1.law


def test_fit_task_needs_k_equal_to_one() -> None:
    measured = planted_measurement()
    without_one = analysis.Measured("planted", "base", measured.checkpoints, KS[1:], measured.task_nll[:, 1:],
                                    measured.pass_at_k[:, 1:])
    with pytest.raises(ValueError, match="must contain k = 1"):
        analysis.fit_task(without_one)


def test_the_parameter_table_and_residuals_report_a_planted_fit() -> None:
    from t2lib.laws.analysis import Measured, approach1_residuals, parameter_table

    law = t2lib.T2Loss(E=0.5, A=200.0, B=500.0, G=2.0, alpha=0.3, beta=0.3, gamma=0.5)
    meta = pd.DataFrame({"checkpoint": ["a", "b"], "params": [1e6, 4e6], "tokens": [1e9, 2e9],
                         "train_flops": [6e15, 4.8e16]})
    ks = np.array([1.0, 4.0])
    nll = law.loss(meta["params"].to_numpy()[:, None], meta["tokens"].to_numpy()[:, None], ks[None, :])
    measured = Measured("t", "base", meta, ks, nll + 0.1, np.full_like(nll, 0.5))
    residuals = approach1_residuals(measured, law)
    assert list(residuals["checkpoint"]) == ["a", "a", "b", "b"] and list(residuals["k"]) == [1.0, 4.0, 1.0, 4.0]
    np.testing.assert_allclose(residuals["residual"], -0.1)
    fits = {"t": analysis.fit_task(planted_measurement())}
    table = parameter_table(fits)
    assert list(table["law"]) == ["Chinchilla (k = 1)", "Approach 1", "Approach 2"]
    assert {"alpha", "gamma", "theta4", "status"} <= set(table.columns)


def test_approach1_refits_recover_a_planted_law_on_part_of_k_and_refuse_bad_targets() -> None:
    law = t2lib.T2Loss(E=0.5, A=200.0, B=500.0, G=2.0, alpha=0.3, beta=0.3, gamma=0.5)
    N, D = np.repeat(np.array([1e6, 2e6, 4e6, 8e6]), 3), np.tile(np.array([1e8, 1e9, 1e10]), 4)
    meta = pd.DataFrame({"checkpoint": [f"c{i}" for i in range(12)], "params": N, "tokens": D, "train_flops": 6 * N * D})
    ks = 2.0 ** np.arange(8)
    nll = law.loss(N[:, None], D[:, None], ks[None, :])
    measured = analysis.Measured("t", "base", meta, ks, nll, np.exp(-nll))
    for k_max in (16.0, None):
        result = analysis.fit_approach1(measured, k_max=k_max)
        assert result.n_points == 12 * (5 if k_max else 8)
        assert result.law.gamma == pytest.approx(0.5, rel=1e-5)
    # −log of pass@k = exp(−nll) is the same numbers here: the extension recovers the same law.
    assert analysis.fit_approach1(measured, target="−log pass@k").law.alpha == pytest.approx(0.3, rel=1e-5)
    with pytest.raises(ValueError, match="target must be one of"):
        analysis.fit_approach1(measured, target="accuracy")
    with pytest.raises(ValueError, match="leaves fewer than two values of k"):
        analysis.fit_approach1(measured, k_max=1.0)


def test_with_theta2_keeps_the_tail_and_refuses_bad_values() -> None:
    task = t2lib.Chinchilla(E=2.0, A=300.0, B=900.0, alpha=0.3, beta=0.3)
    law = T2Accuracy(task, theta0=1.0, theta1=2.0, theta2=1.0, theta3=0.5, theta4=-0.3)
    halved = analysis.with_theta2(law, 0.5)
    deep_tail = np.array([8.0, 12.0])  # θ1·(L̂ − θ0) ≥ 14: the sigmoid is its exponential tail
    np.testing.assert_allclose(halved.mean_from_loss(deep_tail), law.mean_from_loss(deep_tail), rtol=1e-5)
    assert halved.theta2 == 0.5 and halved.theta0 == pytest.approx(1.0 + np.log(2) / 2)
    with pytest.raises(ValueError, match="theta2 must be in"):
        analysis.with_theta2(law, 1.5)


def test_the_weighting_effect_is_nil_on_exact_data_and_names_both_fits() -> None:
    law = t2lib.Chinchilla(E=1.8, A=400.0, B=800.0, alpha=0.33, beta=0.29)
    N = np.repeat(np.array([1e7, 3e7, 1e8, 3e8]), 4)
    C = np.tile(np.array([1e18, 4e18, 1.6e19, 6.4e19]), 4)
    D = C / (6 * N)
    effect = analysis.weighting_effect(N, D, C, law.loss(N, D))
    assert effect["weighted α"] == pytest.approx(0.33, rel=1e-5) and effect["unweighted α"] == pytest.approx(0.33, rel=1e-5)
    assert effect["weighted a"] == pytest.approx(0.29 / 0.62, rel=1e-5)


def test_the_recipe_comparison_reports_both_objectives_on_a_planted_task() -> None:
    measured = planted_measurement()
    table = analysis.recipe_comparison(measured, analysis.fit_task(measured))
    assert list(table["law"]) == ["Chinchilla (k = 1)", "Approach 2"]
    # Exact planted data: the fast recipe reaches the planted law (objective ~0), at least as low as the paper's.
    assert np.all(table["fast objective"] <= table["paper objective"] + 1e-12)
    np.testing.assert_allclose(table["fast − paper (relative)"],
                               table["fast objective"] / table["paper objective"] - 1)


def test_the_recipe_comparison_adds_approach_1_with_the_restarts_asked_for() -> None:
    measured = planted_measurement()
    table = analysis.recipe_comparison(measured, analysis.fit_task(measured), approach1_restarts=3)
    assert list(table["law"]) == ["Chinchilla (k = 1)", "Approach 1", "Approach 2"]
    row = table.set_index("law").loc["Approach 1"]
    assert row["paper starts"] == 3
    assert row["fast objective"] <= row["paper objective"] + 1e-12


def test_isoflop_profiles_stop_where_the_suite_has_no_data() -> None:
    law = T2Loss(E=1.0, A=300.0, B=900.0, G=3.0, alpha=0.3, beta=0.3, gamma=0.4)
    sizes = np.logspace(4, 7, 31)
    full = analysis.isoflop_profiles([law], [1e12, 1e14], 1e8, sizes)
    cut = analysis.isoflop_profiles([law], [1e12, 1e14], 1e8, sizes, min_tokens_per_param=2.0)
    for c in (1e12, 1e14):
        kept = cut[cut["c_train"] == c]
        assert (c / (6 * kept["N"] ** 2) >= 2.0).all()
        dropped = full[(full["c_train"] == c) & ~full["N"].isin(kept["N"])]
        assert (c / (6 * dropped["N"] ** 2) < 2.0).all()
    assert len(full) == 2 * 31 and len(cut) < len(full)
    pd.testing.assert_frame_equal(cut.reset_index(drop=True), full[full["N"].isin(cut["N"]) & (
        full["c_train"] / (6 * full["N"] ** 2) >= 2.0)].reset_index(drop=True))


def test_isoflop_panels_draw_every_budget_from_below_every_optimum_to_above_the_largest_checkpoint() -> None:
    import pandas as pd

    from t2lib.laws.laws import T2Loss

    law = T2Loss(E=1.0, A=300.0, B=900.0, G=3.0, alpha=0.3, beta=0.3, gamma=0.4)
    base = pd.DataFrame({"train_flops": [1e18, 1.002e18, 4e18], "params": [2e7, 1e8, 1e8],
                         "tokens": [1e18 / 1.2e8, 1.002e18 / 6e8, 4e18 / 6e8]})
    budgets, sizes, panels = analysis.isoflop_panels(base, {"only": law}, 1e9, 30)
    assert list(budgets) == [1e18, 4e18] and len(sizes) == 30  # the two 1e18 runs are one level
    profiles, optima = panels["only"]
    pd.testing.assert_frame_equal(optima, analysis.isoflop_optima(law, budgets, 1e9))
    assert sizes[0] < min(2e7, optima["t2_N"].min()) and sizes[-1] > 1e8
    least = (base["tokens"] / base["params"]).min() / 2
    assert (profiles["c_train"] / (6 * profiles["N"] ** 2) >= least).all()
