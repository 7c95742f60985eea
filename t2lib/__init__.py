"""t2lib: the mathematics of Train-to-Test (T²) scaling laws.

Cost model, pass@k, the two T² laws, their fits and the optimal allocation of a
training and an inference budget. Conventions follow those of
"Test-Time Scaling Makes Overtraining Compute-Optimal" (Roberts et al., 2026).
"""

from t2lib.book.tables import compare_with_paper, overtrained_vs_chinchilla
from t2lib.data.lm_eval import LmEvalError, import_lm_eval
from t2lib.data.suite import Suite, SuiteError, load_suite, write_suite
from t2lib.laws.costs import inference_flops, samples_for_budget, tokens_for_budget, train_flops
from t2lib.laws.fit import FitResult, fit_chinchilla, fit_t2_accuracy, fit_t2_loss, isoflop_weights, objective_of
from t2lib.laws.frontier import (
    Allocation,
    frontier,
    macro_value,
    optimal_allocation,
    saturated_size,
    single_pass_choice,
    value_at,
)
from t2lib.laws.laws import HOFFMANN_2022, Chinchilla, T2Accuracy, T2Loss
from t2lib.laws.passk import (
    beta_from_moments,
    beta_pass_at_k,
    log_beta_ratio,
    log_pass_at_k,
    naive_pass_at_k,
    pass_at_k,
    pass_at_k_unbiased,
    task_nll,
    task_pass_at_k,
)

__all__ = [
    "HOFFMANN_2022",
    "Allocation",
    "Chinchilla",
    "FitResult",
    "LmEvalError",
    "Suite",
    "SuiteError",
    "T2Accuracy",
    "T2Loss",
    "beta_from_moments",
    "beta_pass_at_k",
    "compare_with_paper",
    "fit_chinchilla",
    "fit_t2_accuracy",
    "fit_t2_loss",
    "frontier",
    "import_lm_eval",
    "inference_flops",
    "isoflop_weights",
    "load_suite",
    "log_beta_ratio",
    "log_pass_at_k",
    "macro_value",
    "naive_pass_at_k",
    "objective_of",
    "optimal_allocation",
    "overtrained_vs_chinchilla",
    "pass_at_k",
    "pass_at_k_unbiased",
    "saturated_size",
    "samples_for_budget",
    "single_pass_choice",
    "task_nll",
    "task_pass_at_k",
    "tokens_for_budget",
    "train_flops",
    "value_at",
    "write_suite",
]
