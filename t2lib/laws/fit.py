"""Fitting the laws to data, the paper's way (`method="paper"`) and fast (`method="fast"`).

Both methods minimise the same objective, a (weighted) sum of squared errors:
- Chinchilla: Σ w·(L̂(N, D) − loss)², E restricted to [0.01·min(loss), 0.95·min(loss)] as in the
  paper's profile over E (the paper's recipe);
- Approach 1: Σ (L̂(N, D, k) − loss)² over checkpoints × k (the paper's Approach 1);
- Approach 2: Σ (Acc(N, D, k) − pass@k)² with the Chinchilla stage given (the paper's Approach 2).

The fast method uses the structure of the first two: given the exponents, the coefficients
(E, A, B[, G]) enter linearly and are solved exactly by bounded least squares, so only the
2 or 3 exponents are searched (variable projection), with analytic gradients.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import curve_fit, least_squares, lsq_linear, minimize
from scipy.special import digamma, expit

from t2lib.data import checks
from t2lib.data.suite import budget_levels
from t2lib.laws.laws import Chinchilla, Law, T2Accuracy, T2Loss
from t2lib.laws.passk import beta_pass_at_k

Method = Literal["fast", "paper"]
Status = Literal["converged", "hit a bound", "reached max iterations", "failed"]

# Search box of the exponents (both methods). A fit that ends on an edge reports "hit a bound".
EXPONENT_BOUNDS = (0.01, 3.0)
# Box of log-coefficients for the paper's parameterisation (log A, log B, log E, log G).
LOG_COEF_BOUNDS = (-20.0, 30.0)
# Box of θ for Approach 2: θ0 (loss at the midpoint), θ1 (slope), θ2 (asymptote), θ3, θ4.
THETA_BOUNDS = ((0.0, 200.0), (1e-4, 100.0), (1e-6, 1.0), (-30.0, 30.0), (-10.0, 10.0))
PAPER_T2_LOSS_RESTARTS = 500
PAPER_CHINCHILLA_E_VALUES = 40
PAPER_CHINCHILLA_RESTARTS = 50
PAPER_MAXITER = 5000
PAPER_TOL = 1e-15
# Approach 2, fast: local solves from this many of the best-screened grid starts.
FAST_ACCURACY_STARTS = 3
WARM_TOLERANCE = 1e-10  # relative tolerance of Approach 2's solver when warm-started (bootstrap refits)


@dataclass(frozen=True)
class FitResult:
    """The outcome of a fit: the law, the objective it reached and how the optimiser ended."""

    law: Law
    objective: float
    status: Status
    n_starts: int
    seconds: float
    method: Method
    n_points: int
    message: str = ""
    starts_converged: int = field(default=0)
    on_bounds: tuple[str, ...] = ()  # e.g. ("E = 0 (lower bound)",): parameters that ended on a bound

    @property
    def converged(self) -> bool:
        """True only when the best start converged strictly inside the search box."""
        return self.status == "converged"

    def require_converged(self) -> Law:
        """The fitted law, or a RuntimeError saying why the fit cannot be trusted."""
        if not self.converged:
            raise RuntimeError(f"fit did not converge ({self.status}): {self.message}")
        return self.law


def _check_start(method: str, start: object) -> None:
    if start is not None and method != "fast":
        raise ValueError("start (a warm start) is for method='fast' only; the paper's recipe uses its own random starts")


def _check_method(method: str) -> None:
    if method not in ("fast", "paper"):
        raise ValueError(f"method must be 'fast' or 'paper'; got {method!r}")


def _on_edge(values: NDArray, bounds: list[tuple[float, float]]) -> bool:
    lo, hi = np.array(bounds).T
    width = hi - lo
    return bool(np.any((values - lo <= 1e-7 * width) | (hi - values <= 1e-7 * width)))


def _status(success: bool, hit_maxiter: bool, on_edge: bool) -> Status:
    if on_edge:
        return "hit a bound"
    if hit_maxiter:
        return "reached max iterations"
    return "converged" if success else "failed"


def _lbfgsb_stationary(result, bounds: list[tuple[float, float]]) -> bool:
    """Did L-BFGS-B end at a stationary point? At tolerance 1e-15 it often stops with an
    abnormal line search at the floor of floating-point precision, which is convergence too:
    accept that when a 1% move of any parameter changes the objective by under 0.01% of it
    (projected gradient times parameter scale at most 1e-2 of the objective)."""
    if result.success:
        return True
    lo, hi = np.array(bounds).T
    g = np.array(result.jac, dtype=float)
    g[(result.x <= lo) & (g > 0)] = 0.0
    g[(result.x >= hi) & (g < 0)] = 0.0
    sensitivity = np.abs(g) * np.maximum(np.abs(result.x), 1.0)
    return bool(np.all(sensitivity <= 1e-2 * max(abs(float(result.fun)), 1e-300)))


def _lbfgsb_status(result, bounds: list[tuple[float, float]], maxiter: int) -> Status:
    return _status(_lbfgsb_stationary(result, bounds), result.nit >= maxiter, _on_edge(result.x, bounds))


# ---------------------------------------------------------------------------------------------
# Linear-in-coefficients models: Chinchilla and Approach 1 share one variable-projection engine.
# Columns of the design matrix are 1, N^-alpha, D^-beta[, k^-gamma]; coefficients E, A, B[, G].


@dataclass(frozen=True)
class _PowerLawData:
    logs: NDArray  # (n, m): log N, log D[, log k]
    target: NDArray  # (n,)
    weights: NDArray  # (n,)
    coef_lower: NDArray  # bounds of (E, A, B[, G])
    coef_upper: NDArray

    def design(self, exponents: NDArray) -> NDArray:
        return np.column_stack([np.ones(len(self.target)), np.exp(-self.logs * exponents)])

    def solve_coefficients(self, exponents: NDArray) -> NDArray:
        """Exact weighted least-squares coefficients for these exponents, within their bounds."""
        X = self.design(exponents)
        scale = np.abs(X).max(axis=0)
        sw = np.sqrt(self.weights)
        Xs = X / scale * sw[:, None]
        ys = self.target * sw
        coef = np.linalg.lstsq(Xs, ys, rcond=None)[0] / scale
        if np.all(coef >= self.coef_lower) and np.all(coef <= self.coef_upper):
            return coef
        bounded = lsq_linear(Xs, ys, bounds=(self.coef_lower * scale, self.coef_upper * scale), method="bvls")
        return bounded.x / scale

    def objective_and_gradient(self, exponents: NDArray) -> tuple[float, NDArray]:
        """Projected SSE over the exponents and its gradient (envelope theorem)."""
        coef = self.solve_coefficients(exponents)
        X = self.design(exponents)
        residual = X @ coef - self.target
        wr = self.weights * residual
        # d(prediction)/d(exponent_j) = −coef_{j+1} · log(x_j) · x_j^−exponent_j
        dpred = -coef[1:] * self.logs * X[:, 1:]
        return float(wr @ residual), 2.0 * (wr @ dpred)

    def full_objective_and_gradient(self, params: NDArray) -> tuple[float, NDArray]:
        """SSE and gradient in the paper's parameterisation: (log coefficients, exponents)."""
        m = self.logs.shape[1]
        coef = np.exp(params[: m + 1])
        exponents = params[m + 1 :]
        X = self.design(exponents)
        residual = X @ coef - self.target
        wr = self.weights * residual
        grad_logcoef = 2.0 * (wr @ X) * coef
        grad_exponents = 2.0 * (wr @ (-coef[1:] * self.logs * X[:, 1:]))
        return float(wr @ residual), np.concatenate([grad_logcoef, grad_exponents])


