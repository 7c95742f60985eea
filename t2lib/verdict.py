"""The verdict page's cells: for each claim of the paper and each kind of evidence, a number
with its uncertainty and a verdict — holds, fails, inconclusive, not tested, or not a test —
computed by the same functions as the chapter each comes from.

Verdicts follow `report.DECISION_RULE` where a difference has an interval; the rules for the
others are stated with each cell (`Cell.rule`). "not a test" marks a comparison whose outcome
was built in (a simulator calibrated to the very table, a choice that cannot lose by
construction, a direction that follows from an assumption).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

CLAIMS = {
    "overtraining": "the optimum moves into overtraining once inference is counted",
    "extrapolation": "laws fitted near Chinchilla extrapolate to overtrained models with small error",
    "beats": "overtrained models beat Chinchilla-optimal ones at equal training and inference budgets",
    "forecast": "a forecast of the optimum is borne out by training the models it names",
    "post_training": "the recommendation survives post-training",
    "approaches": "the two approaches agree on the optimum",
}
EVIDENCE = {
    "simulation": "paper-calibrated simulation",
    "public": "public real runs",
    "grid": "the book's miniature grid",
    "validation": "the book's validation models",
}
VERDICTS = ("holds", "fails", "inconclusive", "not tested", "not a test")
SMALL_ERROR = 0.10  # "small" extrapolation error: at most 10% (an assumption; the paper reports 2.8% and 8.4%)


@dataclass(frozen=True)
class Cell:
    """One claim on one kind of evidence: the measurement in words, the verdict, the rule that
    gave it, and the chapter it comes from."""

    claim: str
    evidence: str
    value: str
    verdict: str
    rule: str
    source: str

    def __post_init__(self) -> None:
        if self.claim not in CLAIMS or self.evidence not in EVIDENCE or self.verdict not in VERDICTS:
            raise ValueError(f"a cell needs a known claim, evidence and verdict; got {self.claim!r}, "
                             f"{self.evidence!r}, {self.verdict!r}")


def not_tested(claim: str, evidence: str, why: str) -> Cell:
    return Cell(claim, evidence, why, "not tested", "", "")


def head_to_head_verdict(pass_outcome: str, skill_outcome: str) -> str:
    """A head-to-head on a suite whose answers can be guessed holds only if it is won both on
    pass@k and above guessing, fails if it is lost on either, and is otherwise inconclusive."""
    if "loss" in (pass_outcome, skill_outcome):
        return "fails"
    if pass_outcome == "win" and skill_outcome == "win":
        return "holds"
    return "inconclusive"


def error_verdict(errors: list[float], inside: list[bool] | None = None) -> str:
    """Extrapolation errors (relative, signed) hold as "small" when every |error| ≤ SMALL_ERROR
    (and, where bands exist, every measurement lies inside its band); fail when the mean |error|
    exceeds it; otherwise inconclusive."""
    worst = max(abs(e) for e in errors)
    mean = sum(abs(e) for e in errors) / len(errors)
    if worst <= SMALL_ERROR and (inside is None or all(inside)):
        return "holds"
    return "fails" if mean > SMALL_ERROR else "inconclusive"


def interval(value: float, low: float, high: float, fmt: str = "+.3f") -> str:
    return f"{value:{fmt}} [{low:{fmt}}, {high:{fmt}}]"


def verdict_table(cells: list[Cell]) -> pd.DataFrame:
    """Claims (rows, in CLAIMS order) by evidence (columns): "verdict: value" per cell, every
    (claim, evidence) pair present exactly once."""
    frame = pd.DataFrame([asdict(c) for c in cells])
    pairs = frame[["claim", "evidence"]].value_counts()
    if (pairs > 1).any() or len(pairs) != len(CLAIMS) * len(EVIDENCE):
        missing = sorted(set((c, e) for c in CLAIMS for e in EVIDENCE) - set(pairs.index))
        raise ValueError(f"the verdict needs each (claim, evidence) once; missing {missing[:3]}, "
                         f"repeated {list(pairs[pairs > 1].index)[:3]}")
    frame["cell"] = frame["verdict"] + ": " + frame["value"]
    table = frame.pivot(index="claim", columns="evidence", values="cell").loc[list(CLAIMS), list(EVIDENCE)]
    return table.rename(index=CLAIMS, columns=EVIDENCE)
