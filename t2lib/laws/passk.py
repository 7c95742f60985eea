"""pass@k from likelihoods, from samples, and under a Beta model (the paper's estimators; chapters/pass_at_k.md).

pass@k for one question with single-sample success probability p is 1 − (1 − p)^k.
Everything here is computed in a form that stays accurate where the naive formula
cancels or underflows: p → 0, p → 1, k up to 10^12 and NLLs up to 10^4 nats.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq
from scipy.special import betaln, digamma, gammaln, polygamma

from t2lib.data import checks

_LN2 = float(np.log(2.0))
# Above this NLL, p = exp(-nll) < 5e-44 and -log(1 - p) equals p to double precision.
_TINY_P_NLL = 100.0
# Below this x, log(1 - exp(-x)) is evaluated from its series log(x) - x/2 + x²/24.
_SERIES_X = 1e-5


def _log1mexp(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """log(1 − exp(−x)) for x > 0, accurate at both ends (Mächler 2012)."""
    small = x <= _LN2
    out = np.empty_like(x)
    out[small] = np.log(-np.expm1(-x[small]))
    out[~small] = np.log1p(-np.exp(-x[~small]))
    return out


def pass_at_k(p: ArrayLike, k: ArrayLike) -> NDArray[np.float64]:
    """Exact per-question pass@k = 1 − (1 − p)^k, for p in [0, 1] and real k ≥ 1.

    Evaluated as −expm1(k·log1p(−p)), which keeps full relative accuracy when k·p is tiny.
    """
    p = checks.probability("p", p)
    k = checks.sample_count("k", k)
    p, k = np.broadcast_arrays(p, k)
    certain = p == 1.0
    log_miss = np.log1p(-np.where(certain, 0.0, p))
    return np.where(certain, 1.0, -np.expm1(k * log_miss))


def log_pass_at_k(nll: ArrayLike, k: ArrayLike) -> NDArray[np.float64]:
    """log pass@k for a question whose gold answer has negative log-likelihood nll (p = e^−nll).

    Works in log space throughout: with x = −k·log(1 − p), log pass@k = log(1 − e^−x).
    log x = log k + log(−log(1 − p)) is formed without ever computing p when p underflows,
    so the result stays finite (≈ log k − nll) for nll of 10^4 nats and k of 10^12.
    """
    nll = checks.nonnegative("nll", nll)
    k = checks.sample_count("k", k)
    nll, k = np.broadcast_arrays(nll, k)
    nll = nll.astype(float, copy=True)
    k = k.astype(float, copy=True)
    certain = nll == 0.0
    tiny = nll > _TINY_P_NLL
    moderate = ~certain & ~tiny

    log_neg_log_miss = np.empty_like(nll)  # log(−log(1 − p))
    log_neg_log_miss[tiny] = -nll[tiny]
    log_neg_log_miss[moderate] = np.log(-_log1mexp(nll[moderate]))
    log_x = np.log(k) + log_neg_log_miss

    out = np.zeros_like(nll)  # certain questions: pass@k = 1
    series = ~certain & (log_x < np.log(_SERIES_X))
    x = np.exp(log_x[series])
    out[series] = log_x[series] - x / 2.0 + x * x / 24.0
    # exp(−x) underflows to 0 (log pass@k = 0 exactly) long before x overflows; cap the exponent.
    direct = ~certain & ~series
    out[direct] = _log1mexp(np.exp(np.minimum(log_x[direct], 700.0)))
    return out


def _per_question_log_pass(nll: ArrayLike, k: ArrayLike) -> NDArray[np.float64]:
    """log pass@k on a (question, k) grid: rows are questions, columns follow k's shape."""
    nll = checks.nonnegative("nll", nll)
    if nll.ndim != 1 or nll.size == 0:
        raise ValueError(f"nll must be a non-empty 1-D array of per-question NLLs; got shape {nll.shape}")
    k = checks.sample_count("k", k)
    return log_pass_at_k(nll.reshape((-1,) + (1,) * k.ndim), k)


def task_nll(nll: ArrayLike, k: ArrayLike) -> NDArray[np.float64]:
    """Approach 1's target: the mean over questions of −log pass@k (one checkpoint, one task)."""
    return -_per_question_log_pass(nll, k).mean(axis=0)


