"""t2lib.bootstrap: seeded, joint resampling of checkpoints and questions; percentile bands."""

import numpy as np
import pytest

import t2lib
from t2lib import analysis
from t2lib.bootstrap import bootstrap_fits, laws_of, percentile_band

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
