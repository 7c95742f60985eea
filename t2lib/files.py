"""Writing a file so that no reader, and no parallel chapter, ever sees half of it."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` through a scratch file beside it and one rename; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    scratch.write_bytes(data)
    os.replace(scratch, path)
    return path