def _fit_exponents_fast(data: _PowerLawData, grid: list[float], warm: NDArray | None = None,
                        tied: bool = False) -> tuple[NDArray, float, Status, int, str, int]:
    """Variable projection: L-BFGS-B over the exponents from every point of a small grid, or
    from the exponents `warm` alone (a warm start, e.g. a bootstrap refit from the full fit).
    `tied`: every column shares one exponent (searched alone; returned once per column)."""
    columns = data.logs.shape[1]
    m = 1 if tied else columns
    objective = data.objective_and_gradient
    if tied:
        def objective(x: NDArray) -> tuple[float, NDArray]:
            value, gradient = data.objective_and_gradient(np.repeat(x, columns))
            return value, np.array([gradient.sum()])
    bounds = [EXPONENT_BOUNDS] * m
    starts = np.array(np.meshgrid(*[grid] * m)).reshape(m, -1).T if warm is None else np.atleast_2d(warm)
    best = None
    converged_count = 0
    for start in starts:
        result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
                          options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-12})
        converged_count += _lbfgsb_stationary(result, bounds)
        if best is None or result.fun < best.fun:
            best = result
    status = _lbfgsb_status(best, bounds, 2000)
    exponents = np.repeat(best.x, columns) if tied else best.x
    return exponents, float(best.fun), status, len(starts), str(best.message), converged_count


