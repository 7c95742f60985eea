"""The seeded isoFLOP sweep: the measured curve recovers a planted optimum from seed-averaged
probabilities, with seeds drawn once for every task and sizes tied only where their paired
difference cannot be told from zero; the forecast's optima are judged on each approach's own
measure; and the T² model meets each Chinchilla choice with a paired interval, or a label where
no comparison can be made."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from t2lib.data.suite import load_suite, write_suite
from t2lib.laws.passk import pass_at_k
from t2lib.laws.sweep import (CHINCHILLA_ROLES, MIN_EFFECT, REPEATED, duel_summary, measured_curve, optimum_against_forecast,
                              optimum_role, size_with_role, sizes_of, sweep_duels)

SIZES = [1e4, 2e4, 4e4, 8e4, 1.6e5]
P_OF_SIZE = [0.001, 0.01, 0.08, 0.1, 0.12]  # at C_inf = 8e5 (k = 40 … 2.5), the middle size is best
C_INF = 8e5
TASKS = ["x", "y"]
GUESS = {"x": 1e-5, "y": 2e-5}
QUESTIONS = 300


def difficulty(task: str) -> np.ndarray:
    """Each question's multiplier of its size's probability, shared by every size."""
    return np.random.default_rng([TASKS.index(task)]).uniform(0.5, 1.5, QUESTIONS)


def sweep_suite(tmp_path: Path, p_of_size=P_OF_SIZE, seed_factors=None, guess=GUESS, sizes=SIZES) -> Path:
    """Sizes at two seeds, two tasks; question q of size i is right with probability
    p_of_size[i] · difficulty_q, times seed_factors[task][seed] (default 0.95 and 1.05 on both)."""
    seed_factors = seed_factors or {task: (0.95, 1.05) for task in TASKS}
    checkpoints, nll = [], []
    for i, (N, p) in enumerate(zip(sizes, p_of_size)):
        for seed in (0, 1):
            name = f"v-{i}" + (f"-s{seed}" if seed else "")
            checkpoints.append({"checkpoint": name, "params": N, "tokens": 1e12 / (6 * N), "train_flops": 1e12,
                                "source": "planted", "stage": "base", "base_checkpoint": "", "cell": f"v-{i}",
                                "seed": seed})
            for task in TASKS:
                probability = np.minimum(p * seed_factors[task][seed] * difficulty(task), 1.0)
                nll += [{"checkpoint": name, "task": task, "question": q, "nll": -np.log(probability[q])}
                        for q in range(QUESTIONS)]
    tasks = pd.DataFrame({"task": TASKS, "display_name": TASKS, "group": "synthetic", "n_questions": QUESTIONS,
                          "source": "planted", "guess": [guess[t] for t in TASKS]})
    return write_suite(tmp_path / "sweep", pd.DataFrame(checkpoints), pd.DataFrame(nll), tasks)


def planted_forecast(optimum: dict[str, float], chinchilla_size: float, lm_size: float,
                     sizes=SIZES) -> pd.DataFrame:
    """A sweep forecast's rows at C_INF: each approach's optimum (`optimum[key]`) with an N band,
    and the trained sizes with their roles."""
    roles = {N: [] for N in sizes}
    for key, N in optimum.items():
        roles[N].append(optimum_role(key, C_INF))
    roles[chinchilla_size].append("Chinchilla choice (task NLL, k = 1)")
    roles[lm_size].append("Chinchilla choice (LM loss)")
    optima = [{"approach": key, "priced_by": key, "c_inf": C_INF, "N": N * 1.1, "N_low": N * 0.7, "N_high": N * 1.6}
              for key, N in optimum.items()]
    trained = [{"approach": "trainable", "priced_by": key, "c_inf": C_INF, "N": N,
                "role": ", ".join(role) or "isoFLOP curve"} for key in ("1", "2") for N, role in roles.items()]
    return pd.DataFrame(optima + trained)


def test_the_curve_finds_the_planted_optimum_from_seed_averaged_probabilities(tmp_path: Path) -> None:
    suite = load_suite(sweep_suite(tmp_path))
    curve = measured_curve(suite, TASKS, C_INF, guess=GUESS, resamples=400)
    assert list(curve["N"]) == SIZES and list(curve["seeds"]) == [2] * 5
    assert np.allclose(curve["k"], C_INF / (2 * np.array(SIZES)))
    # The seeds' mean probability is p · difficulty (factors 0.95 and 1.05), the quantity the laws fit.
    expected = [np.mean([pass_at_k(p * difficulty(t), k).mean() for t in TASKS]) for p, k in zip(P_OF_SIZE, curve["k"])]
    assert np.allclose(curve["value"], expected, rtol=1e-9)
    assert ((curve["low"] <= curve["value"]) & (curve["value"] <= curve["high"])).all()
    assert curve.loc[curve["optimum"], "N"].item() == 4e4 and curve.loc[2, "p_best"] > 0.95
    assert list(curve["tied_with_optimum"]) == [False, False, True, False, False]
    assert curve["p_best"].sum() == pytest.approx(1.0)
    assert np.allclose(curve["guess_at_k"], [np.mean([pass_at_k(GUESS[t], k) for t in TASKS]) for k in curve["k"]])
    nll = measured_curve(suite, TASKS, C_INF, measure="task_nll", resamples=200)
    assert nll.loc[nll["optimum"], "N"].item() == 4e4
    with pytest.raises(ValueError, match="measure must be one of"):
        measured_curve(suite, TASKS, C_INF, measure="skill")


def test_sizes_are_tied_only_where_their_paired_difference_holds_zero(tmp_path: Path) -> None:
    # The middle size and the next one score pass@k within 0.001 of each other.
    twins = load_suite(sweep_suite(tmp_path / "twins", p_of_size=[0.001, 0.01, 0.08, 0.154, 0.036]))
    curve = measured_curve(twins, TASKS, C_INF, resamples=400)
    assert list(curve["tied_with_optimum"]) == [False, False, True, True, False]
    only_small = measured_curve(twins, TASKS, 5e4, resamples=50)  # 2N ≤ 5e4: the two smallest sizes
    assert list(only_small["N"]) == [1e4, 2e4]
    with pytest.raises(ValueError, match="no trained size affords one sample"):
        measured_curve(twins, TASKS, 1e4)


def test_a_seed_is_drawn_once_for_every_task(tmp_path: Path) -> None:
    """Seed 0 is worse on task x and better on task y by the same amount, seed 1 the reverse, so at
    k = 1 every draw of whole seeds gives one macro pass@1; only drawing seeds task by task would
    move it (the duels' seeds: tests/test_paired.py)."""
    opposite = {"x": (0.8, 1.2), "y": (1.2, 0.8)}
    suite = load_suite(sweep_suite(tmp_path, p_of_size=[0.1] * 5, seed_factors=opposite))
    curve = measured_curve(suite, ["x", "y"], 2 * SIZES[0], resamples=300, scored="each run")  # k = 1 for the smallest
    assert curve.loc[0, "k"] == 1.0
    narrow = curve.loc[0, "high"] - curve.loc[0, "low"]
    plain = load_suite(sweep_suite(tmp_path / "plain", p_of_size=[0.1] * 5))
    usual = measured_curve(plain, ["x", "y"], 2 * SIZES[0], resamples=300, scored="each run")
    assert narrow < 0.6 * (usual.loc[0, "high"] - usual.loc[0, "low"])  # the seeds add nothing: questions alone


def two_sizes(tmp_path: Path, probabilities: dict[int, np.ndarray]) -> Path:
    """Sizes 1e4 and 2e4 at two identical seeds, one task "x", each size's per-question probabilities."""
    checkpoints, nll = [], []
    for i, N in enumerate([1e4, 2e4]):
        for seed in (0, 1):
            name = f"v-{i}-s{seed}"
            checkpoints.append({"checkpoint": name, "params": N, "tokens": 1e8, "train_flops": 6e8 * N,
                                "source": "planted", "stage": "base", "base_checkpoint": "", "cell": f"v-{i}",
                                "seed": seed})
            nll += [{"checkpoint": name, "task": "x", "question": q, "nll": -np.log(p)}
                    for q, p in enumerate(probabilities[i])]
    return write_suite(tmp_path / "two", pd.DataFrame(checkpoints), pd.DataFrame(nll))


def test_sizes_are_compared_on_the_same_questions(tmp_path: Path) -> None:
    """Size 1 scores 5% more pass@k than size 0 on every question: a gap above the minimum effect
    but small beside the spread of the questions, which only a comparison on the same questions in
    every draw tells apart."""
    target = 0.3 * difficulty("x")  # pass@k of size 0, per question
    k = {0: 4.0, 1: 2.0}  # at C_inf = 8e4
    probabilities = {i: 1 - (1 - target * lift) ** (1 / k[i]) for i, lift in ((0, 1.0), (1, 1.05))}
    curve = measured_curve(load_suite(two_sizes(tmp_path, probabilities)), ["x"], 8e4, resamples=400)
    assert np.allclose(curve["value"], [target.mean(), 1.05 * target.mean()])
    assert 0.05 * target.mean() > MIN_EFFECT
    assert list(curve["optimum"]) == [False, True] and list(curve["tied_with_optimum"]) == [False, True]
    assert curve.loc[0, "high"] > curve.loc[1, "low"]  # the bars overlap, yet the paired gap is clear


def test_each_approach_is_judged_on_its_own_measure(tmp_path: Path) -> None:
    """Size 0 answers half the questions surely and half almost never; size 1 answers all at 0.3:
    macro pass@1 prefers size 0, macro task NLL (−log pass@1 averaged) prefers size 1."""
    split = np.r_[np.full(150, 0.999), np.full(150, 1e-6)]
    suite = load_suite(two_sizes(tmp_path, {0: split, 1: np.full(QUESTIONS, 0.3)}))
    c_inf = 4e4  # k = 2 and 1
    curves = {m: measured_curve(suite, ["x"], c_inf, measure=m, resamples=200) for m in ("pass_at_k", "task_nll")}
    forecast = pd.DataFrame([
        {"approach": "1", "priced_by": "1", "c_inf": c_inf, "N": 2e4},
        {"approach": "2", "priced_by": "2", "c_inf": c_inf, "N": 1e4},
        {"approach": "trainable", "priced_by": "2", "c_inf": c_inf, "N": 1e4, "role": optimum_role("2", c_inf)},
        {"approach": "trainable", "priced_by": "2", "c_inf": c_inf, "N": 2e4, "role": optimum_role("1", c_inf)}])
    judged = optimum_against_forecast(forecast, curves, suite, c_inf).set_index("approach")
    assert judged.loc["Approach 1", "measured_N"] == 2e4 and judged.loc["Approach 2", "measured_N"] == 1e4
    assert (judged["verdict"] == "the measured optimum").all() and judged["decisive"].all()
    assert np.isnan(judged.loc["Approach 1", "forecast_N_low"])  # a forecast without bands


def test_the_forecast_optima_are_set_against_the_measured_one(tmp_path: Path) -> None:
    suite = load_suite(sweep_suite(tmp_path))
    curves = {m: measured_curve(suite, TASKS, C_INF, measure=m, resamples=300) for m in ("task_nll", "pass_at_k")}
    right = optimum_against_forecast(planted_forecast({"1": 4e4, "2": 4e4}, 1.6e5, 8e4), curves, suite, C_INF)
    assert list(right["approach"]) == ["Approach 1", "Approach 2"] and list(right["measure"]) == ["task_nll", "pass_at_k"]
    assert (right["stand_in_N"] == 4e4).all() and (right["measured_N"] == 4e4).all()
    assert (right["verdict"] == "the measured optimum").all() and (right["forecast_N_low"] == 4e4 * 0.7).all()
    assert np.allclose(right["away"], 1.1)  # the optimum is 1.1 × the size trained for it: 1.1 times away
    wrong = optimum_against_forecast(planted_forecast({"1": 1e4, "2": 1e4}, 1.6e5, 8e4), curves, suite, C_INF)
    assert (wrong["verdict"] == "worse").all() and (wrong["tied_sizes"] == "40,000").all()
    untrained = planted_forecast({"1": 4e4, "2": 4e4}, 1.6e5, 8e4)
    untrained.loc[untrained["N"] == 4e4, "N"] = 4.5e4
    with pytest.raises(ValueError, match="no trained model of N = 45000"):
        optimum_against_forecast(untrained, curves, suite, C_INF)


def test_the_t2_model_meets_each_chinchilla_choice_with_paired_intervals_or_a_label(tmp_path: Path) -> None:
    suite = load_suite(sweep_suite(tmp_path))
    duels = sweep_duels(suite, planted_forecast({"1": 4e4, "2": 4e4}, 1.6e5, 4e4), TASKS, [C_INF], guess=GUESS,
                        resamples=300)
    task_law = duels[duels["opponent"] == "Chinchilla (task NLL, k = 1)"].set_index("measure")
    assert list(task_law.index) == ["pass_at_k", "skill"] and (task_law["outcome"] == "win").all()
    assert task_law.loc["pass_at_k", "k_t2"] == pytest.approx(10.0) and task_law.loc["pass_at_k", "k_opponent"] == 2.5
    assert (task_law["low"] > 0).all() and task_law.loc["pass_at_k", "tasks"] == "x, y"
    same = duels[duels["opponent"] == "Chinchilla (LM loss)"]
    assert list(same["outcome"]) == ["same model", "same model"] and same["difference"].isna().all()
    twins = load_suite(sweep_suite(tmp_path / "twins", p_of_size=[0.001, 0.01, 0.08, 0.154, 0.036]))
    tie = sweep_duels(twins, planted_forecast({"1": 4e4, "2": 4e4}, 8e4, 8e4), TASKS, [C_INF], resamples=300)
    assert set(tie["outcome"]) == {"tie", REPEATED} and set(tie["measure"]) == {"pass_at_k"}  # one model, met once
    # At C_inf = 2e5 the 1.6e5 model draws 0.625 samples: it scores nothing, the T² model cannot lose.
    small_budget = planted_forecast({"1": 4e4, "2": 4e4}, 1.6e5, 8e4).assign(c_inf=2e5)
    small_budget["role"] = small_budget["role"].str.replace(optimum_role("2", C_INF), optimum_role("2", 2e5))
    unaffordable = sweep_duels(suite, small_budget, TASKS, [2e5], resamples=100)
    assert unaffordable.set_index("opponent").loc["Chinchilla (task NLL, k = 1)", "outcome"] == \
        "cannot lose by construction"
    with pytest.raises(ValueError, match="no trained model of N = 90000"):
        sweep_duels(suite, planted_forecast({"1": 4e4, "2": 4e4}, 1.6e5, 8e4).replace({"N": {8e4: 9e4}}), TASKS,
                    [C_INF], resamples=10)


def test_skill_is_measured_above_guessing_at_each_models_own_k(tmp_path: Path) -> None:
    guess = {"x": 0.02, "y": 0.05}
    suite = load_suite(sweep_suite(tmp_path, guess=guess))
    duels = sweep_duels(suite, planted_forecast({"1": 4e4, "2": 4e4}, 1.6e5, 8e4), TASKS, [C_INF], guess=guess,
                        resamples=100)
    skill = duels[(duels["measure"] == "skill") & (duels["opponent"] == "Chinchilla (task NLL, k = 1)")].iloc[0]

    def expected(p: float, k: float) -> float:
        per_task = []
        for task in TASKS:
            level = pass_at_k(guess[task], k)
            passed = [(pass_at_k(p * f * difficulty(task), k) - level) / (1 - level) for f in (0.95, 1.05)]
            per_task.append(np.mean(passed))
        return float(np.mean(per_task))

    assert skill["a"] == pytest.approx(expected(0.08, 10.0), rel=1e-9)
    assert skill["b"] == pytest.approx(expected(0.12, 2.5), rel=1e-9)
    assert skill["guess_t2"] == pytest.approx(np.mean([pass_at_k(guess[t], 10.0) for t in TASKS]))
    assert list(sizes_of(suite)["cell"]) == [f"v-{i}" for i in range(5)]


def test_the_sweep_figure_has_a_panel_per_budget_with_the_measurement_forecast_guessing_and_choices(
        tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from t2lib.book.plots import sweep_figure

    suite = load_suite(sweep_suite(tmp_path))
    forecast = planted_forecast({"1": 4e4, "2": 4e4}, 1.6e5, 8e4).assign(value=0.3)
    curves = pd.concat([measured_curve(suite, TASKS, c_inf, guess=GUESS, resamples=100) for c_inf in (C_INF, 2e5)])
    both = pd.concat([forecast, forecast.assign(c_inf=2e5)])
    marked = {name: size_with_role(forecast, role) for name, role in CHINCHILLA_ROLES.items()}
    fig = sweep_figure(curves, [C_INF, 2e5], forecast=both, marked=marked)
    assert len(fig.axes) == 2
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert sorted(labels) == sorted(["forecast (Approach 2)", "forecast optimum (Approach 2)", "guessing at the same k",
                                     "measured, tied with the optimum", "measured, worse than the optimum",
                                     "measured optimum", "Chinchilla (task NLL, k = 1)", "Chinchilla (LM loss)"])
    drawn = sum(len(c.get_offsets()) for c in fig.axes[1].collections[1:3])  # the tied and the worse sizes
    assert drawn == 4  # at 2e5, only N ≤ 1e5 affords a sample
    assert [tick.get_text() for tick in fig.axes[1].get_xticklabels()] == ["10K", "20K", "40K", "80K"]
    measured_only = sweep_figure(curves, [C_INF], marked={"best at one sample": 1.6e5})
    assert "forecast (Approach 2)" not in [text.get_text() for text in measured_only.legends[0].get_texts()]
    # A size ringed per budget: 4e4 on the first panel, 1e4 on the second.
    per_budget = sweep_figure(curves, [C_INF, 2e5], marked={"T² model": {C_INF: 4e4, 2e5: 1e4}})
    rings = [ax.collections[4].get_offsets()[:, 0].tolist() for ax in per_budget.axes]
    assert rings == [[4e4], [1e4]]


def test_a_grids_slice_is_the_budget_with_most_sizes_judged_from_its_single_sample_best(tmp_path: Path) -> None:
    """The planted sweep (five sizes at 1e12 FLOPs) beside two cells at another budget: the slice
    is the five, the single-sample best is the size with the highest p (1.6e5), and the inference
    budgets are where it draws 1, 10 and 100 samples."""
    from t2lib.laws.sweep import grid_slice, slice_shift

    sweep = load_suite(sweep_suite(tmp_path))
    other = sweep.checkpoints[sweep.checkpoints["cell"].isin(["v-0", "v-1"])].assign(
        train_flops=4e12, tokens=lambda t: 4e12 / (6 * t["params"]), cell=lambda t: t["cell"] + "-big",
        checkpoint=lambda t: t["checkpoint"] + "-big")
    nll = sweep.nll[sweep.nll["checkpoint"].isin(["v-0", "v-0-s1", "v-1", "v-1-s1"])]
    grid = load_suite(write_suite(tmp_path / "grid", pd.concat([sweep.checkpoints, other]),
                                  pd.concat([sweep.nll, nll.assign(checkpoint=nll["checkpoint"] + "-big")]),
                                  sweep.tasks))
    found = grid_slice(grid, TASKS, guess=GUESS, resamples=100)
    assert found.c_train == pytest.approx(1e12) and found.chinchilla_cell == "v-4" and found.chinchilla_N == 1.6e5
    assert found.c_infs == (3.2e5, 3.2e6, 3.2e7) and found.samples == (1.0, 10.0, 100.0)
    first = found.curves[found.curves["c_inf"] == 3.2e5]
    assert list(first["N"]) == SIZES and first.loc[first["N"] == 1.6e5, "k"].item() == 1.0
    sliced = load_suite(sweep_suite(tmp_path / "sliced"))  # the slice's cells, alone: one trained model's score
    assert np.allclose(first["value"], measured_curve(sliced, TASKS, 3.2e5, resamples=10, scored="each run")["value"])
    direction, where = slice_shift(found)  # at 1 sample of the 1.6e5 model the 4e4 one draws 4, and wins
    assert direction == "smaller" and where[0] == 1.0
    dominant = load_suite(sweep_suite(tmp_path / "dominant", p_of_size=[0.001, 0.002, 0.003, 0.004, 0.6]))
    assert slice_shift(grid_slice(dominant, TASKS, resamples=100)) == ("none", [])
    alone = other[other["cell"] == "v-0-big"]
    lonely = nll.assign(checkpoint=nll["checkpoint"] + "-big")
    with pytest.raises(ValueError, match="no training budget has two sizes"):
        grid_slice(load_suite(write_suite(tmp_path / "one", alone, lonely[lonely["checkpoint"].isin(alone["checkpoint"])],
                                          sweep.tasks)), TASKS)


def test_a_curve_scored_each_run_averages_each_seeds_pass_at_k_not_the_pooled_probability(tmp_path: Path) -> None:
    # Seeds far apart (0.2 and 1.8 times the size's probability), so that pooling them shows.
    suite = load_suite(sweep_suite(tmp_path, seed_factors={task: (0.2, 1.8) for task in TASKS}))
    pooled = measured_curve(suite, TASKS, C_INF, resamples=200)
    each = measured_curve(suite, TASKS, C_INF, resamples=200, scored="each run")
    for i, (p, k) in enumerate(zip(P_OF_SIZE, each["k"])):
        seeds = [np.minimum(p * f * difficulty(t), 1.0) for t in TASKS for f in (0.2, 1.8)]
        assert each["value"][i] == pytest.approx(np.mean([pass_at_k(q, k).mean() for q in seeds]))
        pooled_p = [(np.minimum(p * 0.2 * difficulty(t), 1) + np.minimum(p * 1.8 * difficulty(t), 1)) / 2 for t in TASKS]
        assert pooled["value"][i] == pytest.approx(np.mean([pass_at_k(q, k).mean() for q in pooled_p]))
    assert (each["value"] < pooled["value"] - 1e-6).all()  # Jensen: one run scores less than the pooled ensemble
    assert ((each["low"] <= each["value"]) & (each["value"] <= each["high"])).all()
    with pytest.raises(ValueError, match="scored must be one of"):
        measured_curve(suite, TASKS, C_INF, scored="ensemble")


def test_a_chinchilla_model_both_laws_choose_is_met_once_per_budget(tmp_path: Path) -> None:
    suite = load_suite(sweep_suite(tmp_path))
    forecast = planted_forecast({"1": 4e4, "2": 4e4}, 1.6e5, 1.6e5)
    duels = sweep_duels(suite, forecast, TASKS, [C_INF], guess=GUESS, resamples=100)
    outcomes = duels.set_index(["opponent", "measure"])["outcome"]
    assert outcomes[("Chinchilla (task NLL, k = 1)", "pass_at_k")] == "win"
    assert set(outcomes["Chinchilla (LM loss)"]) == {REPEATED}
    summary = duel_summary(forecast, suite, duels)
    assert summary.outcomes == {"win": 1, "loss": 0, "tie": 0} and summary.repeated == 1
    from t2lib.book.verdict import duel_sentence
    assert duel_sentence(summary).endswith("; one more duplicated one already counted (both Chinchilla choices are "
                                           "the same model)")
    # Both Chinchilla choices the T² model itself: each set against itself, none counted.
    itself = sweep_duels(suite, planted_forecast({"1": 4e4, "2": 4e4}, 4e4, 4e4), TASKS, [C_INF], resamples=50)
    assert set(itself["outcome"]) == {"same model"}
    said = duel_sentence(duel_summary(planted_forecast({"1": 4e4, "2": 4e4}, 4e4, 4e4), suite, itself))
    assert "decided none of its head-to-heads" in said and "against the Chinchilla choice" not in said


def test_the_rivals_named_are_those_a_head_to_head_was_decided_against(tmp_path: Path) -> None:
    """As in the committed per-run forecast: at the smaller budget the T² model is the task-loss
    Chinchilla choice (set against itself) and meets the LM-loss one; at the larger it is the
    LM-loss choice and meets the task-loss one. Each rival is the T² model at the other budget."""
    suite = load_suite(sweep_suite(tmp_path))
    forecast = planted_forecast({"1": 4e4, "2": 8e4}, 8e4, 1.6e5)
    larger = 2 * C_INF
    later = (planted_forecast({"1": 4e4, "2": 1.6e5}, 8e4, 1.6e5)
             .assign(c_inf=larger, role=lambda f: f["role"].str.replace(optimum_role("2", C_INF), optimum_role("2", larger))
                     .str.replace(optimum_role("1", C_INF), optimum_role("1", larger))))
    trained = forecast["approach"] == "trainable"
    roles = [f"{a}, {b}" for a, b in zip(forecast.loc[trained, "role"], later.loc[later["approach"] == "trainable", "role"])]
    both = pd.concat([forecast[~trained], later[later["approach"] != "trainable"], forecast[trained].assign(role=roles)],
                     ignore_index=True)
    duels = sweep_duels(suite, both, TASKS, [C_INF, larger], resamples=100)
    summary = duel_summary(both, suite, duels)
    assert summary.t2_N == (8e4, 1.6e5) and summary.rivals_N == (8e4, 1.6e5) and summary.same == 2
    from t2lib.book.verdict import duel_sentence
    assert "against the Chinchilla choices (80K, 160K); 2 more set it against itself" in duel_sentence(summary)


def test_each_runs_draws_resample_seeds_and_questions_and_a_pooled_ensemble_keeps_every_seed() -> None:
    from t2lib.laws.sweep import _cell_values
    nll = -np.log(np.array([[0.1, 0.2, 0.3], [0.5, 0.6, 0.7]]))  # two seeds, three questions
    questions = np.array([[0, 1, 2], [2, 2, 2]])
    chosen = np.array([[0, 1], [1, 1]])  # draw 1: both seeds; draw 2: the second seed twice
    point, draws = _cell_values(nll, 2.0, "pass_at_k", questions, chosen, "each run")
    passed = 1 - (1 - np.exp(-nll)) ** 2
    assert point == pytest.approx(passed.mean())
    assert draws == pytest.approx([passed.mean(), passed[1, 2]])
    pooled_point, pooled_draws = _cell_values(nll, 2.0, "pass_at_k", questions, chosen, "pooled seeds")
    mean_p = np.exp(-nll).mean(axis=0)
    assert pooled_point == pytest.approx(np.mean(1 - (1 - mean_p) ** 2))
    assert pooled_draws == pytest.approx([np.mean(1 - (1 - mean_p) ** 2), 1 - (1 - mean_p[2]) ** 2])


def test_a_pooled_ensembles_interval_holds_its_value_where_its_seeds_disagree(tmp_path: Path) -> None:
    """Drawing an ensemble's seeds with replacement would make half the draws of two seeds a
    single run, which scores lower at large k (Jensen): the interval would sit below the value."""
    apart = {task: (0.2, 1.8) for task in TASKS}
    suite = load_suite(sweep_suite(tmp_path, seed_factors=apart))
    curve = measured_curve(suite, TASKS, 400 * SIZES[-1], resamples=300)
    assert ((curve["low"] <= curve["value"]) & (curve["value"] <= curve["high"])).all()
    middle = (curve["low"] + curve["high"]) / 2
    assert (abs(curve["value"] - middle) < 0.5 * (curve["high"] - curve["low"])).all()


def test_a_difference_smaller_than_the_minimum_effect_is_a_tie_even_if_its_interval_excludes_zero(
        tmp_path: Path) -> None:
    from t2lib.laws.sweep import MIN_EFFECT, NEGLIGIBLE
    # The 4e4 model always right, the 1.6e5 one at k = 2.5 nearly always: a sure but negligible win.
    suite = load_suite(sweep_suite(tmp_path, p_of_size=[0.001, 0.01, 2.2, 0.1, 1.5]))
    duels = sweep_duels(suite, planted_forecast({"1": 4e4, "2": 4e4}, 1.6e5, 8e4), TASKS, [C_INF], resamples=300)
    row = duels[(duels["opponent"] == "Chinchilla (task NLL, k = 1)") & (duels["measure"] == "pass_at_k")].iloc[0]
    assert row["low"] > 0 and abs(row["difference"]) < MIN_EFFECT and row["outcome"] == NEGLIGIBLE
    summary = duel_summary(planted_forecast({"1": 4e4, "2": 4e4}, 1.6e5, 8e4), suite, duels)
    assert summary.outcomes["tie"] >= 1 and summary.outcomes["win"] + summary.outcomes["loss"] <= 1


def test_two_forecasts_share_their_head_to_heads_only_if_they_set_the_same_models_against_each_other(
        tmp_path: Path) -> None:
    from t2lib.laws.sweep import same_contenders
    suite = load_suite(sweep_suite(tmp_path))
    forecast = planted_forecast({"1": 4e4, "2": 4e4}, 1.6e5, 8e4)
    assert same_contenders(suite, forecast, [C_INF], forecast.copy(), [C_INF])
    assert not same_contenders(suite, forecast, [C_INF], planted_forecast({"1": 4e4, "2": 2e4}, 1.6e5, 8e4), [C_INF])
    assert not same_contenders(suite, forecast, [C_INF], planted_forecast({"1": 4e4, "2": 4e4}, 8e4, 8e4), [C_INF])
    assert not same_contenders(suite, forecast, [C_INF], forecast, [C_INF, 2e5])


def test_judging_two_forecasts_reuses_the_head_to_heads_only_when_they_set_the_same_models_against_each_other(
        tmp_path: Path) -> None:
    from t2lib.laws.sweep import judge, judge_forecasts
    suite = load_suite(sweep_suite(tmp_path))
    forecast = planted_forecast({"1": 4e4, "2": 4e4}, 1.6e5, 8e4)
    kwargs = dict(guess=GUESS, resamples=50, duel_resamples=50)
    same = judge_forecasts({"each run": (suite, forecast, [C_INF]), "pooled seeds": (suite, forecast.copy(), [C_INF])},
                           TASKS, **kwargs)
    assert list(same) == ["each run", "pooled seeds"] and same["pooled seeds"].scored == "pooled seeds"
    assert same["pooled seeds"].duels is same["each run"].duels  # reused, not drawn again
    other = planted_forecast({"1": 4e4, "2": 2e4}, 1.6e5, 8e4)  # another T² model
    apart = judge_forecasts({"each run": (suite, forecast, [C_INF]), "pooled seeds": (suite, other, [C_INF])},
                            TASKS, **kwargs)
    assert apart["pooled seeds"].duels is not apart["each run"].duels
    alone = judge(suite, other, TASKS, [C_INF], scored="pooled seeds", **kwargs)
    pd.testing.assert_frame_equal(apart["pooled seeds"].duels, alone.duels)
