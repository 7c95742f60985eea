"""A shared on-disk cache of a corpus's training stream, so that the runs of a grid generate
each training sequence once instead of once per run.

Generating a batch in Python costs about as much as a training step of the smallest models
(measured by `make bench-pretrain`); every run of one (corpus, data seed) reads the same
sequences, so the first run to need a sequence writes it and the others read it. The cache is
one file of fixed-length rows (uint16 token ids) per (corpus version, corpus seed, data seed),
extended in chunks under an exclusive file lock by whichever process reaches its end first, and
read with `os.pread` (no lock needed: rows are only ever appended). A row is the same array as
`Corpus.sequence(index, stream)`; a cache made by other code is detected on opening (its first
and last rows are regenerated and compared) and refused.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import numpy as np

from pretrain.corpus import CONTEXT, Corpus

CHUNK = 4096  # rows generated per extension (about a second and a half of one core)
ROW = CONTEXT + 1
DTYPE = np.dtype("<u2")


class StreamCache:
    """Batches of `corpus`'s stream `stream`, generated once into `folder` and shared."""

    def __init__(self, corpus: Corpus, folder: Path, stream: int = 0, chunk: int = CHUNK) -> None:
        if corpus.vocab_size > np.iinfo(DTYPE).max:
            raise ValueError(f"a vocabulary of {corpus.vocab_size} words does not fit the cache's uint16 ids")
        folder.mkdir(parents=True, exist_ok=True)
        self.corpus, self.stream, self.chunk = corpus, stream, chunk
        self.path = folder / f"{corpus.version}-seed{corpus.seed}-stream{stream}.u16"
        self.lock_path = self.path.with_suffix(".lock")
        self.path.touch(exist_ok=True)
        self._fd = os.open(self.path, os.O_RDONLY)
        self._check()

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)

    def rows(self) -> int:
        """How many complete rows the cache holds."""
        return os.fstat(self._fd).st_size // (ROW * DTYPE.itemsize)

    def _read(self, first: int, count: int) -> np.ndarray:
        nbytes = count * ROW * DTYPE.itemsize
        data = os.pread(self._fd, nbytes, first * ROW * DTYPE.itemsize)
        if len(data) != nbytes:
            raise OSError(f"{self.path}: short read of rows {first}..{first + count - 1}")
        return np.frombuffer(data, dtype=DTYPE).reshape(count, ROW).astype(np.int64)

    def _check(self) -> None:
        held = self.rows()
        for index in {0, held - 1} if held else ():
            if not np.array_equal(self._read(index, 1)[0], self.corpus.sequence(index, self.stream)):
                raise ValueError(f"{self.path}: row {index} differs from the corpus's sequence {index}; "
                                 "the cache was made by other corpus code: delete it")

    def ensure(self, rows: int) -> None:
        """Extend the cache (under its lock) until it holds at least `rows` rows."""
        while self.rows() < rows:
            with open(self.lock_path, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                with open(self.path, "r+b") as out:
                    held = os.fstat(out.fileno()).st_size // (ROW * DTYPE.itemsize)
                    if held >= rows:
                        return
                    out.truncate(held * ROW * DTYPE.itemsize)  # drop a row cut short by a killed writer
                    out.seek(0, os.SEEK_END)
                    chunk = np.stack([self.corpus.sequence(i, self.stream) for i in range(held, held + self.chunk)])
                    out.write(chunk.astype(DTYPE).tobytes())
                    out.flush()

    def batch(self, step: int, batch_size: int) -> np.ndarray:
        """The same array as `corpus.batch(step, batch_size, stream)`."""
        first = step * batch_size
        self.ensure(first + batch_size)
        return self._read(first, batch_size)