def _warm_exponents(start: Law, kind: type, names: tuple[str, ...]) -> NDArray:
    if not isinstance(start, kind):
        raise ValueError(f"start must be a {kind.__name__} law; got {start!r}")
    return np.array([getattr(start, name) for name in names], dtype=float)


def _note_bounds(status: Status, message: str, names: list[str], values: ArrayLike, lower: ArrayLike,
                 upper: ArrayLike) -> tuple[Status, str, tuple[str, ...]]:
    """A parameter that ends at an end of its range (an exponent on the search box, E at an end
    of its profile range, a coefficient solved onto 0, θ2 at 1) is a fit on the edge of its
    search space: the status says "hit a bound" and the message names the parameters."""
    values, lower, upper = (np.asarray(v, dtype=float) for v in (values, lower, upper))
    width = np.where(np.isfinite(upper), upper - lower, 0.0)
    tolerance = np.maximum(1e-7 * width, 1e-12 + 1e-9 * np.abs(values))
    at_lower = values - lower <= tolerance
    at_upper = np.isfinite(upper) & (upper - values <= tolerance)
    hits = [f"{name} = {value:.4g} ({'lower' if low else 'upper'} bound)"
            for name, value, low, high in zip(names, values, at_lower, at_upper) if low or high]
    if not hits:
        return status, message, ()
    return "hit a bound", f"{message}; on a bound: {', '.join(hits)}", tuple(hits)


def _linear_law(kind: type, coef: NDArray, exponents: NDArray) -> Law:
    if kind is Chinchilla:
        return Chinchilla(E=coef[0], A=coef[1], B=coef[2], alpha=exponents[0], beta=exponents[1])
    return T2Loss(E=coef[0], A=coef[1], B=coef[2], G=coef[3], alpha=exponents[0], beta=exponents[1],
                  gamma=exponents[2])


def _inputs(N: ArrayLike, D: ArrayLike, target_name: str, target: ArrayLike, *, min_points: int | None = None,
            **extra: ArrayLike):
    """The validated arrays of a fit; at least `min_points` of them (default: 2·inputs + 1)."""
    arrays = {"N": checks.positive("N", N), "D": checks.positive("D", D)}
    arrays.update({name: checks.sample_count(name, value) for name, value in extra.items()})
    arrays[target_name] = checks.finite(target_name, target)
    checks.same_length(**arrays)
    needed = 2 * len(arrays) + 1 if min_points is None else min_points
    if len(arrays[target_name]) < needed:
        raise ValueError(f"too few points to fit: {len(arrays[target_name])}, and this law needs at least {needed} "
                         "(add checkpoints: more sizes and budgets)")
    return arrays


