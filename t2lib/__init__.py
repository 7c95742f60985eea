"""t2lib: the mathematics of Train-to-Test (T²) scaling laws.

Cost model, pass@k, the two T² laws, their fits and the optimal allocation of a
training and an inference budget. Conventions follow REFERENCE.md of the paper
"Test-Time Scaling Makes Overtraining Compute-Optimal" (Roberts et al., 2026).
"""

from t2lib.costs import inference_flops, samples_for_budget, tokens_for_budget, train_flops
from t2lib.passk import (
    beta_pass_at_k,
    log_pass_at_k,
    naive_pass_at_k,
    pass_at_k,
    pass_at_k_unbiased,
    task_nll,
    task_pass_at_k,
)

__all__ = [
    "beta_pass_at_k",
    "inference_flops",
    "log_pass_at_k",
    "naive_pass_at_k",
    "pass_at_k",
    "pass_at_k_unbiased",
    "samples_for_budget",
    "task_nll",
    "task_pass_at_k",
    "tokens_for_budget",
    "train_flops",
]
