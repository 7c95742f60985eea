"""Helpers that carry computed numbers into a chapter's prose (myst-nb glue) and tables."""

from __future__ import annotations

import hashlib
import numbers
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from t2lib.book.formatting import powers_of_ten, signed
from t2lib.laws.frontier import N_MIN


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


def number_or(value: float, fmt: str, otherwise: str) -> str:
    """`value` formatted with `fmt`, or the sentence `otherwise` when it is not finite (a
    quantity that does not exist for this run, such as the value of an unaffordable model)."""
    value = float(plain(value))
    return format(value, fmt) if np.isfinite(value) else otherwise


def search_edge_note(at_edge: pd.DataFrame) -> str:
    """A sentence on the optima whose size search stopped at an edge of its range (the
    frontier's constraint "search edge"): their numbers are the search's bounds, not optima.
    `at_edge` holds one boolean per optimum (a missing value would count as an edge, so it is refused)."""
    flags = np.asarray(at_edge)
    if flags.dtype != bool:
        raise TypeError(f"at_edge must hold booleans, one per optimum; got dtype {flags.dtype}")
    n_edge, n_optima = int(flags.sum()), int(flags.size)
    if not n_edge:
        return "Every one of these optima lies inside the search's range of sizes."
    return (f"In {n_edge} of the {n_optima} optima (marked below) the search stopped at an edge of its range of "
            f"sizes ({N_MIN:,.0f} parameters, or a model that sees a single token) and the law still improves "
            "beyond it: that number is a bound the search imposed, not an optimum the law found.")


def describe_sources(sources: pd.Series) -> str:
    """The tasks' `source` texts in one phrase: the parts every task shares ("; "-separated)
    once, then each remaining variant with its number of tasks."""
    split = [[part.strip() for part in str(text).split(";") if part.strip()] for text in sources if str(text).strip()]
    if not split:
        return "no source given in tasks.csv"
    shared = [part for part in split[0] if all(part in parts for parts in split)]
    variants = pd.Series(["; ".join(p for p in parts if p not in shared) for parts in split]).value_counts(sort=False)
    variants = variants[variants.index != ""]
    rest = [f"{text} ({count} task{'s' if count > 1 else ''})" if len(variants) > 1 else text
            for text, count in variants.items()]
    return "; ".join(shared + rest)


def data_note(suite) -> str:
    """A MyST admonition saying whether the suite is real or simulated, where it came from and
    its checksum; chapters display it as Markdown at the top of every page that shows data."""
    described = describe_sources(suite.tasks["source"])
    if suite.simulated_tasks:
        kind, css, intro = "Simulated data", "warning", (
            f"**Simulated** per-question likelihoods for {len(suite.simulated_tasks)} of {len(suite.tasks)} tasks "
            f"({described}).")
    else:
        kind, css, intro = "Real data", "note", f"**Real** evaluation data ({described})."
    if "loss_kind" in suite.checkpoints:
        kinds = suite.base["loss_kind"].value_counts()
        intro += " Checkpoint losses: " + ", ".join(f"{n} {kind}" for kind, n in kinds.items()) + "."
    return (f":::{{admonition}} {kind}\n:class: {css}\n{intro}\n\n"
            f"`{suite.summary()}` (full sha256 `{suite.sha256}`)\n:::\n")


def admonition(title: str, text: str, css: str = "warning") -> str:
    """A MyST admonition holding `text`, or "" where there is no text."""
    return f":::{{admonition}} {title}\n:class: {css}\n{text}\n:::\n" if text else ""


def chapter_title(chapter: str, folder: str | Path = "chapters") -> str:
    """A chapter's title (its first heading), for tables that list chapters by id."""
    path = Path(folder) / f"{chapter}.md"
    heading = next((line for line in path.read_text().splitlines() if line.startswith("# ")), None)
    if heading is None:
        raise ValueError(f"{path}: no '# ' heading to title the chapter {chapter!r}")
    return heading[2:].strip()


def source_revision(root: str | Path) -> str:
    """The git commit the book was built from, marked when the working tree had changes; or a
    sentence saying the source was not a git checkout."""

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)

    try:
        head = git("rev-parse", "HEAD")
    except FileNotFoundError:
        return "unknown (git is not installed)"
    if head.returncode != 0:
        return "unknown (not built from a git checkout)"
    dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    return head.stdout.strip() + (" with uncommitted changes" if dirty else "")


@dataclass(frozen=True)
class FileCommit:
    """The commit that first added a file to the repository: its hash, date and subject."""

    commit: str
    date: str
    subject: str


def first_commit(root: str | Path, path: str | Path) -> FileCommit | str:
    """The commit that added `path` (relative to the repository at `root`), or a sentence saying
    why it cannot be told (no git, not a checkout, the file not committed, or a shallow clone
    whose history starts after it)."""

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)

    try:
        if git("rev-parse", "HEAD").returncode != 0:
            return "unknown (not a git checkout)"
    except FileNotFoundError:
        return "unknown (git is not installed)"
    log = git("log", "--diff-filter=A", "--format=%H%x09%cI%x09%s", "--", str(path)).stdout.strip().splitlines()
    if not log:
        return f"unknown ({path} is not committed)"
    commit, date, subject = log[-1].split("\t", 2)
    if git("rev-parse", "--is-shallow-repository").stdout.strip() == "true":
        return f"unknown (a shallow clone: its history may start after {path} was added)"
    return FileCommit(commit, date, subject)


def committed_before(root: str | Path, earlier: FileCommit, later: FileCommit) -> bool:
    """Whether `earlier` is an ancestor of `later` (and not the same commit)."""
    if earlier.commit == later.commit:
        return False
    result = subprocess.run(["git", "-C", str(root), "merge-base", "--is-ancestor", earlier.commit, later.commit],
                            capture_output=True, text=True)
    return result.returncode == 0


def commit_order(root: str | Path, forecast: str | Path, results: str | Path) -> tuple[str, str, str]:
    """Where the forecast file and the results file were first committed (each as "commit <hash>
    (<date>…)", or why it cannot be told) and whether the forecast came first, as words."""
    first, second = first_commit(root, forecast), first_commit(root, results)
    dated = not isinstance(first, str) and not isinstance(second, str)
    order = ("came first: the results' commit descends from the forecast's" if dated and committed_before(
        root, first, second) else "did not come first" if dated else "cannot be ordered here")
    added = first if isinstance(first, str) else f"commit {first.commit[:8]} ({first.date[:10]}, “{first.subject}”)"
    return added, second if isinstance(second, str) else f"commit {second.commit[:8]} ({second.date[:10]})", order


def folder_sha256(folder: Path) -> str:
    """One checksum of every file in a folder: sha256 over each file's relative path and sha256."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(folder).as_posix()} {hashlib.sha256(path.read_bytes()).hexdigest()}\n"
                      .encode())
    return digest.hexdigest()


def real_data_note(*folders: str | Path) -> str:
    """A MyST admonition labelling a page's data real: per folder, the title of its SOURCE.md,
    its license file and the checksum of its files (`folder_sha256`)."""
    lines = []
    for folder in map(Path, folders):
        source = folder / "SOURCE.md"
        licenses = sorted(p.name for p in folder.glob("LICENSE*"))
        if not source.is_file() or not licenses:
            raise FileNotFoundError(f"{folder}: real data needs its SOURCE.md and license file beside it")
        title = source.read_text().splitlines()[0].lstrip("# ").strip()
        lines.append(f"- {title}. `{folder}`: source and license in `{source.name}` and `{licenses[0]}`; "
                     f"sha256 of its files `{folder_sha256(folder)}`.")
    return ":::{admonition} Real data\n:class: note\nThis page's numbers on published runs come from these " \
           "**real** training runs (no simulation):\n\n" + "\n".join(lines) + "\n:::\n"


# How every "Paper vs this book" row is judged (stated above each table).
AGREE_RTOL = 0.10
AGREEMENT_RULE = (f"A number with a band agrees when the paper's value lies inside this book's band. A number without "
                  f"a band cannot agree, since nothing says how far it could move: within ±{AGREE_RTOL:.0%} of the "
                  "paper's (relative) it reads \"close (no band)\", which is not evidence; further off, \"differs\"; "
                  "a range agrees when this book's values lie inside the paper's; a finding agrees when the same "
                  "statement holds on this book's data, is \"inconclusive\" when this book's data cannot tell "
                  "(a degenerate fit, a share within its sampling error of a coin flip), and is \"not a test\" "
                  "when it could not have come out otherwise (an inequality that always holds, a direction that "
                  "follows from the law's form).")
# How every head-to-head and every effect with an interval is judged (t2lib.laws.paired, the verdict page).
DECISION_RULE = ("A difference is a win (or a loss) only when its whole interval lies on one side of zero; "
                 "when the interval includes zero it is a tie. A comparison whose candidate is chosen from a set "
                 "that includes its rival, on the same data, cannot lose and is labelled so, not counted as a win.")


def decide(low: float, high: float, *, higher_is_better: bool = True, cannot_lose: bool = False) -> str:
    """The outcome DECISION_RULE gives a difference (candidate − rival) with interval [low, high]."""
    if cannot_lose:
        return "cannot lose by construction"
    if not (np.isfinite(low) and np.isfinite(high)) or low > high:
        raise ValueError(f"an interval needs finite ends with low ≤ high; got [{low}, {high}]")
    if low > 0 or high < 0:
        return "win" if (low > 0) == higher_is_better else "loss"
    return "tie"


# The verdict page's section that states AGREEMENT_RULE and BASES; every other table links to it.
AGREEMENT_SECTION = "agreement-rule"
# What a row's agreement or disagreement is evidence of.
BASES = {
    "independent": "this book's computation does not use the paper's number",
    "by construction": "the data were calibrated or built to give the paper's number, so agreement is expected",
    "simulated": "the data are simulated, calibrated to other numbers of the paper (its Tables 1 and 2): agreement "
                 "is partly built in, so it is a check of the simulator, not evidence for the paper",
    "not comparable": "different settings or scale: shown for orientation, not as a test",
}
PAPER_CLAIMS = Path(__file__).resolve().parents[2] / "data" / "paper" / "claims.csv"


def _check_basis(basis: str) -> None:
    if basis not in BASES:
        raise ValueError(f"basis must be one of {', '.join(BASES)}; got {basis!r}")


def paper_claim(claim: str) -> pd.Series:
    """One of the paper's stated numbers from data/paper/claims.csv: value, low, high, unit, statement."""
    claims = pd.read_csv(PAPER_CLAIMS).set_index("claim")
    if claim not in claims.index:
        raise KeyError(f"{PAPER_CLAIMS}: no claim {claim!r}; known: {', '.join(claims.index)}")
    return claims.loc[claim]


def number_row(quantity: str, paper: float, ours: float, fmt: str = ".3g", note: str = "", *,
               basis: str, whose: str = "the paper's", band: tuple[float, float] | None = None) -> dict[str, str]:
    """A row of a "Paper vs this book" table comparing two numbers: both, their difference,
    and the verdict of AGREEMENT_RULE: with our `band`, "agrees" (the paper's value inside it) or
    "differs"; without one, "close (no band)" within AGREE_RTOL, else "differs". `whose` names the
    published number in the difference ("the paper's", or e.g. "the published")."""
    _check_basis(basis)
    paper, ours = float(plain(paper)), float(plain(ours))
    if not np.isfinite(ours):
        raise ValueError(f"{quantity}: our value is not finite ({ours})")
    same_digits = f"{ours:{fmt}}" == f"{paper:{fmt}}"  # a difference below the digits shown is none
    difference = "0 at the digits shown" if same_digits else signed(ours - paper, f"+{fmt}")
    close = ours == paper
    if paper != 0:
        difference += "" if same_digits else f" ({ours / paper:.2g}× {whose})"
        close = abs(ours / paper - 1) <= AGREE_RTOL
    shown, verdict = f"{ours:{fmt}}", "close (no band)" if close else "differs"
    if band is not None:
        low, high = (float(plain(v)) for v in band)
        inside = low <= paper <= high
        shown, verdict = f"{ours:{fmt}} [{low:{fmt}}, {high:{fmt}}]", "agrees" if inside else "differs"
        difference += f"; {'inside' if inside else 'outside'} our band"
    return {"quantity": quantity, "paper": powers_of_ten(f"{paper:{fmt}}"), "this book": powers_of_ten(shown),
            "difference": powers_of_ten(f"{difference}: {verdict}"), "basis": basis, "note": note}


def range_row(quantity: str, paper_low: float, paper_high: float, ours_low: float, ours_high: float,
              fmt: str = ".3g", note: str = "", *, basis: str) -> dict[str, str]:
    """A row comparing a range the paper shows with ours: agrees when ours lies inside it."""
    inside = paper_low <= ours_low and ours_high <= paper_high
    return claim_row(quantity, f"{paper_low:{fmt}}–{paper_high:{fmt}}", f"{ours_low:{fmt}}–{ours_high:{fmt}}",
                     inside, note, basis=basis)


def most_of(count: int, total: int, level: float = 0.95) -> bool | None:
    """Whether `count` of `total` is "most" beyond sampling error: True when the exact binomial
    interval of the share lies above one half, False when below, None (a coin flip cannot be
    ruled out) otherwise."""
    from scipy.stats import binomtest

    interval = binomtest(int(count), int(total), 0.5).proportion_ci(confidence_level=level, method="exact")
    return True if interval.low > 0.5 else False if interval.high < 0.5 else None


