"""Settings the grader reads from the environment (no Flask here)."""

from __future__ import annotations

import os
from pathlib import Path


def instance_path() -> Path:
    """The instance folder (datasets cache, secret key, SQLite file); created on demand."""
    path = Path(os.environ.get("NEUROGRADE_INSTANCE_PATH", "instance")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def dataset_cache_dir() -> Path:
    path = instance_path() / "datasets"
    path.mkdir(parents=True, exist_ok=True)
    return path
