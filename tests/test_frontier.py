"""Optimal allocation: agreement with closed forms and with a dense brute-force grid."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import t2lib
from t2lib import HOFFMANN_2022, Chinchilla, T2Accuracy, T2Loss
from t2lib.laws.frontier import extrapolation_flags

T2_LOSS = T2Loss(E=1.0, A=300.0, B=900.0, G=3.0, alpha=0.3, beta=0.3, gamma=0.4)
T2_ACC = T2Accuracy(Chinchilla(E=2.0, A=300.0, B=900.0, alpha=0.3, beta=0.3), 3.5, 2.0, 0.8, 0.5, -0.3)


def brute_force(law, c_train: float, c_inf: float | None, points: int = 50_001) -> float:
    hi = c_train / 6 if c_inf is None else min(c_train / 6, c_inf / 2)
    N = np.logspace(3, np.log10(hi), points)
    value = t2lib.value_at(law, N, c_train, c_inf)
    return float(N[np.argmax(value) if isinstance(law, T2Accuracy) else np.argmin(value)])


def test_single_pass_chinchilla_matches_the_closed_form() -> None:
    c = np.logspace(18, 25, 15)
    allocation = t2lib.optimal_allocation(HOFFMANN_2022, c)
    N, D = HOFFMANN_2022.compute_optimal(c)
    np.testing.assert_allclose(allocation.N, N, rtol=1e-6)
    np.testing.assert_allclose(allocation.D, D, rtol=1e-6)
    assert np.all(allocation.k == 1.0)
    assert set(allocation.constraint) == {"interior"}


@settings(max_examples=25, deadline=None)
@given(log_c=st.floats(17.0, 25.0), log_c_inf=st.floats(9.0, 13.0), accuracy=st.booleans())
def test_optimal_allocation_matches_dense_brute_force(log_c: float, log_c_inf: float, accuracy: bool) -> None:
    law = T2_ACC if accuracy else T2_LOSS
    c, c_inf = 10.0**log_c, 10.0**log_c_inf
    allocation = t2lib.optimal_allocation(law, c, c_inf)
    best_grid_N = brute_force(law, c, c_inf)
    value = float(t2lib.value_at(law, allocation.N[0], c, c_inf))
    grid_value = float(t2lib.value_at(law, best_grid_N, c, c_inf))
    # Never worse than the dense grid's best, and at the same place (grid spacing ~2e-4 decades).
    assert (value >= grid_value - 1e-12) if accuracy else (value <= grid_value + 1e-12)
    assert np.log10(allocation.N[0]) == pytest.approx(np.log10(best_grid_N), abs=2e-3)


def test_k_floor_binds_when_inference_budget_is_tiny() -> None:
    allocation = t2lib.optimal_allocation(HOFFMANN_2022, 1e22, c_inf=2e6)
    assert allocation.N[0] == pytest.approx(1e6)
    assert allocation.k[0] == pytest.approx(1.0)
    assert allocation.constraint[0] == "k >= 1"


def test_macro_average_of_laws() -> None:
    other = T2Loss(E=1.5, A=200.0, B=1500.0, G=1.0, alpha=0.35, beta=0.25, gamma=0.3)
    N, c, c_inf = np.array([1e7, 1e8]), 1e20, 2e9
    np.testing.assert_allclose(t2lib.value_at([T2_LOSS, other], N, c, c_inf),
                               (t2lib.value_at(T2_LOSS, N, c, c_inf) + t2lib.value_at(other, N, c, c_inf)) / 2)
    macro = t2lib.optimal_allocation([T2_LOSS, other], 1e20, c_inf).N[0]
    assert brute_force([T2_LOSS, other], 1e20, c_inf) == pytest.approx(macro, rel=5e-3)


def test_frontier_has_one_row_per_budget() -> None:
    table = t2lib.frontier(T2_LOSS, np.logspace(18, 25, 50), c_inf=1.4e11)
    assert list(table.columns) == ["c_train", "c_inf", "N", "D", "k", "tokens_per_param", "value", "constraint"]
    assert len(table) == 50
    np.testing.assert_allclose(6 * table.N * table.D, table.c_train, rtol=1e-12)
    np.testing.assert_allclose(2 * table.N * table.k, 1.4e11, rtol=1e-12)
    assert table.value.is_monotonic_decreasing  # more training compute never hurts the T² optimum


@pytest.mark.parametrize("call,message", [
    (lambda: t2lib.optimal_allocation(HOFFMANN_2022, -1.0), r"c_train must be > 0"),
    (lambda: t2lib.optimal_allocation(HOFFMANN_2022, 1e20, c_inf=0.0), r"c_inf must be > 0"),
    (lambda: t2lib.optimal_allocation([], 1e20), r"law_or_laws is empty"),
    (lambda: t2lib.optimal_allocation([T2_LOSS, T2_ACC], 1e20), r"mixes accuracy laws"),
    (lambda: t2lib.value_at(T2_LOSS, 1e9, 1e20, c_inf=2e8), r"N must be <= c_inf / 2"),
])
def test_bad_input(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_single_pass_choice_is_priced_at_its_affordable_k() -> None:
    c = np.array([1e18, 1e26])
    choice = t2lib.single_pass_choice(T2_LOSS, c, c_inf=1.4e11)
    single = t2lib.frontier(T2_LOSS, c)
    np.testing.assert_allclose(choice["N"], single["N"])
    np.testing.assert_allclose(choice["single_pass_value"], single["value"])
    assert choice["affordable"].tolist() == [True, False]  # at 1e26 the k = 1 optimum (6.5e11) exceeds C_inf/2
    assert choice["value"][0] == pytest.approx(float(T2_LOSS.loss(single["N"][0], single["D"][0],
                                                                  1.4e11 / (2 * single["N"][0]))))
    assert np.isnan(choice["value"][1])
    # The T² optimum is never worse than the single-pass choice priced the same way.
    assert t2lib.frontier(T2_LOSS, c[:1], c_inf=1.4e11)["value"][0] <= choice["value"][0]


@pytest.mark.parametrize("c_inf", [1e8, 1.4e11, 1e14])
def test_the_saturated_size_has_the_closed_form_and_is_the_frontiers_limit(c_inf: float) -> None:
    closed = T2_LOSS.saturated_size(c_inf)
    a, g = T2_LOSS.alpha * T2_LOSS.A, T2_LOSS.gamma * T2_LOSS.G
    assert a * closed ** -T2_LOSS.alpha == pytest.approx(g * (2 * closed / c_inf) ** T2_LOSS.gamma, rel=1e-9)
    assert t2lib.saturated_size(T2_LOSS, c_inf) == pytest.approx(closed, rel=1e-6)
    # The frontier approaches N∞ from below as C_train grows, and tokens per parameter grows as C/(6·N∞²).
    table = t2lib.frontier(T2_LOSS, [1e20, 1e30, 1e60], c_inf)
    assert np.all(np.diff(table["N"]) > 0) and table["N"].iloc[-1] == pytest.approx(closed, rel=1e-5)
    assert table["tokens_per_param"].iloc[-1] == pytest.approx(1e60 / (6 * closed**2), rel=1e-4)


def test_the_saturated_size_is_capped_by_one_sample_and_needs_t2_laws() -> None:
    no_sampling_gain = T2Loss(E=1.0, A=300.0, B=900.0, G=0.0, alpha=0.3, beta=0.3, gamma=0.4)
    assert no_sampling_gain.saturated_size(1e9) == 5e8
    assert t2lib.saturated_size([T2_ACC], 1.4e11) > 0
    with pytest.raises(ValueError, match="saturated_size needs T² laws"):
        t2lib.saturated_size(HOFFMANN_2022, 1e9)


def test_extrapolated_optima_are_flagged() -> None:
    flags = extrapolation_flags(
        [1e4, 1e6, 1e8], [2000.0, 1024.0, 1.0], smallest_N=1e6, largest_k=1024.0)
    assert list(flags) == ["k > 1,024; N < 10⁶", "", ""]
    table = t2lib.frontier(T2_LOSS, [1e16, 1e24], c_inf=1.4e11, smallest_N=5e6, largest_k=1024.0)
    expected = extrapolation_flags(table["N"], table["k"], smallest_N=5e6, largest_k=1024.0)
    assert list(table["outside data"]) == list(expected) and "outside data" not in t2lib.frontier(T2_LOSS, [1e20])


def test_an_inference_budget_per_training_budget_gives_each_its_own_optimum() -> None:
    c_train, c_inf = np.array([1e19, 1e21, 1e23]), np.array([1e9, 1e11, 1e13])
    together = t2lib.frontier(T2_LOSS, c_train, c_inf)
    one_by_one = [t2lib.frontier(T2_LOSS, [c], ci).iloc[0] for c, ci in zip(c_train, c_inf)]
    np.testing.assert_allclose(together["N"], [row["N"] for row in one_by_one], rtol=1e-6)  # flat optima
    np.testing.assert_allclose(together["k"], c_inf / (2 * together["N"]))
    swept = t2lib.frontier(T2_LOSS, 1e21, c_inf)  # one budget, several inference budgets
    assert len(swept) == 3 and np.all(np.diff(swept["N"]) > 0)
