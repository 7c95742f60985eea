"""A build cache for the expensive, deterministic computations several chapters share.

When the environment variable T2LIB_CACHE names a folder (`make book` sets it to
_build/cache), `memoized` keeps each result there under a key made of its inputs and a digest
of t2lib's own source, so that a chapter reuses the fits and bootstrap refits another chapter
computed from the same suite with the same settings. The results are deterministic, so a
cached result is the one the computation would return: the book is the same with or without
the cache. Without the variable (tests, `make chapter`) nothing is cached.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from t2lib.data.files import write_atomically

CACHE_ENV = "T2LIB_CACHE"
T = TypeVar("T")


@lru_cache(maxsize=1)
def _source_digest() -> str:
    """The checksum of every t2lib module: a change to the code invalidates every cached result."""
    digest = hashlib.sha256()
    library = Path(__file__).resolve().parents[1]
    for path in sorted(library.rglob("*.py")):
        digest.update(str(path.relative_to(library)).encode() + path.read_bytes())
    return digest.hexdigest()


def memoized(name: str, key: dict[str, object], compute: Callable[[], T]) -> T:
    """compute(), or its result cached under `name` and `key` (a dict of reprs-stable inputs)."""
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        return compute()
    text = repr(sorted(key.items())) + _source_digest()
    path = Path(folder) / f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:32]}.pickle"
    if path.exists():
        return pickle.loads(path.read_bytes())
    value = compute()
    write_atomically(path, pickle.dumps(value))  # parallel chapters never read half a file
    return value
