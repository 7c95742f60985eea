"""Numbers as a reader writes them, for prose, tables and the command line (no dependencies
inside t2lib, so that any module can use it)."""

from __future__ import annotations

import re

import numpy as np

MINUS = "\u2212"
SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def format_number(x: float, digits: int = 3) -> str:
    """A number as a reader writes it: `digits` significant digits, thousands separated,
    powers of ten as ×10ⁿ beyond a million or below a thousandth, a true minus sign."""
    if not np.isfinite(x):
        return "∞" if x > 0 else MINUS + "∞"
    if x == 0:
        return "0"
    sign, x = (MINUS if x < 0 else ""), abs(x)
    rounded = float(f"{x:.{digits}g}")
    if rounded >= 1e6 or rounded < 1e-3:
        mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        text = ("" if mantissa == "1" else mantissa + "×") + "10" + str(int(exponent)).translate(SUPERSCRIPT)
    elif (rounded >= 10 and rounded == int(rounded)) or rounded >= 1000 or x == int(x):
        text = f"{rounded:,.0f}"
    elif rounded == int(rounded):  # 0.99996 reads 1.00, not a whole 1
        text = f"{rounded:.{digits - 1}f}"
    else:
        text = f"{rounded:.{digits}g}"
    return sign + text


def signed(x: float, spec: str = "+.3f") -> str:
    """`x` with an explicit sign, formatted by `spec` (a format spec such as "+.3f" or "+.1%"),
    the minus a true minus sign."""
    return f"{x:{spec}}".replace("-", MINUS)


def interval(value: float, low: float, high: float, spec: str = "+.3f") -> str:
    """A difference and its interval, signed: "−0.119 [−0.247, +0.010]"."""
    return f"{signed(value, spec)} [{signed(low, spec)}, {signed(high, spec)}]"


# A number in e-notation standing alone: no leading zero (hex digests such as 03e43079 are not
# numbers), at most a three-digit exponent, not part of a word or of a longer number.
E_NOTATION = re.compile(r"(?<![\w.])(?<!\w-)((?:[1-9]\d*|0)(?:\.\d+)?)e([+-]?\d{1,3})(?!\w|\.\d)")


def powers_of_ten(text: str) -> str:
    """Every number in Python's e-notation within `text` as a power of ten: 'at 2.56e+19 FLOPs'
    → 'at 2.56×10¹⁹ FLOPs', '1e-05' → '10⁻⁵'; the rest of the text as it is, identifiers such as
    a checkpoint's 'porian-901M-2.56e+19' included (a reader may type them)."""

    def written(match: re.Match) -> str:
        mantissa, exponent = match.group(1), str(int(match.group(2)))
        return ("" if float(mantissa) == 1 else mantissa + "×") + "10" + exponent.translate(SUPERSCRIPT)

    return E_NOTATION.sub(written, text)