def task_pass_at_k(nll: ArrayLike, k: ArrayLike) -> NDArray[np.float64]:
    """Mean over questions of pass@k (one checkpoint, one task): the benchmark's pass@k."""
    return np.exp(_per_question_log_pass(nll, k)).mean(axis=0)


def pass_at_k_unbiased(n: ArrayLike, c: ArrayLike, k: ArrayLike) -> NDArray[np.float64]:
    """Chen et al.'s unbiased pass@k from n samples of which c are correct: 1 − C(n−c, k)/C(n, k).

    Computed as 1 − ∏_{i=n−c+1}^{n} (1 − k/i) in log space, never with raw binomials.
    """
    n_arr, c_arr, k_arr = (_counts(name, v) for name, v in (("n", n), ("c", c), ("k", k)))
    n_arr, c_arr, k_arr = np.broadcast_arrays(n_arr, c_arr, k_arr)
    checks.reject_first("c", c_arr, c_arr > n_arr, "<= n")
    checks.reject_first("k", k_arr, (k_arr > n_arr) | (k_arr < 1), "in [1, n] (pass@k is undefined for k > n)")
    out = np.empty(n_arr.shape, dtype=float)
    for index in np.ndindex(n_arr.shape):
        ni, ci, ki = int(n_arr[index]), int(c_arr[index]), int(k_arr[index])
        if ni - ci < ki:
            out[index] = 1.0
        else:
            i = np.arange(ni - ci + 1, ni + 1, dtype=float)
            out[index] = -np.expm1(np.sum(np.log1p(-ki / i)))
    return out


def _counts(name: str, value: ArrayLike) -> NDArray[np.int64]:
    array = checks.finite(name, value)
    checks.reject_first(name, array, (array < 0) | (array != np.round(array)), "a non-negative integer")
    return array.astype(np.int64)


def beta_pass_at_k(a: ArrayLike, b: ArrayLike, k: ArrayLike) -> NDArray[np.float64]:
    """Mean pass@k when p ~ Beta(a, b): 1 − B(a, b + k)/B(a, b), through the log of the ratio.

    The log-ratio is formed so that its large parts cancel analytically (see `log_beta_ratio`),
    which keeps it accurate for k up to 10^12 and for a, b from 10^-300 to 10^18.
    """
    a = checks.positive("a", a)
    b = checks.positive("b", b)
    k = checks.sample_count("k", k)
    return -np.expm1(log_beta_ratio(a, b, k))


_HALF_LOG_2PI = 0.5 * float(np.log(2.0 * np.pi))
# Above this argument the Stirling remainder and digamma use their asymptotic series.
_ASYMPTOTIC_X = 15.0
# Below this a/b, the log-ratio is a Taylor series in a (third order: truncation below 1e-15).
_SMALL_A_OVER_B = 1e-5
# Below this b, k/b overflows for k beyond 1e28: log_beta_ratio uses betaln there.
_TINY_B = 1e-280


def _stirling_remainder(x: NDArray) -> NDArray:
    """lgamma(x) − [(x − ½)·log x − x + ½·log 2π], small and smooth for large x."""
    out = np.empty_like(x)
    big = x >= _ASYMPTOTIC_X
    r = 1.0 / x[big]
    r2 = r * r
    out[big] = r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 / 1188))))
    xs = x[~big]
    out[~big] = gammaln(xs) - ((xs - 0.5) * np.log(xs) - xs + _HALF_LOG_2PI)
    return out


def _digamma_difference(x: NDArray, k: NDArray) -> NDArray:
    """ψ(x + k) − ψ(x), without the cancellation of the direct difference at large x."""
    out = np.empty_like(x)
    big = x >= _ASYMPTOTIC_X
    xb, kb = x[big], k[big]
    # Written in 1/x and 1/(x + k), which underflow harmlessly, so that x up to 1e308 is fine.
    rx, ry = 1.0 / xb, 1.0 / (xb + kb)
    share = kb * ry  # k / (x + k), in [0, 1)
    out[big] = (np.log1p(kb * rx) + share * rx / 2 + share * (2 * xb * ry + share) * rx * rx / 12
                - (rx**4 - ry**4) / 120 + (rx**6 - ry**6) / 252)
    out[~big] = digamma(x[~big] + k[~big]) - digamma(x[~big])
    return out


