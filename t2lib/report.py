"""Helpers that carry computed numbers into a chapter's prose (myst-nb glue) and tables."""

from __future__ import annotations

import numbers

import numpy as np


def plain(value: object) -> object:
    """A numpy scalar as the Python number it holds (glue formats only Python numbers)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value


def glue_values(**values: object) -> None:
    """Glue each keyword as a hidden value, to be placed in the prose with {glue:text}`name`."""
    from myst_nb import glue  # only available in the book's environment

    for name, value in values.items():
        value = plain(value)
        if isinstance(value, numbers.Number) and not np.isfinite(value):
            raise ValueError(f"refusing to glue a non-finite number into the prose: {name} = {value}")
        glue(name, value, display=False)