def fit_chinchilla(N: ArrayLike, D: ArrayLike, loss: ArrayLike, *, weights: ArrayLike | None = None,
                   method: Method = "fast", seed: int = 0, start: Chinchilla | None = None,
                   tie_exponents: bool = False) -> FitResult:
    """Fit L(N, D) = E + A/N^alpha + B/D^beta by weighted least squares.

    E is restricted to [0.01, 0.95]·min(loss), the range the paper profiles. `method="paper"`
    profiles E over 40 values and fits (log A, log B, alpha, beta) with 50 random L-BFGS-B
    restarts per value; `method="fast"` solves E, A, B exactly for each (alpha, beta).
    Use `isoflop_weights` for the paper's inverse-variance weighting across isoFLOP groups.
    `start` (fast method only): search from this law's exponents alone instead of the grid.
    `tie_exponents` (fast method only): one exponent η = alpha = beta, four parameters, so five
    points suffice (`fit_chinchilla_tied`).
    """
    _check_method(method)
    _check_start(method, start)
    if tie_exponents and method != "fast":
        raise ValueError("tie_exponents needs method='fast' (the paper's recipe fits two exponents)")
    arrays = _inputs(N, D, "loss", loss, min_points=5 if tie_exponents else None)
    target = arrays["loss"]
    w = np.ones_like(target) if weights is None else checks.positive("weights", weights)
    checks.same_length(loss=target, weights=w)
    e_lo, e_hi = 0.01 * target.min(), 0.95 * target.min()
    start_time = time.perf_counter()
    data = _PowerLawData(
        logs=np.log(np.column_stack([arrays["N"], arrays["D"]])), target=target, weights=w,
        coef_lower=np.array([e_lo, 0.0, 0.0]), coef_upper=np.array([e_hi, np.inf, np.inf]),
    )
    if method == "fast":
        names = ("alpha",) if tie_exponents else ("alpha", "beta")
        warm = None if start is None else _warm_exponents(start, Chinchilla, names)
        exponents, objective, status, n_starts, message, ok = _fit_exponents_fast(data, [0.1, 0.3, 0.6, 1.0], warm,
                                                                                  tied=tie_exponents)
        coef = data.solve_coefficients(exponents)
        coef_lower, coef_upper = data.coef_lower, data.coef_upper
    else:
        coef, exponents, objective, status, n_starts, message, ok = _fit_chinchilla_paper(data, e_lo, e_hi, seed)
        coef_lower = np.array([e_lo, *np.exp([LOG_COEF_BOUNDS[0]] * 2)])
        coef_upper = np.array([e_hi, *np.exp([LOG_COEF_BOUNDS[1]] * 2)])
    exponent_names = ["eta"] if tie_exponents else ["alpha", "beta"]
    n_exponents = len(exponent_names)
    status, message, on_bounds = _note_bounds(
        status, message, ["E", "A", "B", *exponent_names], np.concatenate([coef, exponents[:n_exponents]]),
        np.concatenate([coef_lower, [EXPONENT_BOUNDS[0]] * n_exponents]),
        np.concatenate([coef_upper, [EXPONENT_BOUNDS[1]] * n_exponents]))
    law = _linear_law(Chinchilla, coef, exponents)
    return FitResult(law, objective, status, n_starts, time.perf_counter() - start_time, method, len(target),
                     message, ok, on_bounds)


def fit_chinchilla_tied(N: ArrayLike, D: ArrayLike, loss: ArrayLike) -> FitResult:
    """Fit L(N, D) = E + A/N^η + B/D^η: the Chinchilla form with one exponent for size and data.

    This is Gadre et al. (2024)'s loss law, L = E + a·N^−η + b·(√6·M·N)^−η with M = D/N, in the
    book's parameterisation; with four parameters it can be fitted to as few as five runs, as
    they do. Unweighted least squares, E in [0.01, 0.95]·min(loss) as in `fit_chinchilla`.
    """
    return fit_chinchilla(N, D, loss, tie_exponents=True)


