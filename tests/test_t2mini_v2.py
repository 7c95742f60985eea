"""The committed second miniature suite (data/real/t2mini-v2) meets what a suite must show before it
can test T² (t2lib.data.training.readiness): its answers cannot be guessed, every cell has its seeds,
and more data does not make its models worse beyond seed noise."""

from pathlib import Path

import pandas as pd

import t2lib
from t2lib.data.seeds import seed_spread
from t2lib.data.training import GUESS_CEILING, GUESS_K, MIN_SEEDS, guessing_pass_at_k, read_training_records, readiness

SUITE = Path(__file__).resolve().parent.parent / "data" / "real" / "t2mini-v2"
SMALL_MODEL, SMALL_MODEL_SEEDS = 1e5, 3  # models up to 100K parameters are trained at three seeds or more


def test_guessing_reaches_at_most_one_percent_at_pass_1000_on_every_task() -> None:
    suite = t2lib.load_suite(SUITE)
    guessing, how = guessing_pass_at_k(suite, GUESS_K)
    assert how == "each question's own guess probability"
    assert set(guessing.index) == set(suite.tasks["task"]) and len(guessing) == 4
    assert (guessing <= GUESS_CEILING).all(), guessing.to_dict()
    questions = read_training_records(suite).questions
    assert questions.groupby("task").size().eq(1000).all() and questions["guess"].gt(0).all()


def test_every_cell_has_its_planned_seeds() -> None:
    suite = t2lib.load_suite(SUITE)
    base = suite.base
    seeds = base.groupby("cell").agg(seeds=("seed", "nunique"), params=("params", "first"))
    planned = pd.read_csv(SUITE / "grid.csv").set_index("cell")["seeds"]
    assert (seeds["seeds"] >= MIN_SEEDS).all()
    assert (seeds.loc[seeds["params"] <= SMALL_MODEL, "seeds"] >= SMALL_MODEL_SEEDS).all()
    assert (seeds["seeds"] == planned.reindex(seeds.index)).all()
    spread = seed_spread(suite)
    assert set(spread["cell"]) == set(seeds.index) and spread["sd"].notna().all()


def test_more_data_lowers_pass_at_1_beyond_seed_noise_in_at_most_a_tenth_of_the_steps() -> None:
    checks = readiness(t2lib.load_suite(SUITE)).set_index("requirement")
    assert checks["met"].tolist() == [True, True, True], checks["measured"].to_dict()


SWEEP = SUITE.parent / "t2mini-v2-validation"


def test_the_sweep_plan_meets_the_rules_for_sizes_seeds_and_inference_budgets() -> None:
    from t2lib.book.sweep_report import PRIMARY_ROLE, sweep_state
    from t2lib.laws.forecast import SNAP_FACTOR
    from t2lib.laws.sweep import optimum_role, size_with_role

    state = sweep_state(SWEEP)
    assert state.committed and len(state.plan) >= 5 and (state.plan["seeds"] >= 2).all()
    for fitted_to, (meta, rows) in state.forecasts.items():
        c_infs = sorted(float(c) for c in meta["c_infs"])
        chinchilla = size_with_role(rows, PRIMARY_ROLE)  # as trained: the rule prices its 1, 10 and 100 samples
        assert len(c_infs) == 3 and all(abs(c / (2 * chinchilla) - k) < 1e-6 * k for c, k in zip(c_infs, (1, 10, 100)))
        assert size_with_role(rows, "Chinchilla choice (LM loss)") in set(state.plan["params"])
        for key in ("1", "2"):
            for c_inf in c_infs:
                optimum = float(rows.loc[(rows["approach"] == key) & (rows["priced_by"] == key)
                                         & (rows["c_inf"] - c_inf).abs().lt(1), "N"].iloc[0])
                trained = size_with_role(rows, optimum_role(key, c_inf))
                assert trained in set(state.plan["params"]) and max(trained / optimum, optimum / trained) <= SNAP_FACTOR


def test_every_sweep_result_came_after_both_forecasts() -> None:
    from t2lib.book.report import commit_order
    from t2lib.book.sweep_report import sweep_state
    from t2lib.laws.forecast import SWEEP_FORECAST_FILES

    state = sweep_state(SWEEP)
    if state.trained is None:
        return  # nothing trained yet: nothing can have come first
    made = max(meta["made_at"] for meta, _ in state.forecasts.values())
    assert state.trained.base["started_at"].astype(str).min() > made
    orders = [commit_order(SUITE.parent.parent.parent, SWEEP / name, SWEEP / "checkpoints.csv")[2]
              for name in SWEEP_FORECAST_FILES.values()]
    assert all(order.startswith("came first") or order == "cannot be ordered here" for order in orders), orders
