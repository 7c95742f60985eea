"""t2lib.laws.bootstrap: seeded, joint resampling of checkpoints, questions and training seeds; percentile bands."""

import numpy as np
import pandas as pd
import pytest

import t2lib
from t2lib.data.seeds import seed_averaged
from t2lib.data.suite import write_suite
from t2lib.laws import analysis
from t2lib.laws.bootstrap import bootstrap_fits, laws_of, percentile_band, resampled_measurements

TASKS = ["sciq", "openbookqa"]


@pytest.fixture(scope="module")
def suite() -> t2lib.Suite:
    return t2lib.load_suite("data/t2_suite")


@pytest.fixture(scope="module")
def fits(suite: t2lib.Suite) -> dict:
    return analysis.fit_suite(suite, TASKS)


def test_replicates_are_seeded_and_bracket_the_full_fit(suite: t2lib.Suite, fits: dict) -> None:
    first = bootstrap_fits(suite, fits, resamples=6, seed=3)
    again = bootstrap_fits(suite, fits, resamples=6, seed=3)
    other = bootstrap_fits(suite, fits, resamples=6, seed=4)
    alphas = first.collect(lambda replicate: [fit.approach1.law.alpha for fit in replicate.values()])
    assert alphas.shape == (6, 2)
    assert np.array_equal(alphas, again.collect(lambda r: [f.approach1.law.alpha for f in r.values()]))
    assert not np.array_equal(alphas, other.collect(lambda r: [f.approach1.law.alpha for f in r.values()]))
    full = np.array([fits[task].approach1.law.alpha for task in TASKS])
    assert np.all(alphas.min(axis=0) < full) and np.all(full < alphas.max(axis=0))  # resampling moves the fit both ways
    assert sum(first.statuses().values()) == 6 * 2 * 3
    assert len(laws_of(first.fits[0], "Approach 2")) == 2


def test_percentile_band_reads_quantiles_and_skips_missing_values() -> None:
    values = np.column_stack([np.arange(101.0), np.r_[np.arange(100.0), np.nan], np.full(101, np.nan)])
    lower, upper = percentile_band(values, level=0.9)
    assert lower[0] == pytest.approx(5.0) and upper[0] == pytest.approx(95.0)
    assert upper[1] == pytest.approx(np.percentile(np.arange(100.0), 95))
    assert np.isnan(lower[2]) and np.isnan(upper[2])


@pytest.mark.parametrize(("call", "message"), [
    (lambda s, f: bootstrap_fits(s, f, resamples=1, seed=0), "resamples must be at least 2"),
    (lambda s, f: percentile_band(np.ones((3, 2)), level=1.0), r"level must be in \(0, 1\)"),
    (lambda s, f: laws_of({}, "Approach 3"), "approach must be"),
])
def test_bad_arguments_are_named(suite: t2lib.Suite, fits: dict, call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(suite, fits)


def seeded(tmp_path, probabilities: dict) -> t2lib.Suite:
    """A suite of cells a, b, c (one size, 1e6 to 1.6e7 tokens) at several seeds:
    (cell, seed) → {task: [p per question]}."""
    tokens = {"a": 1e6, "b": 4e6, "c": 1.6e7}
    name = {key: f"{key[0]}-s{key[1]}" for key in probabilities}
    checkpoints = pd.DataFrame([{"checkpoint": name[cell, seed], "params": 1e4, "tokens": tokens[cell],
                                 "train_flops": 6e4 * tokens[cell], "source": "planted", "stage": "base",
                                 "base_checkpoint": "", "cell": cell, "seed": seed} for cell, seed in probabilities])
    nll = pd.DataFrame([{"checkpoint": name[key], "task": task, "question": q, "nll": -np.log(p)}
                        for key, per_task in probabilities.items() for task, ps in per_task.items()
                        for q, p in enumerate(ps)])
    return t2lib.load_suite(write_suite(tmp_path / "suite", checkpoints, nll))


def pass_at_1(drawn: dict, task: str) -> list[float]:
    return list(drawn[task].pass_at_k[:, 0])


def test_a_seeded_suite_resamples_seeds_on_top_of_the_cells_and_questions(tmp_path) -> None:
    stages = {"t": "base", "u": "base"}
    same = {(cell, s): {"t": [0.1, 0.3, 0.6], "u": [0.2, 0.5, 0.7]} for cell in "abc" for s in range(3)}
    identical = seeded(tmp_path / "identical", same)
    with_seeds = list(resampled_measurements(identical, stages, resamples=5, seed=2, ks=[1.0, 4.0]))
    without = list(resampled_measurements(seed_averaged(identical), stages, resamples=5, seed=2, ks=[1.0, 4.0]))
    for one, other in zip(with_seeds, without):  # identical seeds add nothing; the other draws are the same
        for task in stages:
            assert list(one[task].checkpoints["checkpoint"]) == list(other[task].checkpoints["checkpoint"])
            np.testing.assert_allclose(one[task].task_nll, other[task].task_nll, rtol=1e-12)
    # One question per task, cell a's seeds at 0.1 and 0.5: a replicate's cell a is 0.1, 0.3 or 0.5,
    # the same seeds for both tasks; without the seeds it is always their mean, 0.3.
    spread = {(cell, s): {"t": [p], "u": [p]} for cell in "abc" for s, p in enumerate((0.1, 0.5))}
    suite = seeded(tmp_path / "spread", spread)
    found = set()
    for drawn in resampled_measurements(suite, stages, resamples=40, seed=0, ks=[1.0]):
        assert pass_at_1(drawn, "t") == pytest.approx(pass_at_1(drawn, "u"))
        found |= {round(p, 6) for p in pass_at_1(drawn, "t")}
    assert found == {0.1, 0.3, 0.5}
    averaged = resampled_measurements(seed_averaged(suite), stages, resamples=40, seed=0, ks=[1.0])
    assert {round(p, 6) for drawn in averaged for p in pass_at_1(drawn, "t")} == {0.3}