def _fit_chinchilla_paper(data: _PowerLawData, e_lo: float, e_hi: float, seed: int):
    """The paper's recipe: profile E on 40 values; 50 random L-BFGS-B restarts of the rest each."""
    rng = np.random.default_rng(seed)
    bounds = [LOG_COEF_BOUNDS, LOG_COEF_BOUNDS, EXPONENT_BOUNDS, EXPONENT_BOUNDS]
    best = None
    n_starts = converged = 0
    for E in np.linspace(e_lo, e_hi, PAPER_CHINCHILLA_E_VALUES):
        shifted = _PowerLawData(data.logs, data.target - E, data.weights, data.coef_lower, data.coef_upper)

        def objective(p: NDArray, shifted: _PowerLawData = shifted) -> tuple[float, NDArray]:
            # Fix E by giving the constant column a zero coefficient: log E = −inf is not needed,
            # the target was shifted instead; differentiate only (log A, log B, alpha, beta).
            coef = np.exp(p[:2])
            X = np.exp(-shifted.logs * p[2:])
            residual = X @ coef - shifted.target
            wr = shifted.weights * residual
            grad = np.concatenate([2.0 * (wr @ X) * coef, 2.0 * (wr @ (-coef * shifted.logs * X))])
            return float(wr @ residual), grad

        for _ in range(PAPER_CHINCHILLA_RESTARTS):
            start = np.array([rng.uniform(0, 10), rng.uniform(0, 10), rng.uniform(0.05, 1.0), rng.uniform(0.05, 1.0)])
            result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
                              options={"maxiter": PAPER_MAXITER, "ftol": PAPER_TOL, "gtol": 1e-12})
            n_starts += 1
            converged += _lbfgsb_stationary(result, bounds)
            if best is None or result.fun < best[0].fun:
                best = (result, E)
    result, E = best
    coef = np.array([E, np.exp(result.x[0]), np.exp(result.x[1])])
    status = _lbfgsb_status(result, bounds, PAPER_MAXITER)
    return coef, result.x[2:], float(result.fun), status, n_starts, str(result.message), converged


def isoflop_weights(c_train: ArrayLike, loss: ArrayLike) -> NDArray[np.float64]:
    """Inverse-variance weights across isoFLOP groups: each point weighs 1/var(loss in its group).

    Groups are the training-budget levels (`suite.budget_levels`). The weights are
    scaled to mean 1. A group of one point, or of equal losses, gets the median group weight.
    """
    c = checks.positive("c_train", c_train)
    y = checks.finite("loss", loss)
    checks.same_length(c_train=c, loss=y)
    groups = budget_levels(c)
    variance = {}
    for g in np.unique(groups):
        members = y[groups == g]
        variance[g] = members.var(ddof=1) if len(members) > 1 else np.nan
    known = np.array([v for v in variance.values() if np.isfinite(v) and v > 0])
    fallback = np.median(known) if len(known) else 1.0
    w = np.array([1.0 / (variance[g] if np.isfinite(variance[g]) and variance[g] > 0 else fallback) for g in groups])
    return w / w.mean()


def fit_t2_loss(N: ArrayLike, D: ArrayLike, k: ArrayLike, loss: ArrayLike, *, method: Method = "fast",
                seed: int = 0, start: T2Loss | None = None, restarts: int = PAPER_T2_LOSS_RESTARTS) -> FitResult:
    """Fit Approach 1, L(N, D, k) = E + A/N^alpha + B/D^beta + G/k^gamma, by least squares.

    One row per (checkpoint, k). `method="paper"`: 7 parameters (log A, log B, log E, alpha,
    beta, log G, gamma), L-BFGS-B from `restarts` random starts (the paper's 500 by default; a
    smaller number runs the first of the same seeded starts), 5,000 iterations, tolerance 1e-15.
    `method="fast"`: E, A, B, G solved exactly for each (alpha, beta, gamma), searched from a
    grid of exponents, or from `start`'s exponents alone when given.
    """
    _check_method(method)
    _check_start(method, start)
    if isinstance(restarts, bool) or not isinstance(restarts, (int, np.integer)) or restarts < 1:
        raise ValueError(f"restarts must be a whole number >= 1; got {restarts!r}")
    arrays = _inputs(N, D, "loss", loss, k=k)
    target = arrays["loss"]
    start_time = time.perf_counter()
    data = _PowerLawData(
        logs=np.log(np.column_stack([arrays["N"], arrays["D"], arrays["k"]])), target=target,
        weights=np.ones_like(target), coef_lower=np.zeros(4), coef_upper=np.full(4, np.inf),
    )
    if method == "fast":
        warm = None if start is None else _warm_exponents(start, T2Loss, ("alpha", "beta", "gamma"))
        exponents, objective, status, n_starts, message, ok = _fit_exponents_fast(data, [0.1, 0.4, 1.0], warm)
        coef = data.solve_coefficients(exponents)
        coef_lower, coef_upper = data.coef_lower, data.coef_upper
    else:
        coef, exponents, objective, status, n_starts, message, ok = _fit_t2_loss_paper(data, seed, int(restarts))
        coef_lower, coef_upper = np.exp(np.full(4, LOG_COEF_BOUNDS[0])), np.exp(np.full(4, LOG_COEF_BOUNDS[1]))
    status, message, on_bounds = _note_bounds(
        status, message, ["E", "A", "B", "G", "alpha", "beta", "gamma"], np.concatenate([coef, exponents]),
        np.concatenate([coef_lower, [EXPONENT_BOUNDS[0]] * 3]), np.concatenate([coef_upper, [EXPONENT_BOUNDS[1]] * 3]))
    law = _linear_law(T2Loss, coef, exponents)
    return FitResult(law, objective, status, n_starts, time.perf_counter() - start_time, method, len(target),
                     message, ok, on_bounds)


