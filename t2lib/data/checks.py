"""Argument checks shared by the public API.

Every check names the argument and the first offending value, so that bad input
fails loudly at the call that received it instead of surfacing as a NaN later.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def _as_float_array(name: str, value: ArrayLike) -> NDArray[np.float64]:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numeric; got {value!r}") from error
    return array


def reject_first(name: str, array: NDArray, bad: NDArray, requirement: str) -> None:
    """Raise a ValueError naming `name` and its first element where `bad` holds."""
    if np.any(bad):
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f"{name}[{', '.join(map(str, index))}]" if array.ndim else name
        raise ValueError(f"{name} must be {requirement}; got {where} = {array[index].item()!r}")


def finite(name: str, value: ArrayLike) -> NDArray[np.float64]:
    """Return value as a float array, rejecting NaN and infinities."""
    array = _as_float_array(name, value)
    reject_first(name, array, ~np.isfinite(array), "finite")
    return array


def positive(name: str, value: ArrayLike) -> NDArray[np.float64]:
    """Return value as a float array of finite numbers > 0."""
    array = finite(name, value)
    reject_first(name, array, array <= 0, "> 0")
    return array


def nonnegative(name: str, value: ArrayLike) -> NDArray[np.float64]:
    """Return value as a float array of finite numbers >= 0."""
    array = finite(name, value)
    reject_first(name, array, array < 0, ">= 0")
    return array


def probability(name: str, value: ArrayLike) -> NDArray[np.float64]:
    """Return value as a float array of numbers in [0, 1]."""
    array = finite(name, value)
    reject_first(name, array, (array < 0) | (array > 1), "in [0, 1]")
    return array


def sample_count(name: str, value: ArrayLike) -> NDArray[np.float64]:
    """Return a (real-valued) number of samples k >= 1."""
    array = finite(name, value)
    reject_first(name, array, array < 1, ">= 1")
    return array


def same_length(**arrays: NDArray) -> None:
    """Require 1-D arrays of one common length (the rows of one dataset)."""
    lengths = {name: np.shape(a) for name, a in arrays.items()}
    for name, shape in lengths.items():
        if len(shape) != 1:
            raise ValueError(f"{name} must be 1-D; got shape {shape}")
    if len({shape[0] for shape in lengths.values()}) > 1:
        described = ", ".join(f"{name} has {shape[0]}" for name, shape in lengths.items())
        raise ValueError(f"arguments must have the same length; {described}")
