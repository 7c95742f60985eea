"""Fitting: planted-parameter recovery, the paper recipe against the fast one, gradients, status."""

import numpy as np
import pytest

import t2lib
from t2lib import Chinchilla, T2Accuracy, T2Loss
from t2lib.laws import fit
from t2lib.laws.fit import _accuracy_residual_and_jacobian, _PowerLawData

SIZES = np.array([5e6, 1e7, 2e7, 5e7, 1e8, 2e8, 5e8, 9e8])
BUDGETS = np.array([1e17, 4e17, 1.6e18, 6.4e18, 2.56e19, 1e20])
N = np.repeat(SIZES, len(BUDGETS))
C = np.tile(BUDGETS, len(SIZES))
D = C / (6 * N)
KS = 2.0 ** np.arange(11)
NK, DK, KK = np.repeat(N, len(KS)), np.repeat(D, len(KS)), np.tile(KS, len(N))

CHINCHILLA = Chinchilla(E=1.8, A=400.0, B=800.0, alpha=0.33, beta=0.29)
T2_LOSS = T2Loss(E=1.0, A=300.0, B=900.0, G=3.0, alpha=0.3, beta=0.3, gamma=0.4)
TASK_LAW = Chinchilla(E=2.0, A=300.0, B=900.0, alpha=0.3, beta=0.3)
T2_ACC = T2Accuracy(TASK_LAW, theta0=3.5, theta1=2.0, theta2=0.8, theta3=0.5, theta4=-0.3)


def assert_recovers(law, planted, names, rel) -> None:
    for name in names:
        assert getattr(law, name) == pytest.approx(getattr(planted, name), rel=rel), name


def test_fast_chinchilla_recovers_planted_parameters() -> None:
    result = t2lib.fit_chinchilla(N, D, CHINCHILLA.loss(N, D))
    assert result.converged and result.status == "converged"
    assert_recovers(result.law, CHINCHILLA, ["alpha", "beta"], 1e-6)
    assert_recovers(result.law, CHINCHILLA, ["E", "A", "B"], 1e-5)


def test_fast_t2_loss_recovers_planted_parameters() -> None:
    result = t2lib.fit_t2_loss(NK, DK, KK, T2_LOSS.loss(NK, DK, KK))
    assert result.converged
    assert_recovers(result.law, T2_LOSS, ["alpha", "beta", "gamma"], 1e-6)
    assert_recovers(result.law, T2_LOSS, ["E", "A", "B", "G"], 1e-5)


@pytest.mark.parametrize("method", ["fast", "paper"])
def test_t2_accuracy_recovers_planted_parameters(method: str) -> None:
    result = t2lib.fit_t2_accuracy(NK, DK, KK, T2_ACC.pass_at_k(NK, DK, KK), chinchilla=TASK_LAW, method=method)
    assert result.converged, result.message
    assert_recovers(result.law, T2_ACC, ["theta0", "theta1", "theta2", "theta3", "theta4"], 1e-6)


def test_noisy_data_is_recovered_within_tolerance() -> None:
    """1% multiplicative noise: exponents within 10%, the fit converges."""
    rng = np.random.default_rng(1)
    noisy = T2_LOSS.loss(NK, DK, KK) * (1 + 0.01 * rng.standard_normal(len(NK)))
    result = t2lib.fit_t2_loss(NK, DK, KK, noisy)
    assert result.converged
    assert_recovers(result.law, T2_LOSS, ["alpha", "beta", "gamma"], 0.10)