def _fit_t2_loss_paper(data: _PowerLawData, seed: int, restarts: int):
    """The paper's recipe: all 7 parameters by L-BFGS-B from `restarts` random starts."""
    rng = np.random.default_rng(seed)
    bounds = [LOG_COEF_BOUNDS] * 4 + [EXPONENT_BOUNDS] * 3
    best = None
    converged = 0
    for _ in range(restarts):
        start = np.concatenate([rng.uniform(-2, 8, 4), rng.uniform(0.05, 1.0, 3)])
        result = minimize(data.full_objective_and_gradient, start, jac=True, method="L-BFGS-B", bounds=bounds,
                          options={"maxiter": PAPER_MAXITER, "ftol": PAPER_TOL, "gtol": 1e-12})
        converged += _lbfgsb_stationary(result, bounds)
        if best is None or result.fun < best.fun:
            best = result
    status = _lbfgsb_status(best, bounds, PAPER_MAXITER)
    return np.exp(best.x[:4]), best.x[4:], float(best.fun), status, restarts, str(best.message), converged


# ---------------------------------------------------------------------------------------------
# Approach 2: θ of the Beta model, with the Chinchilla task-loss law given.


# The largest log ν evaluated: far beyond any fitted Beta's concentration, and small enough that
# a = μν and b = (1 − μ)ν stay finite (with μ underflowed to 0 an overflowed ν would give 0·∞).
LOG_NU_MAX = 700.0


def _log_nu(theta: NDArray, task_loss: NDArray) -> NDArray:
    """log ν = θ3 + θ4·L, capped at LOG_NU_MAX (where the optimiser strays, not where fits end)."""
    return np.minimum(theta[3] + theta[4] * task_loss, LOG_NU_MAX)


def _beta_parameters(theta: NDArray, task_loss: NDArray) -> tuple[NDArray, ...]:
    """s = sigmoid part of mu, mu, nu and the Beta parameters a, b of Approach 2 at these losses."""
    t0, t1, t2, t3, t4 = theta
    s = expit(-t1 * (task_loss - t0))
    mu = t2 * s
    nu = np.exp(_log_nu(theta, task_loss))
    tiny = np.finfo(float).tiny
    return s, mu, nu, np.maximum(mu * nu, tiny), np.maximum((1.0 - mu) * nu, tiny)


def _accuracy_sse(theta: NDArray, task_loss: NDArray, k: NDArray, observed: NDArray) -> float:
    """The Approach 2 objective alone (no Jacobian): cheap enough to screen many starts."""
    *_, a, b = _beta_parameters(theta, task_loss)
    residual = beta_pass_at_k(a, b, k) - observed
    return float(residual @ residual)


