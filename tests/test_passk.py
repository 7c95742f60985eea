"""pass@k: reference values, numerical edge cases and properties."""

import itertools
import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

import t2lib


def mp_log_pass(nll: float, k: float) -> float:
    """log(1 − (1 − e^−nll)^k) with enough digits for e^−nll to matter."""
    with mp.workdps(int(nll / 2.3) + 400):
        p = mp.e ** (-mp.mpf(nll))
        return float(mp.log(1 - (1 - p) ** mp.mpf(k)))


NLLS = [1e-12, 1e-6, 0.1, 0.69, 0.7, 1.0, 5.0, 30.0, 99.0, 101.0, 700.0, 800.0, 3000.0]
KS = [1, 1.5, 2, 10, 1e3, 1e6, 1e9, 1e12]


@pytest.mark.parametrize("nll", NLLS)
def test_log_pass_at_k_matches_high_precision(nll: float) -> None:
    got = t2lib.log_pass_at_k(nll, np.array(KS))
    for value, k in zip(got, KS):
        true = mp_log_pass(nll, k)
        assert np.isfinite(value)
        assert value == pytest.approx(true, rel=1e-12, abs=1e-300), (nll, k)


def test_log_pass_at_k_stays_finite_at_10_thousand_nats_and_10_to_12_samples() -> None:
    got = t2lib.log_pass_at_k(1e4, 1e12)
    assert got == pytest.approx(math.log(1e12) - 1e4, rel=1e-15)


def test_log_pass_at_k_is_zero_for_a_certain_answer() -> None:
    assert np.all(t2lib.log_pass_at_k(0.0, [1, 7.5, 1e12]) == 0.0)


def test_pass_at_k_has_no_cancellation_for_tiny_p_and_huge_k() -> None:
    assert t2lib.pass_at_k(1e-20, 1e6) == pytest.approx(1e-14, rel=1e-12)
    assert t2lib.pass_at_k(1e-300, 1.0) == pytest.approx(1e-300, rel=1e-12)
    assert t2lib.pass_at_k(1.0, 3.0) == 1.0
    assert t2lib.pass_at_k(0.0, 1e12) == 0.0


