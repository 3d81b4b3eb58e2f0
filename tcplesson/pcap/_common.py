"""What writing and reading a capture both check: that a path is a file name."""
from __future__ import annotations

import os
from pathlib import Path


def check_path(path) -> Path:
    """``path`` as a Path, or a TypeError that says what a file name is."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name (str or Path), got {type(path).__name__}")
    return Path(path)