def _accuracy_residual_and_jacobian(theta: NDArray, task_loss: NDArray, k: NDArray,
                                    observed: NDArray) -> tuple[NDArray, NDArray]:
    """Residuals Acc(θ) − observed and their analytic Jacobian with respect to θ0…θ4."""
    t0, t1, t2, _, _ = theta
    s, mu, nu, a, b = _beta_parameters(theta, task_loss)
    acc = beta_pass_at_k(a, b, k)
    ratio = 1.0 - acc  # B(a, b + k) / B(a, b)
    psi_ab, psi_abk = digamma(a + b), digamma(a + b + k)
    d_acc_da = -ratio * (psi_ab - psi_abk)
    d_acc_db = -ratio * (digamma(b + k) - psi_abk - digamma(b) + psi_ab)
    # a = mu·nu, b = (1 − mu)·nu
    d_acc_dmu = nu * (d_acc_da - d_acc_db)
    d_acc_dnu = mu * d_acc_da + (1.0 - mu) * d_acc_db
    ds = s * (1.0 - s)
    dnu = np.where(nu < np.exp(LOG_NU_MAX), nu, 0.0)  # a capped ν does not move with θ3, θ4
    jac = np.column_stack([
        d_acc_dmu * t2 * ds * t1,
        d_acc_dmu * t2 * ds * -(task_loss - t0),
        d_acc_dmu * s,
        d_acc_dnu * dnu,
        d_acc_dnu * dnu * task_loss,
    ])
    return acc - observed, jac


class _Memo:
    """Remember the last evaluation, so that residuals and Jacobian at one θ cost one call."""

    def __init__(self, function):
        self.function = function
        self.x = None
        self.value = None

    def __call__(self, x: NDArray):
        if self.x is None or not np.array_equal(x, self.x):
            self.x, self.value = np.array(x, copy=True), self.function(x)
        return self.value


def _naive_sigmoid_seed(task_loss: NDArray, k: NDArray, observed: NDArray) -> NDArray:
    """θ0, θ1, θ2 of a sigmoid in the task loss fitted to the single-sample (k = 1) accuracies."""
    single = k == 1
    x, y = (task_loss[single], observed[single]) if single.sum() >= 3 else (task_loss, observed)

    def sigmoid(loss: NDArray, t0: float, t1: float, t2: float) -> NDArray:
        return t2 * expit(-t1 * (loss - t0))

    guess = (float(np.median(x)), 1.0, float(min(1.0, max(y.max() * 1.5, 1e-3))))
    lower, upper = zip(*THETA_BOUNDS[:3])
    try:
        params, _ = curve_fit(sigmoid, x, y, p0=guess, bounds=(lower, upper), maxfev=20000)
    except RuntimeError:
        params = np.array(guess)
    return np.asarray(params)


def _theta_starts(seed_theta: NDArray, t3_values: list[float], t4_values: list[float]) -> NDArray:
    lower, upper = np.array(THETA_BOUNDS).T
    starts = [np.concatenate([seed_theta, [t3, t4]]) for t3 in t3_values for t4 in t4_values]
    return np.clip(np.array(starts), lower + 1e-9 * (upper - lower), upper - 1e-9 * (upper - lower))