def test_fast_is_no_worse_than_the_paper_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same objective; a reduced paper recipe (fewer restarts) keeps the test short."""
    monkeypatch.setattr(fit, "PAPER_CHINCHILLA_E_VALUES", 8)
    monkeypatch.setattr(fit, "PAPER_CHINCHILLA_RESTARTS", 5)
    rng = np.random.default_rng(2)
    loss = CHINCHILLA.loss(N, D) * (1 + 0.005 * rng.standard_normal(len(N)))
    weights = t2lib.isoflop_weights(C, loss)
    fast = t2lib.fit_chinchilla(N, D, loss, weights=weights)
    paper = t2lib.fit_chinchilla(N, D, loss, weights=weights, method="paper")
    assert fast.objective <= paper.objective * (1 + 1e-9)
    assert fast.objective == pytest.approx(t2lib.objective_of(fast.law, N, D, loss, weights=weights), rel=1e-9)
    t2 = T2_LOSS.loss(NK, DK, KK) * (1 + 0.005 * rng.standard_normal(len(NK)))
    fast = t2lib.fit_t2_loss(NK, DK, KK, t2)
    paper = t2lib.fit_t2_loss(NK, DK, KK, t2, method="paper", restarts=20)
    assert paper.n_starts == 20
    assert fast.objective <= paper.objective * (1 + 1e-9)
    fewer = t2lib.fit_t2_loss(NK, DK, KK, t2, method="paper", restarts=5)  # the first 5 of the same starts
    assert fewer.n_starts == 5 and fewer.objective >= paper.objective


@pytest.mark.parametrize("restarts", [0, -3, 2.5, True, "10"])
def test_a_bad_number_of_restarts_is_refused(restarts: object) -> None:
    with pytest.raises(ValueError, match="restarts must be a whole number >= 1"):
        t2lib.fit_t2_loss(NK, DK, KK, T2_LOSS.loss(NK, DK, KK), method="paper", restarts=restarts)


def central_differences(f, x: np.ndarray) -> np.ndarray:
    steps = 1e-6 * np.maximum(np.abs(x), 1e-2)
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for h, e in zip(steps, np.eye(len(x)))])


def finite_difference_check(f, x, analytic, rel=1e-5) -> None:
    numeric = central_differences(f, x)
    np.testing.assert_allclose(analytic, numeric, rtol=rel, atol=1e-6 * np.abs(numeric).max())


def test_projected_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(3)
    target = T2_LOSS.loss(NK, DK, KK) * (1 + 0.02 * rng.standard_normal(len(NK)))
    data = _PowerLawData(np.log(np.column_stack([NK, DK, KK])), target, np.ones_like(target),
                         np.zeros(4), np.full(4, np.inf))
    x = np.array([0.25, 0.35, 0.5])
    finite_difference_check(lambda e: data.objective_and_gradient(e)[0], x, data.objective_and_gradient(x)[1])
    params = np.array([0.1, 5.5, 6.7, 1.2, 0.3, 0.32, 0.45])
    finite_difference_check(lambda p: data.full_objective_and_gradient(p)[0], params,
                            data.full_objective_and_gradient(params)[1])


def test_accuracy_jacobian_matches_finite_differences() -> None:
    loss = TASK_LAW.loss(NK, DK)
    observed = T2_ACC.pass_at_k(NK, DK, KK)
    theta = np.array([3.3, 1.7, 0.7, 0.8, -0.2])
    _, jac = _accuracy_residual_and_jacobian(theta, loss, KK, observed)
    for row in [0, 5, 100, len(NK) - 1]:
        finite_difference_check(lambda t: _accuracy_residual_and_jacobian(t, loss, KK, observed)[0][row], theta,
                                jac[row], rel=1e-4)


def test_a_fit_that_ends_on_a_bound_says_so() -> None:
    # Loss that falls faster in N than any allowed exponent: alpha runs into its upper bound.
    law = Chinchilla(E=1.0, A=1e30, B=800.0, alpha=4.0, beta=0.29)
    result = t2lib.fit_chinchilla(N, D, law.loss(N, D))
    assert result.status == "hit a bound"
    assert "alpha = 3 (upper bound)" in result.message
    assert not result.converged
    with pytest.raises(RuntimeError, match="hit a bound"):
        result.require_converged()


@pytest.mark.parametrize("call,message", [
    (lambda: t2lib.fit_chinchilla(N, D[:-1], CHINCHILLA.loss(N, D)), r"same length; N has 48, D has 47"),
    (lambda: t2lib.fit_chinchilla(-N, D, CHINCHILLA.loss(N, D)), r"N must be > 0; got N\[0\] = -5000000.0"),
    (lambda: t2lib.fit_chinchilla(N, D, np.full(len(N), np.nan)), r"loss must be finite; got loss\[0\] = nan"),
    (lambda: t2lib.fit_chinchilla(N, D, CHINCHILLA.loss(N, D), method="slow"), r"method must be 'fast' or 'paper'"),
    (lambda: t2lib.fit_t2_loss(NK, DK, KK * 0.5, T2_LOSS.loss(NK, DK, KK)), r"k must be >= 1; got k\[0\] = 0.5"),
    (lambda: t2lib.fit_t2_accuracy(NK, DK, KK, KK, chinchilla=TASK_LAW), r"pass_at_k must be in \[0, 1\]"),
])
def test_fits_reject_bad_input(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_isoflop_weights_are_inverse_group_variances() -> None:
    c = np.array([1e17, 1e17, 1e17, 1e18, 1e18, 1e18])
    loss = np.array([3.0, 3.2, 3.4, 2.0, 2.01, 2.02])
    w = t2lib.isoflop_weights(c, loss)
    assert w.mean() == pytest.approx(1.0)
    assert w[3] / w[0] == pytest.approx(np.var(loss[:3], ddof=1) / np.var(loss[3:], ddof=1))
    missed = c * np.array([1.0, 0.998, 1.004, 0.999, 1.006, 1.0])  # runs that miss their level by a batch
    np.testing.assert_allclose(t2lib.isoflop_weights(missed, loss), w)


def test_a_coefficient_on_its_bound_is_reported() -> None:
    """With no irreducible term (E = 0), the exact coefficients sit on E's lower bound of 0."""
    law = T2Loss(E=0.0, A=300.0, B=900.0, G=3.0, alpha=0.3, beta=0.3, gamma=0.4)
    result = t2lib.fit_t2_loss(NK, DK, KK, law.loss(NK, DK, KK) - 0.5)  # a floor below zero: E clamps at 0
    assert result.status == "hit a bound"
    assert "on a bound: E = 0 (lower bound)" in result.message


