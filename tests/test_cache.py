"""The build cache: off without T2LIB_CACHE; with it, a second call returns the stored result."""

from pathlib import Path

import pytest

from t2lib.book.cache import CACHE_ENV, memoized


def test_results_are_cached_only_when_the_build_asks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def compute() -> dict:
        calls.append(1)
        return {"value": len(calls)}

    monkeypatch.delenv(CACHE_ENV, raising=False)
    assert memoized("x", {"a": 1}, compute) == {"value": 1}
    assert memoized("x", {"a": 1}, compute) == {"value": 2}  # no cache: computed again
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert memoized("x", {"a": 1}, compute) == {"value": 3}
    assert memoized("x", {"a": 1}, compute) == {"value": 3}  # cached
    assert memoized("x", {"a": 2}, compute) == {"value": 4}  # another key
    assert len(list(tmp_path.glob("x-*.pickle"))) == 2
