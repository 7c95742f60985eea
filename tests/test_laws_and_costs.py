"""Cost model and laws: formulas, the Hoffmann closed form, validation."""

import numpy as np
import pytest

import t2lib
from t2lib import HOFFMANN_2022, Chinchilla, T2Accuracy, T2Loss


def test_costs() -> None:
    assert t2lib.train_flops(7e10, 1.4e12) == pytest.approx(5.88e23)
    assert t2lib.inference_flops(7e10, 1) == pytest.approx(1.4e11)
    assert t2lib.samples_for_budget(1e9, 2e9) == pytest.approx(1.0)
    np.testing.assert_allclose(t2lib.samples_for_budget([1e6, 1e7], 2e9), [1000.0, 100.0])
    assert t2lib.tokens_for_budget(1e8, 6e18) == pytest.approx(1e10)


@pytest.mark.parametrize("call,message", [
    (lambda: t2lib.train_flops(-1, 5), r"N must be > 0; got N = -1.0"),
    (lambda: t2lib.train_flops(1, [5, 0]), r"D must be > 0; got D\[1\] = 0.0"),
    (lambda: t2lib.samples_for_budget(1e6, np.nan), r"c_inf must be finite"),
    (lambda: HOFFMANN_2022.compute_optimal(0.0), r"c_train must be > 0"),
    (lambda: HOFFMANN_2022.loss(1e9, -1.0), r"D must be > 0"),
])
def test_bad_input(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_hoffmann_closed_form_optimum() -> None:
    """N* = G (C/6)^(β/(α+β)), G = (αA/(βB))^(1/(α+β)), with the published constants."""
    c = 5.76e23  # Chinchilla's training budget
    a, b, A, B = 0.34, 0.28, 406.4, 410.7
    G = (a * A / (b * B)) ** (1 / (a + b))
    N, D = HOFFMANN_2022.compute_optimal(c)
    assert N == pytest.approx(G * (c / 6) ** (b / (a + b)), rel=1e-12)
    assert 6 * N * D == pytest.approx(c, rel=1e-12)
    # The closed form is a minimum of the loss along the isoFLOP curve.
    for factor in (0.9, 1.1):
        assert HOFFMANN_2022.loss(N * factor, D / factor) > HOFFMANN_2022.loss(N, D)


def test_t2_loss_at_one_sample_is_chinchilla_with_floor_e_plus_g() -> None:
    law = T2Loss(E=1.0, A=300.0, B=900.0, G=3.0, alpha=0.3, beta=0.3, gamma=0.4)
    N, D = np.array([1e7, 1e9]), np.array([1e9, 1e11])
    np.testing.assert_allclose(law.loss(N, D, 1.0), law.single_pass.loss(N, D))
    assert np.all(law.loss(N, D, 100.0) < law.loss(N, D, 1.0))


def test_t2_accuracy_mean_concentration_and_pass_at_k() -> None:
    chin = Chinchilla(E=2.0, A=300.0, B=900.0, alpha=0.3, beta=0.3)
    law = T2Accuracy(chin, theta0=3.5, theta1=2.0, theta2=0.8, theta3=0.5, theta4=-0.3)
    N, D = 1e8, 2e9
    L = chin.loss(N, D)
    mu = 0.8 / (1 + np.exp(2.0 * (L - 3.5)))
    nu = np.exp(0.5 - 0.3 * L)
    assert law.mean(N, D) == pytest.approx(mu)
    assert law.concentration(N, D) == pytest.approx(nu)
    assert law.pass_at_k(N, D, 16) == pytest.approx(t2lib.beta_pass_at_k(mu * nu, (1 - mu) * nu, 16))
    assert law.pass_at_k(N, D, 1) == pytest.approx(mu)


def test_t2_accuracy_at_concentrations_beyond_double_precision() -> None:
    # Far outside the fitted range (tiny N, large theta4) nu = exp(theta3 + theta4·L) is not a
    # double; the prediction must still be the Beta's limit, continuous with the regular range.
    chin = Chinchilla(E=2.0, A=300.0, B=900.0, alpha=0.3, beta=0.3)
    law = T2Accuracy(chin, theta0=3.5, theta1=0.5, theta2=0.8, theta3=0.0, theta4=1.0)
    loss = np.array([650.0, 699.0, 701.0, 5000.0])
    k = np.array([1.0, 10.0, 1e6])[:, None]
    predicted = law.pass_at_k_from_loss(loss, k)
    mu = law.mean_from_loss(loss)
    np.testing.assert_allclose(predicted, t2lib.pass_at_k(mu, k), rtol=1e-9)  # nu → ∞: p = mu for all
    assert np.isinf(law.concentration_from_loss(5000.0))
    vanishing = T2Accuracy(chin, theta0=3.5, theta1=0.5, theta2=0.8, theta3=0.0, theta4=-1.0)
    np.testing.assert_allclose(vanishing.pass_at_k_from_loss(loss[2:], k), np.broadcast_to(
        vanishing.mean_from_loss(loss[2:]), (3, 2)), rtol=1e-12)  # nu → 0: p is 0 or 1, pass@k = mu


@pytest.mark.parametrize("make,message", [
    (lambda: Chinchilla(E=1.0, A=1.0, B=1.0, alpha=-0.3, beta=0.3), r"Chinchilla.alpha must be > 0"),
    (lambda: Chinchilla(E=np.nan, A=1.0, B=1.0, alpha=0.3, beta=0.3), r"Chinchilla.E must be finite"),
    (lambda: T2Loss(E=1.0, A=1.0, B=1.0, G=-1.0, alpha=0.3, beta=0.3, gamma=0.2), r"T2Loss.G must be >= 0"),
    (lambda: T2Accuracy(HOFFMANN_2022, 1.0, 1.0, 1.5, 0.0, 0.0), r"T2Accuracy.theta2 must be <= 1"),
    (lambda: T2Accuracy("not a law", 1.0, 1.0, 0.5, 0.0, 0.0), r"chinchilla must be a Chinchilla law"),
])
def test_laws_reject_bad_parameters(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()