def test_accuracy_fit_names_a_theta_on_its_bound() -> None:
    # Accuracy that keeps rising towards 1: the asymptote theta2 runs into its bound of 1.
    law = T2Accuracy(TASK_LAW, theta0=3.3, theta1=1.7, theta2=1.0, theta3=0.8, theta4=-0.2)
    result = t2lib.fit_t2_accuracy(NK, DK, KK, law.pass_at_k(NK, DK, KK), chinchilla=TASK_LAW)
    assert result.status == "hit a bound"
    assert "theta2 = 1 (upper bound)" in result.message


def test_warm_starts_recover_planted_parameters_from_one_start() -> None:
    nearby_loss = T2Loss(E=1.0, A=300.0, B=900.0, G=3.0, alpha=0.35, beta=0.25, gamma=0.45)
    result = t2lib.fit_t2_loss(NK, DK, KK, T2_LOSS.loss(NK, DK, KK), start=nearby_loss)
    assert result.n_starts == 1
    assert_recovers(result.law, T2_LOSS, ["alpha", "beta", "gamma"], 1e-6)
    nearby = Chinchilla(E=1.8, A=400.0, B=800.0, alpha=0.3, beta=0.3)
    assert_recovers(t2lib.fit_chinchilla(N, D, CHINCHILLA.loss(N, D), start=nearby).law, CHINCHILLA,
                    ["alpha", "beta"], 1e-6)
    near_acc = T2Accuracy(TASK_LAW, theta0=3.4, theta1=2.2, theta2=0.75, theta3=0.4, theta4=-0.25)
    warm = t2lib.fit_t2_accuracy(NK, DK, KK, T2_ACC.pass_at_k(NK, DK, KK), chinchilla=TASK_LAW, start=near_acc)
    assert warm.n_starts == 1
    assert_recovers(warm.law, T2_ACC, ["theta0", "theta1", "theta3", "theta4"], 1e-4)


def test_a_warm_start_is_refused_for_the_paper_recipe_or_the_wrong_law() -> None:
    with pytest.raises(ValueError, match="for method='fast' only"):
        t2lib.fit_t2_loss(NK, DK, KK, T2_LOSS.loss(NK, DK, KK), method="paper", start=T2_LOSS)
    with pytest.raises(ValueError, match="start must be a T2Loss law"):
        t2lib.fit_t2_loss(NK, DK, KK, T2_LOSS.loss(NK, DK, KK), start=CHINCHILLA)


def test_approach2_residuals_and_jacobian_stay_finite_where_nu_would_overflow() -> None:
    # Far above θ0 with a steep θ1 the sigmoid underflows to 0 while ν = exp(θ3 + θ4·L) overflows:
    # unguarded, a = μν = 0·∞ is NaN (found in a bootstrap refit of the miniature suite's sft stage).
    from t2lib.laws.fit import LOG_NU_MAX, _accuracy_residual_and_jacobian

    theta = np.array([0.1, 50.0, 1.0, 5.0, 100.0])
    task_loss, k, observed = np.array([0.05, 1.0, 20.0]), np.array([1.0, 10.0, 100.0]), np.full(3, 0.5)
    residual, jacobian = _accuracy_residual_and_jacobian(theta, task_loss, k, observed)
    assert np.isfinite(residual).all() and np.isfinite(jacobian).all()
    assert theta[3] + theta[4] * task_loss[-1] > LOG_NU_MAX and (jacobian[-1, 3:] == 0).all()  # capped: flat in θ3, θ4
