"""The shared figure helpers' labels."""

import numpy as np

from t2lib.plots import compact_count


def test_grid_labels_are_short_and_round_across_units() -> None:
    values = [np.nan, 5, 37.4, 640, 999.6, 1300, 9960, 13000, 2.1e6]
    assert [compact_count(v) for v in values] == ["", "5", "37", "640", "1.0k", "1.3k", "10k", "13k", "2.1M"]