def test_task_metrics_average_over_questions() -> None:
    nll = np.array([0.1, 2.0, 9.0])
    k = np.array([1.0, 4.0])
    per_question = t2lib.pass_at_k(np.exp(-nll)[:, None], k[None, :])
    np.testing.assert_allclose(t2lib.task_pass_at_k(nll, k), per_question.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(t2lib.task_nll(nll, k), -np.log(per_question).mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(t2lib.task_nll(nll, 1.0), nll.mean(), rtol=1e-14)


def brute_force_unbiased(n: int, c: int, k: int) -> float:
    """Fraction of all size-k subsets of n samples (c correct) that contain a correct one."""
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(samples[i] for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n,c,k", [(5, 0, 2), (5, 1, 1), (6, 2, 3), (8, 3, 4), (7, 7, 2), (9, 4, 9), (10, 1, 5)])
def test_unbiased_estimator_matches_brute_force(n: int, c: int, k: int) -> None:
    assert t2lib.pass_at_k_unbiased(n, c, k) == pytest.approx(brute_force_unbiased(n, c, k), rel=1e-12)


def test_unbiased_estimator_handles_many_samples() -> None:
    # 10^6 samples, 3 correct, k = 1000: 1 − C(n−3, k)/C(n, k), exact via lgamma products.
    n, c, k = 10**6, 3, 1000
    exact = 1 - math.prod((n - c - i) / (n - i) for i in range(k))
    assert t2lib.pass_at_k_unbiased(n, c, k) == pytest.approx(exact, rel=1e-10)


@pytest.mark.parametrize("n,c,k,bad", [(5, 6, 1, "c"), (5, 1, 6, "k"), (-1, 0, 1, "n"), (5, -1, 1, "c"), (5, 1.5, 1, "c")])
def test_unbiased_estimator_rejects_bad_counts(n, c, k, bad: str) -> None:
    with pytest.raises(ValueError, match=rf"^{bad} must be"):
        t2lib.pass_at_k_unbiased(n, c, k)


def mp_beta_pass(a: float, b: float, k: float, digits: int = 120) -> float:
    with mp.workdps(digits):
        a_, b_, k_ = mp.mpf(a), mp.mpf(b), mp.mpf(k)
        log_ratio = mp.loggamma(b_ + k_) - mp.loggamma(b_) - mp.loggamma(a_ + b_ + k_) + mp.loggamma(a_ + b_)
        return float(-mp.expm1(log_ratio))


@pytest.mark.parametrize("a", [1e-12, 1e-6, 0.01, 0.3, 1.0, 5.0, 50.0, 1e4, 1e8, 1e13, 1e18])
def test_beta_pass_at_k_matches_high_precision(a: float) -> None:
    for b, k in itertools.product([1e-8, 0.1, 1.0, 10.0, 1e3, 1e6, 1e10, 1e18], [1, 3, 100, 1e6, 1e12]):
        assert t2lib.beta_pass_at_k(a, b, k) == pytest.approx(mp_beta_pass(a, b, k), rel=1e-9), (a, b, k)


@pytest.mark.parametrize("b", [20.0, 1e12, 1e18, 1e30, 1e100, 1e200, 1e300])
def test_beta_pass_at_k_for_astronomical_concentration(b: float) -> None:
    # Approach 2 fits reach nu = exp(theta3 + theta4·L) far beyond 1e18 at large losses. Both
    # absolute a and a just below the small-a/b series threshold (1e-5·b) are checked.
    for a, k in itertools.product([1e-12, 1e-3, 1.0, 1e-6 * b, 9.9e-6 * b], [1, 10, 1e6, 1e12]):
        assert t2lib.beta_pass_at_k(a, b, k) == pytest.approx(mp_beta_pass(a, b, k, digits=650), rel=1e-10), (a, b, k)


@pytest.mark.parametrize("a,b,k", [(0.3, 2.0, 1), (0.3, 2.0, 50), (2.0, 5.0, 7.5), (0.05, 0.5, 1000)])
def test_beta_pass_at_k_matches_numerical_integration(a: float, b: float, k: float) -> None:
    integral, _ = integrate.quad(lambda p: (1 - (1 - p) ** k) * stats.beta.pdf(p, a, b), 0, 1, limit=500,
                                 points=[1e-6, 1e-3, 0.1])
    assert t2lib.beta_pass_at_k(a, b, k) == pytest.approx(integral, rel=1e-6)


def test_beta_pass_at_k_matches_monte_carlo() -> None:
    rng = np.random.default_rng(0)
    p = rng.beta(0.4, 3.0, size=400_000)
    for k in [1, 10, 1000]:
        draws = t2lib.pass_at_k(p, k)
        standard_error = draws.std() / np.sqrt(len(p))
        assert abs(t2lib.beta_pass_at_k(0.4, 3.0, k) - draws.mean()) < 5 * standard_error


def test_beta_pass_at_k_is_a_power_law_in_k_for_large_k() -> None:
    a = 0.37
    k = np.array([1e8, 1e10])
    miss = 1 - t2lib.beta_pass_at_k(a, 2.0, k)
    assert np.log(miss[1] / miss[0]) / np.log(k[1] / k[0]) == pytest.approx(-a, rel=1e-6)


def test_naive_plug_in_overestimates_the_mean() -> None:
    p = np.array([0.9, 0.01, 0.001])
    assert t2lib.naive_pass_at_k(p.mean(), 20) > t2lib.task_pass_at_k(-np.log(p), 20)


probabilities = st.floats(0.0, 1.0, allow_nan=False)
sample_counts = st.floats(1.0, 1e12, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(p=probabilities, k=sample_counts, dk=st.floats(0, 1e6), dp=st.floats(0, 1))
def test_pass_at_k_is_a_probability_monotone_in_k_and_p(p: float, k: float, dk: float, dp: float) -> None:
    value = t2lib.pass_at_k(p, k)
    assert 0.0 <= value <= 1.0
    assert t2lib.pass_at_k(p, k + dk) >= value
    assert t2lib.pass_at_k(min(1.0, p + dp), k) >= value


@settings(max_examples=100, deadline=None)
@given(nll=st.lists(st.floats(0.0, 50.0), min_size=1, max_size=30), k=sample_counts)
def test_task_nll_bounds_minus_log_task_pass_at_k(nll: list[float], k: float) -> None:
    """Jensen: the mean of −log pass@k is at least −log of the mean pass@k."""
    lhs = t2lib.task_nll(np.array(nll), k)
    rhs = -np.log(t2lib.task_pass_at_k(np.array(nll), k))
    assert lhs >= rhs - 1e-12 * max(1.0, abs(rhs))


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: t2lib.pass_at_k(1.5, 2), r"p must be in \[0, 1\]; got p = 1.5"),
        (lambda: t2lib.pass_at_k([0.1, -0.2], 2), r"p must be in \[0, 1\]; got p\[1\] = -0.2"),
        (lambda: t2lib.pass_at_k(0.5, 0.5), r"k must be >= 1; got k = 0.5"),
        (lambda: t2lib.pass_at_k(np.nan, 2), r"p must be finite"),
        (lambda: t2lib.log_pass_at_k(-1.0, 2), r"nll must be >= 0; got nll = -1.0"),
        (lambda: t2lib.log_pass_at_k(np.inf, 2), r"nll must be finite"),
        (lambda: t2lib.task_nll(np.ones((2, 2)), 2), r"nll must be a non-empty 1-D array"),
        (lambda: t2lib.beta_pass_at_k(0.0, 1.0, 2), r"a must be > 0; got a = 0.0"),
        (lambda: t2lib.pass_at_k("x", 2), r"p must be numeric"),
    ],
)
def test_bad_input_names_the_argument_and_value(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_beta_from_moments_recovers_a_planted_beta() -> None:
    p = np.random.default_rng(4).beta(0.4, 3.0, size=400_000)
    a, b = t2lib.beta_from_moments(p)
    assert a == pytest.approx(0.4, rel=0.02) and b == pytest.approx(3.0, rel=0.03)
    with pytest.raises(ValueError, match="at least two distinct values"):
        t2lib.beta_from_moments([0.3, 0.3])


def test_tail_exponent_recovers_a_power_law_and_rejects_zero_shares() -> None:
    k = np.logspace(2, 6, 9)
    assert t2lib.laws.passk.tail_exponent(k, 3.0 * k**-0.37) == pytest.approx(-0.37)
    with pytest.raises(ValueError, match=r"unsolved must be > 0; got unsolved\[1\] = 0.0"):
        t2lib.laws.passk.tail_exponent([10.0, 100.0], [0.5, 0.0])


def test_log_beta_ratio_at_the_tiny_floor_of_b_is_exact_and_silent() -> None:
    import warnings

    from scipy.special import betaln

    a, b, k = np.array([0.5, 3.0]), np.array([np.finfo(float).tiny, 1e-300]), np.array([1024.0, 8.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning here would be a failure
        ratio = t2lib.log_beta_ratio(a, b, k)
    np.testing.assert_allclose(ratio, betaln(a, b + k) - betaln(a, b), rtol=1e-12)
    assert np.all(ratio < -600)


@pytest.mark.parametrize("b", [0.5, 1e-3, 1e-50, 1e-110, 1e-170, 1e-250])
def test_log_beta_ratio_with_a_far_below_a_tiny_b_is_exact_and_silent(b: float) -> None:
    """a ≪ b ≪ 1 (the small-a series): ψ' and ψ'' of b overflow below 1e-103; the result must not."""
    import warnings

    a, k = b * 1e-7, 16.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ratio = float(t2lib.log_beta_ratio(a, b, k))
    with mp.workdps(50):
        true = float(mp.log(mp.beta(a, b + k) / mp.beta(a, b)))
    assert ratio == pytest.approx(true, rel=1e-12)