def _scaled_inverse_power_differences(x: NDArray, k: NDArray, n_max: int, m: int) -> list[NDArray]:
    """[x^m·(1/x^n − 1/(x + k)^n) for n = 0 … n_max], without cancellation, overflow or
    underflow of the scaled value: 1/x^n − 1/y^n = (k/y)·x^−n·(1 + q + … + q^(n−1)), q = x/y."""
    rx, ry = 1.0 / x, 1.0 / (x + k)
    share, q = k * ry, x * ry
    out, partial, q_power = [np.zeros_like(x)], np.zeros_like(x), np.ones_like(x)
    for n in range(1, n_max + 1):
        partial = partial + q_power
        q_power = q_power * q
        out.append(share * partial * (rx ** (n - m) if n >= m else x ** (m - n)))
    return out


def _scaled_polygamma_differences(x: NDArray, k: NDArray) -> tuple[NDArray, NDArray]:
    """x·[ψ'(x + k) − ψ'(x)] and x²·[ψ''(x + k) − ψ''(x)], both O(k/(x + k)). At large x the
    asymptotic series is differenced term by term, since the direct difference of two nearly
    equal ψ' values keeps no correct digit once x ≳ 1e16; the scaling keeps x up to 1e308."""
    trigamma, tetragamma = np.empty_like(x), np.empty_like(x)
    big = x >= _ASYMPTOTIC_X
    d = _scaled_inverse_power_differences(x[big], k[big], 9, 1)
    trigamma[big] = -(d[1] + d[2] / 2 + d[3] / 6 - d[5] / 30 + d[7] / 42 - d[9] / 30)
    d = _scaled_inverse_power_differences(x[big], k[big], 10, 2)
    tetragamma[big] = d[2] + d[3] + d[4] / 2 - d[6] / 6 + d[8] / 6 - 3 * d[10] / 10
    middle = ~big & (x >= 1.0)
    xs, ks = x[middle], k[middle]
    trigamma[middle] = xs * (polygamma(1, xs + ks) - polygamma(1, xs))
    tetragamma[middle] = xs * xs * (polygamma(2, xs + ks) - polygamma(2, xs))
    # Below 1, ψ'(x) ~ 1/x² and ψ''(x) ~ −2/x³ overflow long before x·ψ' and x²·ψ'' do (x ≲ 1e-103):
    # one step of the recurrence ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(x + 1) + (−1)ⁿ⁺¹ n!/xⁿ⁺¹ takes the pole out exactly.
    low = x < 1.0
    xs, ks = x[low], k[low]
    trigamma[low] = xs * (polygamma(1, xs + ks) - polygamma(1, xs + 1.0)) - 1.0 / xs
    tetragamma[low] = xs * xs * (polygamma(2, xs + ks) - polygamma(2, xs + 1.0)) + 2.0 / xs
    return trigamma, tetragamma


def log_beta_ratio(a: ArrayLike, b: ArrayLike, k: ArrayLike) -> NDArray[np.float64]:
    """log B(a, b + k) − log B(a, b) = log E[(1 − p)^k] for p ~ Beta(a, b); always ≤ 0.

    Written with Stirling's formula, the lgamma terms cancel analytically:
    (b − ½)·log1p(k/b) − (a + b − ½)·log1p(k/(a + b)) − k·log1p(a/(b + k)) + remainders.
    When a ≪ b that difference still cancels, so there the Taylor series in a of
    −[F(b + a) − F(b)], F(x) = lgamma(x + k) − lgamma(x), is used instead.
    """
    shape = np.broadcast_shapes(np.shape(a), np.shape(b), np.shape(k))
    a, b, k = (np.array(v, dtype=float).ravel() for v in np.broadcast_arrays(a, b, k))
    out = np.empty(a.shape)
    # b so small that k/b overflows (a Beta degenerate at p = 1, as Approach 2 produces with b at
    # its floor): nothing cancels there, and betaln is exact (log B(a, b) ≈ −log b is finite).
    tiny = b < _TINY_B
    out[tiny] = betaln(a[tiny], b[tiny] + k[tiny]) - betaln(a[tiny], b[tiny])
    regular = ~tiny
    A, B, K = a[regular], b[regular], k[regular]
    S = A + B
    out[regular] = ((B - 0.5) * np.log1p(K / B) - (S - 0.5) * np.log1p(K / S) - K * np.log1p(A / (B + K))
                    + _stirling_remainder(B + K) - _stirling_remainder(B) - _stirling_remainder(S + K)
                    + _stirling_remainder(S))
    small = regular & (a < _SMALL_A_OVER_B * b)
    A, B, K = a[small], b[small], k[small]
    trigamma, tetragamma = _scaled_polygamma_differences(B, K)
    r = A / B  # < 1e-5: the series is in powers of a/b, never of a alone (a may be ~1e300)
    out[small] = -A * (_digamma_difference(B, K) + r * trigamma / 2 + r * r * tetragamma / 6)
    # The ratio is at most 1; rounding can put its log a few ulps above 0.
    return np.minimum(out, 0.0).reshape(shape)


