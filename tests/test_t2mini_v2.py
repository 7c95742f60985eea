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
