"""The shared figure helpers' labels."""

import warnings

import matplotlib as mpl
import numpy as np
import pytest

from t2lib.book.plots import compact_count


def test_grid_labels_are_short_and_round_across_units() -> None:
    values = [np.nan, 5, 37.4, 640, 999.6, 1300, 9960, 13000, 2.1e6]
    assert [compact_count(v) for v in values] == ["", "5", "37", "640", "1.0K", "1.3K", "10K", "13K", "2.1M"]


def test_numbers_in_figure_text_are_typeset() -> None:
    from t2lib.book.plots import power_of_ten

    assert power_of_ten(2e9) == r"$2\times10^{9}$" and power_of_ten(1e11) == "$10^{11}$"


def test_wide_figures_get_larger_text_once_and_narrow_ones_keep_theirs() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from t2lib.book.style import COLUMN_INCHES, legible

    def drawn(width: float) -> tuple[float, float, float]:
        fig, ax = plt.subplots(figsize=(width, 3))
        ax.plot([1, 2], label="line")
        ax.set(xlabel="x", title="t")
        ax.legend()
        sizes = (ax.xaxis.label.get_fontsize(), ax.get_legend().get_texts()[0].get_fontsize(),
                 ax.xaxis.get_majorticklabels()[0].get_fontsize())
        legible(fig)
        legible(fig)  # a figure shown twice is enlarged once
        fig.canvas.draw()
        after = (ax.xaxis.label.get_fontsize(), ax.get_legend().get_texts()[0].get_fontsize(),
                 ax.xaxis.get_majorticklabels()[0].get_fontsize())
        plt.close(fig)
        return tuple(a / b for a, b in zip(after, sizes))

    assert np.allclose(drawn(COLUMN_INCHES), 1.0)
    assert np.allclose(drawn(4 * COLUMN_INCHES), 2.0)


@pytest.mark.parametrize(("low", "high"), [(13.0, 17.0), (4.0, 60.0)])
def test_a_narrow_log_axis_gets_plain_tick_labels_inside_its_range(low: float, high: float) -> None:
    import matplotlib.pyplot as plt

    from t2lib.book.plots import plain_log_ticks

    fig, ax = plt.subplots()
    ax.set_yscale("log")
    ax.set_ylim(low, high)
    plain_log_ticks(ax.yaxis)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels(minor=False) + ax.get_yticklabels(minor=True)
              if t.get_text() and low <= t.get_position()[1] <= high]
    plt.close(fig)
    assert len(labels) >= 2 and all("10^" not in label and "times" not in label for label in labels), labels


def test_a_figure_not_shown_is_drawn_as_an_image_that_says_why() -> None:
    from IPython.core.pylabtools import print_figure

    from t2lib.book.plots import not_shown
    from t2lib.book.style import use_house_style
    with mpl.rc_context(), warnings.catch_warnings():
        use_house_style()  # its constrained layout warned on a figure of one free axes, in the book's output
        warnings.simplefilter("error")
        fig = not_shown("the grid is not complete")
        # Jupyter draws no image for a figure without axes; the book draws each figure twice (SVG, PNG)
        assert all(print_figure(fig, fmt, bbox_inches="tight") for fmt in ("png", "svg"))
    assert [t.get_text() for t in fig.axes[0].texts] == ["Not shown: the grid is not complete"]
