"""The scaling laws: Chinchilla, and the two T² laws (the paper's forms).

Each law is a frozen dataclass whose methods broadcast over numpy arrays of N, D and k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit

from t2lib.data import checks
from t2lib.laws.passk import beta_pass_at_k, pass_at_k

# Beyond |log nu| = 700 the Beta concentration nu is outside double precision (e^709.8 overflows).
_LOG_NU_LIMIT = 700.0


def _require(law: object, name: str, ok: bool, requirement: str) -> None:
    if not ok:
        raise ValueError(f"{type(law).__name__}.{name} must be {requirement}; got {getattr(law, name)!r}")


def _check_fields(law: object, positive: tuple[str, ...], nonnegative: tuple[str, ...] = ()) -> None:
    for f in fields(law):
        value = getattr(law, f.name)
        if isinstance(value, (int, float, np.number)):
            _require(law, f.name, math.isfinite(value), "finite")
    for name in positive:
        _require(law, name, getattr(law, name) > 0, "> 0")
    for name in nonnegative:
        _require(law, name, getattr(law, name) >= 0, ">= 0")


@dataclass(frozen=True)
class Chinchilla:
    """L(N, D) = E + A/N^alpha + B/D^beta (Hoffmann et al. 2022)."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float

    def __post_init__(self) -> None:
        _check_fields(self, positive=("alpha", "beta"), nonnegative=("E", "A", "B"))

    def loss(self, N: ArrayLike, D: ArrayLike) -> NDArray[np.float64]:
        """Predicted loss of a model with N parameters trained on D tokens."""
        N = checks.positive("N", N)
        D = checks.positive("D", D)
        return self.E + self.A * N**-self.alpha + self.B * D**-self.beta

    def compute_optimal(self, c_train: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The closed-form loss-minimising (N, D) under 6·N·D = c_train."""
        c = checks.positive("c_train", c_train) / 6.0
        a, b = self.alpha, self.beta
        G = (a * self.A / (b * self.B)) ** (1.0 / (a + b))
        N = G * c ** (b / (a + b))
        return N, c / N


@dataclass(frozen=True)
class T2Loss:
    """Approach 1: L(N, D, k) = E + A/N^alpha + B/D^beta + G/k^gamma (a task's −log pass@k)."""

    E: float
    A: float
    B: float
    G: float
    alpha: float
    beta: float
    gamma: float

    def __post_init__(self) -> None:
        _check_fields(self, positive=("alpha", "beta", "gamma"), nonnegative=("E", "A", "B", "G"))

    def loss(self, N: ArrayLike, D: ArrayLike, k: ArrayLike) -> NDArray[np.float64]:
        """Predicted task loss (mean −log pass@k) at size N, tokens D and k samples."""
        N = checks.positive("N", N)
        D = checks.positive("D", D)
        k = checks.sample_count("k", k)
        return self.E + self.A * N**-self.alpha + self.B * D**-self.beta + self.G * k**-self.gamma

    def saturated_size(self, c_inf: float) -> float:
        """N∞(C_inf): the loss-minimising size at a fixed inference budget as C_train → ∞.

        With D unbounded the data term vanishes and N trades A/N^α against G·(2N/C_inf)^γ (a
        larger model affords fewer samples): α·A·N^(−α) = γ·G·(2N/C_inf)^γ, so
        N∞ = (α·A/(γ·G))^(1/(α+γ)) · (C_inf/2)^(γ/(α+γ)), at most C_inf/2 (k ≥ 1). G = 0 (no
        gain from samples) gives C_inf/2, A = 0 (no gain from size) gives 0.
        """
        c_inf = float(checks.positive("c_inf", c_inf))
        if self.G == 0:
            return c_inf / 2.0
        log_n = (math.log(self.alpha * self.A / (self.gamma * self.G)) + self.gamma * math.log(c_inf / 2.0)) \
            / (self.alpha + self.gamma) if self.A > 0 else -math.inf
        return min(math.exp(log_n), c_inf / 2.0)

    @property
    def single_pass(self) -> Chinchilla:
        """The law at k = 1: Chinchilla with floor E + G."""
        return Chinchilla(E=self.E + self.G, A=self.A, B=self.B, alpha=self.alpha, beta=self.beta)


@dataclass(frozen=True)
class T2Accuracy:
    """Approach 2: per-question accuracy p ~ Beta(mu·nu, (1 − mu)·nu), driven by a Chinchilla task loss.

    mu = theta2 / (1 + exp(theta1·(L̂ − theta0))), nu = exp(theta3 + theta4·L̂),
    pass@k = 1 − B(a, b + k)/B(a, b).
    """

    chinchilla: Chinchilla
    theta0: float
    theta1: float
    theta2: float
    theta3: float
    theta4: float

    def __post_init__(self) -> None:
        if not isinstance(self.chinchilla, Chinchilla):
            raise ValueError(f"T2Accuracy.chinchilla must be a Chinchilla law; got {self.chinchilla!r}")
        _check_fields(self, positive=("theta2",))
        _require(self, "theta2", self.theta2 <= 1, "<= 1 (it is the upper asymptote of the mean accuracy)")

    def mean_from_loss(self, task_loss: ArrayLike) -> NDArray[np.float64]:
        """Mean per-question accuracy mu at a given Chinchilla task loss."""
        return self.theta2 * expit(-self.theta1 * (np.asarray(task_loss, dtype=float) - self.theta0))

    def concentration_from_loss(self, task_loss: ArrayLike) -> NDArray[np.float64]:
        """Beta concentration nu = a + b at a given Chinchilla task loss (inf beyond double range)."""
        with np.errstate(over="ignore"):  # exp overflows to inf, which is the answer in floating point
            return np.exp(self.theta3 + self.theta4 * np.asarray(task_loss, dtype=float))

    def mean(self, N: ArrayLike, D: ArrayLike) -> NDArray[np.float64]:
        """Mean single-sample accuracy mu(N, D)."""
        return self.mean_from_loss(self.chinchilla.loss(N, D))

    def concentration(self, N: ArrayLike, D: ArrayLike) -> NDArray[np.float64]:
        """Beta concentration nu(N, D) = a + b."""
        return self.concentration_from_loss(self.chinchilla.loss(N, D))

    def pass_at_k_from_loss(self, task_loss: ArrayLike, k: ArrayLike) -> NDArray[np.float64]:
        """Mean pass@k at a given Chinchilla task loss.

        Far outside the fitted range nu = exp(theta3 + theta4·L̂) leaves floating point. The Beta
        then has its limits, used exactly: as nu → ∞ every question has p = mu, so pass@k =
        1 − (1 − mu)^k; as nu → 0, p is 1 with probability mu and 0 otherwise, so pass@k = mu.
        """
        loss = np.asarray(task_loss, dtype=float)
        k = checks.sample_count("k", k)
        loss, k = np.broadcast_arrays(loss, k)
        mu = self.mean_from_loss(loss)
        log_nu = self.theta3 + self.theta4 * loss
        huge, vanishing = log_nu > _LOG_NU_LIMIT, log_nu < -_LOG_NU_LIMIT
        regular = ~(huge | vanishing)
        out = np.empty(loss.shape)
        out[huge] = pass_at_k(mu[huge], k[huge])
        out[vanishing] = mu[vanishing]
        nu, m = np.exp(log_nu[regular]), mu[regular]
        # a or b can underflow to 0 when mu is 0 or 1 to double precision; the Beta is then
        # degenerate at 0 or 1 and the tiny floor gives that limit.
        a = np.maximum(m * nu, np.finfo(float).tiny)
        b = np.maximum((1.0 - m) * nu, np.finfo(float).tiny)
        out[regular] = beta_pass_at_k(a, b, k[regular])
        return out

    def pass_at_k(self, N: ArrayLike, D: ArrayLike, k: ArrayLike) -> NDArray[np.float64]:
        """Predicted mean pass@k at size N, tokens D and k samples."""
        return self.pass_at_k_from_loss(self.chinchilla.loss(N, D), checks.sample_count("k", k))


Law = Chinchilla | T2Loss | T2Accuracy

# Published fit of Hoffmann et al. (2022), as the paper uses it.
HOFFMANN_2022 = Chinchilla(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)
