"""The book's one table renderer (t2lib.book.tables.show_table) and its number formatting."""

import re

import numpy as np
import pandas as pd
import pytest

from t2lib.book.tables import band_text, cell_text, format_number, header, show_table


@pytest.mark.parametrize(("x", "text"), [
    (2.56e19, "2.56×10¹⁹"), (1e9, "10⁹"), (-2.23e-10, "−2.23×10⁻¹⁰"), (106_320.0, "106,000"), (999.7, "1,000"),
    (12_345.6, "12,300"), (0.886, "0.886"), (0.00123, "0.00123"), (3.0, "3"), (-0.5, "−0.5"), (0.0, "0"),
    (float("inf"), "∞"), (0.99996, "1.00"), (29.996, "30"),
])
def test_numbers_read_as_a_person_writes_them(x: float, text: str) -> None:
    assert format_number(x) == text


def test_cells_by_kind() -> None:
    assert [cell_text(v) for v in (None, np.nan, True, np.False_, "Approach 1", [1, 2])] == \
           ["—", "—", "yes", "no", "Approach 1", "1, 2"]
    assert cell_text(1_618_080.0, "count") == "1,618,080"
    assert cell_text(0.1234, "percent") == "12.3%"
    assert cell_text(-0.0123, "signed") == "−0.0123" and cell_text(0.0123, "signed") == "+0.0123"
    assert cell_text(2.0, "{:.0f}×") == "2×"
    assert band_text(0.5, 0.4, 0.61) == "0.5 [0.4, 0.61]" and band_text(0.5, np.nan, np.nan) == "0.5"


def test_headers_in_words_with_units() -> None:
    assert header("c_train") == "C<sub>train</sub> (FLOPs)"
    assert header("mean_pass_at_k") == "mean pass@k" and header("chinchilla_opt_k") == "Chinchilla-optimal: k"
    assert header("tokens_per_param") == "D/N" and header("t2_won") == "T² won"


def rendered(frame: pd.DataFrame, **options: object) -> tuple[str, list[str], list[str]]:
    html = show_table(frame, **options).to_html()
    heads = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<th\b[^>]*>(.*?)</th>", html, re.S)]
    cells = [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)]
    return html, heads, cells


def test_a_table_never_shows_an_index_raw_names_nan_booleans_or_dot_zero() -> None:
    frame = pd.DataFrame({"c_train": [1e18, 2e19], "params": [106_320.0, 1_000.0], "t2_won": [True, False],
                          "margin": [0.5, np.nan], "margin_low": [0.4, np.nan], "margin_high": [0.6, np.nan],
                          "note": ["a sentence long enough to need a wide column to be read", None]})
    html, heads, cells = rendered(frame, bands={"margin": ("margin_low", "margin_high")})
    assert heads == ["Ctrain (FLOPs)", "parameters", "T² won", "margin", "note"]
    assert cells == ["10¹⁸", "106,320", "yes", "0.5 [0.4, 0.6]", frame["note"][0], "2×10¹⁹", "1,000", "no", "—", "—"]
    assert not any(re.fullmatch(r"nan|NaN|None|True|False|−?[\d,]+\.0", c) for c in cells)
    assert 'class="data row0 col4 t2-wide"' in html and "t2-num" in html
    assert show_table(frame).to_html() == show_table(frame.copy()).to_html(), "the same table must give the same page"


def test_a_named_index_becomes_the_first_column_and_headers_can_be_given() -> None:
    frame = pd.DataFrame({"x_value": [1.5]}, index=pd.Index(["a"], name="quantity"))
    _, heads, cells = rendered(frame, headers={"x_value": "x (units)"}, formats={"x_value": "signed"})
    assert heads == ["quantity", "x (units)"] and cells == ["a", "+1.5"]


def test_e_notation_in_text_becomes_powers_of_ten_and_nothing_else_changes() -> None:
    from t2lib.book.formatting import powers_of_ten

    assert powers_of_ten("from 1.25e16 to 2.56e+19 FLOPs, p = 1e-05.") == "from 1.25×10¹⁶ to 2.56×10¹⁹ FLOPs, p = 10⁻⁵."
    assert powers_of_ten("digest 03e43079, d=96_l=8, v1.2e3x, 1.5e3.4") == "digest 03e43079, d=96_l=8, v1.2e3x, 1.5e3.4"
    assert powers_of_ten("checkpoint porian-901M-2.56e+19, -1e+05") == "checkpoint porian-901M-2.56e+19, -10⁵"