def fit_t2_accuracy(N: ArrayLike, D: ArrayLike, k: ArrayLike, pass_at_k: ArrayLike, *, chinchilla: Chinchilla,
                    method: Method = "fast", seed: int = 0, start: T2Accuracy | None = None) -> FitResult:
    """Fit θ0…θ4 of Approach 2 by least squares between predicted and measured pass@k.

    The Chinchilla task-loss law (stage 1, `fit_chinchilla` on the k = 1 task NLL) is given.
    Both methods start from a grid seeded by the naive sigmoid fit of the k = 1 accuracy.
    `method="paper"`: L-BFGS-B from every start of a 7 × 7 grid over (θ3, θ4);
    `method="fast"`: the same grid screened by one evaluation per start, a trust-region
    least-squares solver with the analytic Jacobian from the 3 best, then the best end
    polished by L-BFGS-B on the same objective; with `start`, the solver starts from its θ alone.
    """
    _check_method(method)
    _check_start(method, start)
    arrays = _inputs(N, D, "pass_at_k", pass_at_k, k=k)
    observed = checks.probability("pass_at_k", arrays["pass_at_k"])
    if not isinstance(chinchilla, Chinchilla):
        raise ValueError(f"chinchilla must be a fitted Chinchilla law; got {chinchilla!r}")
    task_loss = chinchilla.loss(arrays["N"], arrays["D"])
    k_arr = arrays["k"]
    start_time = time.perf_counter()
    bounds = list(THETA_BOUNDS)
    lower, upper = np.array(bounds).T

    def sse(theta: NDArray) -> tuple[float, NDArray]:
        r, J = _accuracy_residual_and_jacobian(theta, task_loss, k_arr, observed)
        return float(r @ r), 2.0 * (r @ J)

    if start is None:
        seed_theta = _naive_sigmoid_seed(task_loss, k_arr, observed)
        grid_starts = _theta_starts(seed_theta, list(np.linspace(-6.0, 6.0, 7)), list(np.linspace(-1.5, 1.5, 7)))
    # A warm start begins next to its optimum (a bootstrap refit): a looser tolerance suffices.
    tolerance = 1e-15 if start is None else WARM_TOLERANCE
    if method == "paper":
        rng = np.random.default_rng(seed)
        starts = grid_starts.copy()
        starts[:, :3] *= rng.uniform(0.9, 1.1, size=(len(starts), 3))  # jitter the seeded θ0..θ2
        starts = np.clip(starts, lower, upper)
        best = None
        converged = 0
        for initial in starts:
            result = minimize(sse, initial, jac=True, method="L-BFGS-B", bounds=bounds,
                              options={"maxiter": PAPER_MAXITER, "ftol": PAPER_TOL, "gtol": 1e-12})
            converged += _lbfgsb_stationary(result, bounds)
            if best is None or result.fun < best.fun:
                best = result
        theta, objective = best.x, float(best.fun)
        status = _lbfgsb_status(best, bounds, PAPER_MAXITER)
        message, n_starts = str(best.message), len(starts)
    else:
        # Screen the same grid by one evaluation each; solve only from the most promising starts.
        if start is None:
            screened = np.array([_accuracy_sse(initial, task_loss, k_arr, observed) for initial in grid_starts])
            starts = grid_starts[np.argsort(screened)[:FAST_ACCURACY_STARTS]]
        else:
            theta = _warm_exponents(start, T2Accuracy, ("theta0", "theta1", "theta2", "theta3", "theta4"))
            starts = np.clip(theta, lower + 1e-9 * (upper - lower), upper - 1e-9 * (upper - lower))[None, :]
        best = None
        converged = 0
        evaluate = _Memo(lambda t: _accuracy_residual_and_jacobian(t, task_loss, k_arr, observed))
        for initial in starts:
            result = least_squares(lambda t: evaluate(t)[0], initial, jac=lambda t: evaluate(t)[1],
                                   bounds=(lower, upper), method="trf", x_scale="jac", ftol=tolerance,
                                   xtol=tolerance, gtol=tolerance, max_nfev=2000)
            converged += result.status > 0
            if best is None or result.cost < best.cost:
                best = result
        polish = minimize(sse, best.x, jac=True, method="L-BFGS-B", bounds=bounds,
                          options={"maxiter": PAPER_MAXITER, "ftol": PAPER_TOL, "gtol": 1e-12})
        # least_squares reports cost = SSE / 2; keep whichever of the two ends lower.
        objective, theta = min((2.0 * best.cost, best.x), (float(polish.fun), polish.x), key=lambda c: c[0])
        status = _status(best.status > 0, best.status == 0, _on_edge(theta, bounds))
        message, n_starts = str(best.message), len(starts)
    status, message, on_bounds = _note_bounds(status, message, [f"theta{i}" for i in range(5)], theta, lower, upper)
    law = T2Accuracy(chinchilla, *map(float, theta))
    return FitResult(law, objective, status, n_starts, time.perf_counter() - start_time, method, len(observed),
                     message, converged, on_bounds)


def objective_of(law: Law, N: ArrayLike, D: ArrayLike, target: ArrayLike, k: ArrayLike | None = None,
                 weights: ArrayLike | None = None) -> float:
    """The (weighted) sum of squared errors a fit minimises, for any law and data."""
    if isinstance(law, Chinchilla):
        prediction = law.loss(N, D)
    elif isinstance(law, T2Loss):
        prediction = law.loss(N, D, k)
    else:
        prediction = law.pass_at_k(N, D, k)
    residual = prediction - np.asarray(target, dtype=float)
    w = np.ones_like(residual) if weights is None else np.asarray(weights, dtype=float)
    return float(np.sum(w * residual**2))
