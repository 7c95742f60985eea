"""Writing files and folders so that no reader, and no parallel chapter, ever sees half of one,
and a failed write leaves what was there before untouched, with no scratch file behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path


def write_atomically(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` through a scratch file beside it and one rename; return the path."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(21, "is a folder; name a file to write", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        scratch.write_bytes(data)
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)
    return path


def replace_files(folder: str | Path, names: Iterable[str], write: Callable[[Path], None]) -> Path:
    """Have `write` fill a scratch folder beside `folder`, then move the files `names` from it
    into `folder` (each by one rename; a name `write` did not produce is removed from `folder`).
    If `write` fails, `folder` is untouched; its other files are kept either way."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(20, "is a file; name a folder to write", str(folder))
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        write(scratch)
        folder.mkdir(exist_ok=True)
        for name in names:
            if (scratch / name).exists():
                os.replace(scratch / name, folder / name)
            else:
                (folder / name).unlink(missing_ok=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder
