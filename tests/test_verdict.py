"""The verdict page: its cells follow their rules, every (claim, evidence) pair appears once,
it is linked from the introduction's first paragraph and from the README, and each number it
shares with a chapter is the chapter's own (executed in fast mode, compared glue by glue)."""

import ast
import json
from pathlib import Path

import pytest

from t2lib.verdict import CLAIMS, EVIDENCE, Cell, error_verdict, head_to_head_verdict, not_tested, verdict_table
from test_chapters import REPO_ROOT, executed_without_errors, run_chapter

# verdict page's glue key → (chapter, that chapter's glue key): the same number on both pages.
SHARED = {
    "passk_difference": ("testing_the_forecast", "pass_at_k_difference"),
    "passk_low": ("testing_the_forecast", "pass_at_k_low"),
    "skill_difference": ("testing_the_forecast", "skill_difference"),
    "n_reversed": ("testing_the_forecast", "n_reversed"),
    "n_degenerate": ("testing_the_forecast", "n_degenerate"),
    "n_below_band": ("testing_the_forecast", "post_below_band"),
    "weakest_difference": ("testing_the_forecast", "weakest_difference"),
    "sardana_mean": ("real_overtrained", "held_mean"),
    "gadre_mean": ("real_overtrained", "gadre_mean"),
    "table1_higher": ("overtrained_vs_chinchilla", "n_wins"),
}


def glued(notebook: Path) -> dict[str, object]:
    """Every value a notebook glued, by name."""
    values = {}
    for cell in json.loads(notebook.read_text())["cells"]:
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get("scrapbook")
            if record:
                values[record["name"]] = ast.literal_eval(output["data"]["application/papermill.record/text/plain"])
    return values


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    folder = tmp_path_factory.mktemp("verdict")
    found = {}
    for stem in {"verdict", *(chapter for chapter, _ in SHARED.values())}:
        output = folder / f"{stem}.ipynb"
        result = run_chapter(REPO_ROOT / "chapters" / f"{stem}.md", output, "-p", "fast", "true")
        assert result.returncode == 0, result.stderr[-3000:]
        executed_without_errors(output)
        found[stem] = glued(output)
    return found


@pytest.mark.chapter
def test_every_number_the_verdict_shares_with_a_chapter_is_the_chapters(pages: dict) -> None:
    for key, (chapter, their_key) in SHARED.items():
        assert pages["verdict"][key] == pytest.approx(pages[chapter][their_key], rel=1e-12), (key, chapter)


def test_the_page_is_linked_from_the_introductions_first_paragraph_and_the_readme() -> None:
    first_paragraph = (REPO_ROOT / "intro.md").read_text().split("\n\n")[1]
    assert "{doc}`chapters/verdict`" in first_paragraph
    assert "chapters/verdict.md" in (REPO_ROOT / "README.md").read_text()


def test_the_rules() -> None:
    assert head_to_head_verdict("win", "win") == "holds" and head_to_head_verdict("win", "loss") == "fails"
    assert head_to_head_verdict("win", "tie") == "inconclusive"
    assert head_to_head_verdict("loss", "win") == "fails" and head_to_head_verdict("tie", "tie") == "inconclusive"
    assert error_verdict([0.05, -0.08]) == "holds" and error_verdict([0.05, -0.08], [True, False]) == "inconclusive"
    assert error_verdict([0.3, -0.2]) == "fails" and error_verdict([0.02, 0.15]) == "inconclusive"


def test_the_table_needs_every_claim_on_every_kind_of_evidence_once() -> None:
    cells = [not_tested(claim, evidence, "why") for claim in CLAIMS for evidence in EVIDENCE]
    table = verdict_table(cells)
    assert table.shape == (len(CLAIMS), len(EVIDENCE)) and (table == "not tested: why").all().all()
    with pytest.raises(ValueError, match="each \\(claim, evidence\\) once"):
        verdict_table(cells[1:])
    with pytest.raises(ValueError, match="each \\(claim, evidence\\) once"):
        verdict_table(cells + cells[:1])
    with pytest.raises(ValueError, match="known claim"):
        Cell("beats", "validation", "x", "probably", "", "")