def claim_row(quantity: str, paper: str, ours: str, agrees: bool | None, note: str = "", *, basis: str,
              built_in: bool = False) -> dict[str, str]:
    """A row comparing a qualitative finding: the paper's, ours, and whether they agree (None:
    this book's data cannot tell, "inconclusive"; `built_in`: it could not have come out
    otherwise, "not a test", whatever `agrees` says)."""
    _check_basis(basis)
    difference = ("not a test" if built_in else "inconclusive" if agrees is None
                  else "agrees" if agrees else "differs")
    return {"quantity": quantity, "paper": powers_of_ten(paper), "this book": powers_of_ten(ours),
            "difference": difference, "basis": basis, "note": powers_of_ten(note)}


def paper_vs_book(rows: list[dict[str, str]], not_comparable: str = "", reference: str = "paper") -> pd.DataFrame:
    """The "Paper vs this book" table every chapter ends with, one row per reported number.

    `not_comparable` (from `requirements.comparability`) is the reason a run's settings differ
    from the paper's; every row then reads "not comparable" instead of a difference and a basis,
    and the table's name says why (chapters display it with `show_paper_vs_book`)."""
    if not rows:
        raise ValueError("a Paper vs this book table needs at least one row")
    table = pd.DataFrame(rows, columns=["quantity", "paper", "this book", "difference", "basis", "note"])
    table = table.set_index("quantity").rename(columns={"paper": reference})
    if not_comparable:
        table["difference"] = "not comparable"
        table["basis"] = "not comparable"
        table.columns.name = not_comparable
    return table


def show_paper_vs_book(rows: list[dict[str, str]], not_comparable: str = "", reference: str = "paper"):
    """Display a link to the agreement rule (stated once, on the verdict page) and, if the run is
    not comparable, why; return the table drawn by tables.show_table. `reference` names the column
    of the published numbers (the paper's, or another study's)."""
    from IPython.display import display  # only available in the book's environment

    from t2lib.book.myst import Markdown
    from t2lib.book.tables import show_table

    display(Markdown("Each row below is judged by the book's agreement rule, and its *basis* says what an agreement "
                     f"there is evidence of (both defined in {{ref}}`{AGREEMENT_SECTION}`)."))
    if not_comparable:
        display(Markdown(f":::{{admonition}} Paper vs this book: {not_comparable}\n:class: warning\n"
                         "The paper's numbers below come from other settings; they are shown for orientation, "
                         "not as a test.\n:::\n"))
    return show_table(paper_vs_book(rows, not_comparable, reference), missing="")


def table_rows(comparison: pd.DataFrame, label: str = "", *, basis: str | dict[str, str],
               names: Mapping[str, str] | pd.Series | None = None) -> list[dict[str, str]]:
    """"Paper vs this book" rows for a Table 1/2 comparison (`tables.compare_with_paper`):
    both pass@k cells, the sizes chosen and the winner, per task (by its display name in
    `names`, where given). `basis` is one for all rows or one per task."""
    rows = []
    for _, row in comparison.iterrows():
        name = f"{label}{row['task'] if names is None else names.get(row['task'], row['task'])}"
        row_basis = basis if isinstance(basis, str) else basis[row["task"]]
        for cell, title in (("best_overtrained", "best overtrained"), ("chinchilla_opt", "Chinchilla-optimal")):
            rows.append(number_row(f"{name}: {title} pass@k", row[f"{cell}_pass_at_k_paper"],
                                   row[f"{cell}_pass_at_k_ours"], ".3g", basis=row_basis))
            rows.append(claim_row(f"{name}: {title} size", row[f"{cell}_size_paper"], row[f"{cell}_size_ours"],
                                  row[f"{cell}_size_paper"] == row[f"{cell}_size_ours"], basis=row_basis))
        rows.append(claim_row(f"{name}: winner", row["winner_paper"], row["winner_ours"],
                              row["winner_paper"] == row["winner_ours"], basis=row_basis))
    return rows


def calibration_note(suite, table: str) -> str:
    """A MyST warning, when the suite's tasks say they were calibrated to this paper table, that
    agreement with it is by construction; an empty string otherwise."""
    calibrated = suite.tasks.loc[suite.tasks["source"].str.contains(f"calibrated to the paper's {table}",
                                                                    regex=False, na=False), "task"]
    if calibrated.empty:
        return ""
    return (":::{admonition} Agreement here is by construction\n:class: warning\n"
            f"The suite's simulator was calibrated so that this very comparison reproduces the paper's {table} "
            f"for {len(calibrated)} task(s) ({', '.join(calibrated)}). Matching numbers below are a check of that "
            "calibration, not evidence for the paper's claim.\n:::\n")
