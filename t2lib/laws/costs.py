"""The T² cost model (the paper's cost model): training 6·N·D FLOPs, inference 2·N·k FLOPs per token."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from t2lib.data import checks


def train_flops(N: ArrayLike, D: ArrayLike) -> NDArray[np.float64]:
    """Training compute 6·N·D of a model with N parameters trained on D tokens."""
    return 6.0 * checks.positive("N", N) * checks.positive("D", D)


def inference_flops(N: ArrayLike, k: ArrayLike) -> NDArray[np.float64]:
    """Inference compute 2·N·k per generated token when k samples are drawn per question."""
    return 2.0 * checks.positive("N", N) * checks.positive("k", k)


def samples_for_budget(N: ArrayLike, c_inf: ArrayLike) -> NDArray[np.float64]:
    """Samples per question k = C_inf / (2N) that an inference budget buys a model of size N."""
    return checks.positive("c_inf", c_inf) / (2.0 * checks.positive("N", N))


def tokens_for_budget(N: ArrayLike, c_train: ArrayLike) -> NDArray[np.float64]:
    """Tokens D = C_train / (6N) on the isoFLOP curve of a training budget."""
    return checks.positive("c_train", c_train) / (6.0 * checks.positive("N", N))
