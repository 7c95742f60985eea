"""The seeded isoFLOP sweep: the measured curve recovers a planted optimum and its uncertainty over
questions and seeds, the forecast's optima are set against it, and the T² model meets each
Chinchilla choice with a paired interval (or is named the same model)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from t2lib.data.suite import load_suite, write_suite
from t2lib.laws.passk import pass_at_k
from t2lib.laws.sweep import (BEST_SET_LEVEL, measured_curve, optimum_against_forecast, optimum_role, sizes_of,
                              sweep_duels)

SIZES = [1e4, 2e4, 4e4, 8e4, 1.6e5]
P_OF_SIZE = [0.001, 0.01, 0.08, 0.1, 0.12]  # at C_inf = 8e5 (k = 40 … 2.5), the middle size is best
C_INF = 8e5
TASKS = ["x", "y"]
GUESS = {"x": 1e-5, "y": 2e-5}


def sweep_suite(tmp_path: Path, p_of_size=P_OF_SIZE, seed_spread: float = 0.05, questions: int = 300) -> Path:
    """Five sizes at two seeds, two tasks; question q of size i is right with probability
    p_of_size[i] · u_q (u_q shared by every size), times 1 ± seed_spread for seed 0 and 1."""
    checkpoints, nll = [], []
    for i, (N, p) in enumerate(zip(SIZES, p_of_size)):
        for seed, factor in enumerate((1 - seed_spread, 1 + seed_spread)):
            name = f"v-{i}" + (f"-s{seed}" if seed else "")
            checkpoints.append({"checkpoint": name, "params": N, "tokens": 1e12 / (6 * N), "train_flops": 1e12,
                                "source": "planted", "stage": "base", "base_checkpoint": "", "cell": f"v-{i}",
                                "seed": seed})
            for task in TASKS:
                u = np.random.default_rng([TASKS.index(task)]).uniform(0.5, 1.5, questions)
                nll += [{"checkpoint": name, "task": task, "question": q, "nll": -np.log(p * factor * u[q])}
                        for q in range(questions)]
    tasks = pd.DataFrame({"task": TASKS, "display_name": TASKS, "group": "synthetic", "n_questions": questions,
                          "source": "planted", "guess": [GUESS[t] for t in TASKS]})
    return write_suite(tmp_path / "sweep", pd.DataFrame(checkpoints), pd.DataFrame(nll), tasks)


def planted_forecast(t2_size: float, chinchilla_size: float, lm_size: float) -> pd.DataFrame:
    """A sweep forecast's rows at C_INF: both optima (Approach 1 at the T² size too) with N bands,
    and the trained sizes with their roles."""
    roles = {N: [] for N in SIZES}
    roles[t2_size] += [optimum_role("1", C_INF), optimum_role("2", C_INF)]
    roles[chinchilla_size].append("Chinchilla choice (task NLL, k = 1)")
    roles[lm_size].append("Chinchilla choice (LM loss)")
    optima = [{"approach": key, "priced_by": key, "c_inf": C_INF, "N": t2_size * 1.1, "N_low": t2_size * 0.7,
               "N_high": t2_size * 1.6} for key in ("1", "2")]
    trained = [{"approach": "trainable", "priced_by": key, "c_inf": C_INF, "N": N,
                "role": ", ".join(role) or "isoFLOP curve"} for key in ("1", "2") for N, role in roles.items()]
    return pd.DataFrame(optima + trained)


def test_the_measured_curve_finds_the_planted_optimum_with_its_uncertainty(tmp_path: Path) -> None:
    suite = load_suite(sweep_suite(tmp_path))
    curve = measured_curve(suite, TASKS, C_INF, guess=GUESS, resamples=400)
    assert list(curve["N"]) == SIZES and list(curve["seeds"]) == [2] * 5
    assert np.allclose(curve["k"], C_INF / (2 * np.array(SIZES)))
    u = {t: np.random.default_rng([TASKS.index(t)]).uniform(0.5, 1.5, 300) for t in TASKS}
    expected = [np.mean([np.mean([pass_at_k(p * f * u[t], k).mean() for f in (0.95, 1.05)]) for t in TASKS])
                for p, k in zip(P_OF_SIZE, curve["k"])]
    assert np.allclose(curve["value"], expected, rtol=1e-9)
    assert ((curve["low"] <= curve["value"]) & (curve["value"] <= curve["high"])).all()
    assert curve.loc[curve["optimum"], "N"].item() == 4e4 and curve.loc[2, "p_best"] > BEST_SET_LEVEL
    assert list(curve["in_best_set"]) == [False, False, True, False, False]
    assert curve["p_best"].sum() == pytest.approx(1.0)
    assert np.allclose(curve["guess_at_k"], [np.mean([pass_at_k(GUESS[t], k) for t in TASKS]) for k in curve["k"]])
    nll = measured_curve(suite, TASKS, C_INF, measure="task_nll", resamples=200)
    assert nll.loc[nll["optimum"], "N"].item() == 4e4  # the lowest task NLL: −log pass@k is monotone per question


def test_sizes_the_data_cannot_tell_apart_share_the_best_set_and_wider_seeds_widen_the_interval(tmp_path: Path) -> None:
    # The middle size and the next one score pass@k within 0.001 of each other.
    twins = load_suite(sweep_suite(tmp_path / "twins", p_of_size=[0.001, 0.01, 0.08, 0.154, 0.036]))
    curve = measured_curve(twins, TASKS, C_INF, resamples=400)
    assert curve["in_best_set"].sum() >= 2 and curve.loc[curve["in_best_set"], "p_best"].sum() >= BEST_SET_LEVEL
    narrow = measured_curve(load_suite(sweep_suite(tmp_path / "narrow", seed_spread=0.0)), TASKS, C_INF, resamples=400)
    wide = measured_curve(load_suite(sweep_suite(tmp_path / "wide", seed_spread=0.3)), TASKS, C_INF, resamples=400)
    assert ((wide["high"] - wide["low"]) > (narrow["high"] - narrow["low"])).all()
    only_small = measured_curve(twins, TASKS, 5e4, resamples=50)  # 2N ≤ 5e4: the two smallest sizes
    assert list(only_small["N"]) == [1e4, 2e4]
    with pytest.raises(ValueError, match="no trained size affords one sample"):
        measured_curve(twins, TASKS, 1e4)


def test_the_forecast_optima_are_set_against_the_measured_one(tmp_path: Path) -> None:
    suite = load_suite(sweep_suite(tmp_path))
    curves = {measure: measured_curve(suite, TASKS, C_INF, measure=measure, resamples=300)
              for measure in ("task_nll", "pass_at_k")}
    right = optimum_against_forecast(planted_forecast(4e4, 1.6e5, 8e4), curves, C_INF)
    assert list(right["approach"]) == ["Approach 1", "Approach 2"] and list(right["measure"]) == ["task_nll", "pass_at_k"]
    assert (right["stand_in_N"] == 4e4).all() and (right["measured_N"] == 4e4).all()
    assert right["stand_in_in_best_set"].all() and (right["forecast_N_low"] == 4e4 * 0.7).all()
    wrong = optimum_against_forecast(planted_forecast(1e4, 1.6e5, 8e4), curves, C_INF)
    assert not wrong["stand_in_in_best_set"].any() and (wrong["stand_in_p_best"] == 0).all()


def test_the_t2_model_meets_each_chinchilla_choice_with_paired_intervals(tmp_path: Path) -> None:
    suite = load_suite(sweep_suite(tmp_path))
    duels = sweep_duels(suite, planted_forecast(4e4, 1.6e5, 4e4), TASKS, [C_INF], guess=GUESS, resamples=300)
    task_law = duels[duels["opponent"] == "Chinchilla (task NLL, k = 1)"].set_index("measure")
    assert list(task_law.index) == ["pass_at_k", "skill"] and (task_law["outcome"] == "win").all()
    assert task_law.loc["pass_at_k", "k_t2"] == pytest.approx(10.0) and task_law.loc["pass_at_k", "k_opponent"] == 2.5
    assert (task_law["low"] > 0).all() and task_law.loc["pass_at_k", "guess_t2"] < 1e-3
    same = duels[duels["opponent"] == "Chinchilla (LM loss)"]
    assert list(same["outcome"]) == ["same model", "same model"] and same["difference"].isna().all()
    without_guess = sweep_duels(suite, planted_forecast(4e4, 1.6e5, 8e4), TASKS, [C_INF], resamples=100)
    assert set(without_guess["measure"]) == {"pass_at_k"} and len(without_guess) == 2
    assert list(sizes_of(suite)["cell"]) == [f"v-{i}" for i in range(5)]


def test_the_sweep_figure_has_a_panel_per_budget_with_the_measurement_forecast_guessing_and_choices(
        tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from t2lib.book.plots import sweep_figure

    suite = load_suite(sweep_suite(tmp_path))
    forecast = planted_forecast(4e4, 1.6e5, 8e4).assign(value=0.3)
    curves = pd.concat([measured_curve(suite, TASKS, c_inf, guess=GUESS, resamples=100) for c_inf in (C_INF, 2e5)])
    forecast = pd.concat([forecast, forecast.assign(c_inf=2e5)])
    fig = sweep_figure(curves, forecast, [C_INF, 2e5])
    assert len(fig.axes) == 2
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert sorted(labels) == sorted(["forecast (Approach 2)", "guessing at the same k", "measured (seed mean)",
                                     "measured optimum", "Chinchilla (task NLL, k = 1)", "Chinchilla (LM loss)"])
    assert len(fig.axes[1].collections[1].get_offsets()) == 4  # at 2e5, only N ≤ 1e5 affords a sample