def beta_from_moments(p: ArrayLike) -> tuple[float, float]:
    """The Beta(a, b) with the same mean and variance as the per-question probabilities p."""
    p = checks.probability("p", p)
    mean, variance = float(p.mean()), float(p.var())
    if p.size < 2 or variance <= 0.0 or variance >= mean * (1.0 - mean):
        raise ValueError(f"p must hold at least two distinct values in (0, 1); got mean {mean:g}, variance {variance:g}")
    concentration = mean * (1.0 - mean) / variance - 1.0
    return mean * concentration, (1.0 - mean) * concentration


def naive_pass_at_k(mean_accuracy: ArrayLike, k: ArrayLike) -> NDArray[np.float64]:
    """The plug-in 1 − (1 − mean accuracy)^k. Biased upwards (Jensen): kept for teaching."""
    return pass_at_k(checks.probability("mean_accuracy", mean_accuracy), k)


def tail_exponent(k: ArrayLike, unsolved: ArrayLike) -> float:
    """The log-log slope of the unsolved share 1 − pass@k against k (least squares in log space):
    −a for a Beta law at large k; much steeper once k passes 1/p of the hardest question."""
    k = checks.sample_count("k", k)
    unsolved = checks.positive("unsolved", unsolved)
    checks.same_length(k=k, unsolved=unsolved)
    if len(k) < 2:
        raise ValueError(f"need at least two values of k; got {len(k)}")
    return float(np.polyfit(np.log(k), np.log(unsolved), 1)[0])


def pass_at_k_range_from_mean(mean_p: ArrayLike, k: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Every value the mean pass@k of a task can take when only its mean p̄ over questions is known.

    1 − (1 − p)^k is concave in p, so by Jensen the mean pass@k is at most the plug-in
    1 − (1 − p̄)^k, reached when every question has p = p̄; it is at least p̄, reached when every
    question has p = 0 or 1 (then pass@k = p for every k). Returns (p̄, 1 − (1 − p̄)^k).
    """
    highest = naive_pass_at_k(mean_p, k)
    return np.broadcast_to(checks.probability("mean_p", mean_p), highest.shape).astype(float), highest


def beta_from_mean_and_log_mean(mean_p: float, mean_log_p: float) -> tuple[float, float]:
    """The Beta(a, b) whose mean is `mean_p` and whose mean log is `mean_log_p`.

    With a = m·s, b = (1 − m)·s, E[log p] = ψ(m·s) − ψ(s) rises from −∞ (s → 0) to log m
    (s → ∞), so a solution exists exactly when mean_log_p < log mean_p (Jensen) and is unique.
    """
    m = float(checks.probability("mean_p", mean_p))
    target = float(checks.finite("mean_log_p", mean_log_p))
    if not 0.0 < m < 1.0:
        raise ValueError(f"mean_p must lie strictly between 0 and 1; got {m!r}")
    if not target < np.log(m):
        raise ValueError(f"mean_log_p must be below log(mean_p) = {np.log(m):.6g} (Jensen); got {target!r}")
    def gap(log_s: float) -> float:
        s = np.exp(log_s)
        return float(digamma(m * s) - digamma(s) - target)

    lo, hi = -5.0, 5.0
    while gap(lo) > 0:
        lo -= 5.0
    while gap(hi) < 0:
        hi += 5.0
    s = float(np.exp(brentq(gap, lo, hi, xtol=1e-14, rtol=1e-14)))
    return m * s, (1.0 - m) * s
