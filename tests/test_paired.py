"""t2lib.laws.paired and report.decide: the one rule that turns a difference with an interval into a
win, a loss or a tie, and paired question-bootstrap intervals that recover planted differences."""

import numpy as np
import pytest

from t2lib.book.report import decide
from t2lib.laws.paired import paired_difference, per_question
from t2lib.laws.passk import pass_at_k


def test_a_win_or_a_loss_needs_the_whole_interval_on_one_side() -> None:
    assert decide(0.01, 0.05) == "win" and decide(-0.05, -0.01) == "loss" and decide(-0.01, 0.05) == "tie"
    assert decide(0.01, 0.05, higher_is_better=False) == "loss" and decide(-0.3, -0.1, higher_is_better=False) == "win"
    assert decide(0.1, 0.2, cannot_lose=True) == "cannot lose by construction"
    with pytest.raises(ValueError, match="finite ends"):
        decide(np.nan, 0.1)


def test_skill_is_zero_for_a_model_that_only_guesses() -> None:
    guess = 0.125
    nll = np.full(50, -np.log(guess))  # p = the guess probability on every question
    np.testing.assert_allclose(per_question(nll, 15.0, "skill", guess), 0.0, atol=1e-12)
    np.testing.assert_allclose(per_question(nll, 15.0, "pass_at_k"), pass_at_k(guess, 15.0))
    with pytest.raises(ValueError, match="guess probability"):
        per_question(nll, 15.0, "skill")


def test_a_planted_difference_is_recovered_and_judged() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.9, size=(2, 800))
    lifted = np.clip(p + 0.05 + rng.normal(0, 0.1, size=p.shape), 0.001, 1)  # a gap of about 0.05, per question noisy
    better = {t: -np.log(lifted[i]) for i, t in enumerate("xy")}
    worse = {t: -np.log(p[i]) for i, t in enumerate("xy")}
    found = paired_difference(better, worse, 1.0, 1.0, "pass_at_k", seed=3)
    assert found.difference == pytest.approx((lifted - p).mean()) and 0.04 < found.difference < 0.06
    assert found.low < found.difference < found.high and found.outcome == "win"
    assert paired_difference(worse, better, 1.0, 1.0, "pass_at_k").outcome == "loss"
    assert paired_difference(worse, better, 1.0, 1.0, "task_nll").outcome == "loss"  # higher NLL: worse
    same = paired_difference(worse, worse, 1.0, 1.0, "pass_at_k")
    assert (same.difference, same.outcome) == (0.0, "tie")
    noisy = {t: -np.log(rng.uniform(0.05, 0.9, 800)) for t in "xy"}
    assert paired_difference(noisy, worse, 1.0, 1.0, "pass_at_k").outcome == "tie"  # no planted gap


def test_models_must_answer_the_same_questions() -> None:
    with pytest.raises(ValueError, match="different questions"):
        paired_difference({"x": [0.1, 0.2]}, {"x": [0.1]}, 1.0, 1.0, "pass_at_k")


def test_skill_leaves_out_a_task_that_guessing_nearly_solves() -> None:
    nll = {"easy": np.full(50, 0.5), "hard": np.full(50, 3.0)}
    guess = {"easy": 0.5, "hard": 1e-4}
    found = paired_difference(nll, nll, 10.0, 1.0, "skill", guess=guess)  # 1 − 0.5^10 > 0.99
    assert found.tasks == ("hard",)
    with pytest.raises(ValueError, match="no room left to measure skill"):
        per_question(nll["easy"], 10.0, "skill", 0.5)
    with pytest.raises(ValueError, match="nearly solves every task"):
        paired_difference(nll, nll, 10.0, 1.0, "skill", guess={"easy": 0.5, "hard": 0.5})


def test_seeds_are_resampled_on_top_of_the_questions() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.2, 2.0, 300), rng.uniform(0.2, 2.0, 300)
    single = paired_difference({"t": a}, {"t": b}, 1.0, 1.0, "pass_at_k", resamples=500, seed=1)
    identical = paired_difference({"t": np.stack([a, a, a])}, {"t": np.stack([b, b])}, 1.0, 1.0, "pass_at_k",
                                  resamples=500, seed=1)
    assert (identical.difference, identical.low, identical.high) == pytest.approx(
        (single.difference, single.low, single.high), rel=1e-12)  # seeds that agree add nothing
    # Seeds of a that differ by ±0.1 in pass@1 on every question: the mean is unchanged, the interval wider.
    probabilities = np.exp(-a)[None, :] + np.array([[-0.1], [0.0], [0.1]])  # p of a lies in [0.14, 0.82]
    spread = paired_difference({"t": -np.log(probabilities)}, {"t": b}, 1.0, 1.0, "pass_at_k", resamples=500, seed=1)
    assert spread.difference == pytest.approx(single.difference, abs=1e-9)
    assert spread.high - spread.low > 1.5 * (single.high - single.low)
    with pytest.raises(ValueError, match="different questions"):
        paired_difference({"t": np.stack([a, a])}, {"t": b[:200]}, 1.0, 1.0, "pass_at_k")


def test_a_models_seeds_are_drawn_once_for_every_task() -> None:
    """Seed 0 scores 0.2 on task x and 0.4 on task y, seed 1 the reverse: every draw of whole seeds
    gives the same macro pass@1 (0.3), so against a constant model the interval is a point; seeds
    drawn task by task would spread it. A model's tasks must agree on its number of seeds."""
    flip = {"x": -np.log([[0.2] * 40, [0.4] * 40]), "y": -np.log([[0.4] * 40, [0.2] * 40])}
    constant = {t: -np.log(np.full((2, 40), 0.1)) for t in "xy"}
    found = paired_difference(flip, constant, 1.0, 1.0, "pass_at_k", resamples=500)
    assert found.difference == pytest.approx(0.2) and found.high - found.low == pytest.approx(0.0, abs=1e-12)
    together = {t: -np.log([[0.2] * 40, [0.4] * 40]) for t in "xy"}  # seed 1 better on both tasks
    spread = paired_difference(together, constant, 1.0, 1.0, "pass_at_k", resamples=500)
    assert spread.high - spread.low > 0.15  # the draws of whole seeds give 0.1, 0.2 or 0.3
    with pytest.raises(ValueError, match="different numbers of seeds"):
        paired_difference({"x": flip["x"], "y": flip["y"][:1]}, constant, 1.0, 1.0, "pass_at_k")
