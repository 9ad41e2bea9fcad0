"""Loading datasets once per process and caching them as `.npy` files.

The first `get(name)` in a fresh cache calls the provider's `load(cache_dir)`,
writes every array as `<cache_dir>/<name>/<array>.npy` plus a small manifest
(array names, fingerprint), then memory-maps the files. Later loads, in this or
any other process, only memory-map, so a worker pays the conversion once and
several workers share the page cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from plugins.types import Dataset, DatasetDef

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
#: bumped when the cache layout changes, so old caches are rebuilt
CACHE_FORMAT = 1


class DatasetError(Exception):
    """A dataset is unknown or cannot be loaded; the message says what to do."""


def fingerprint(arrays: Mapping[str, np.ndarray]) -> str:
    """sha256 over the arrays' names, dtypes, shapes and bytes (order-independent)."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}|{array.dtype.str}|{array.shape}\n".encode())
        digest.update(array.data.cast("B"))
    return "sha256:" + digest.hexdigest()


class DatasetStore:
    """Named datasets from `definitions`, cached under `cache_dir`."""

    def __init__(self, definitions: Mapping[str, DatasetDef], cache_dir: Path) -> None:
        self.definitions = dict(definitions)
        self.cache_dir = Path(cache_dir)
        self._loaded: dict[str, Dataset] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Dataset:
        """The dataset `name`, loading or building its cache on first use."""
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = self._load(name)
            return self._loaded[name]

    def is_cached(self, name: str) -> bool:
        """True if `name` can be memory-mapped without calling its provider."""
        return self._read_manifest(self.cache_dir / name) is not None

    def _definition(self, name: str) -> DatasetDef:
        try:
            return self.definitions[name]
        except KeyError:
            known = ", ".join(sorted(self.definitions)) or "none"
            raise DatasetError(f"unknown dataset {name!r} (installed: {known})") from None

    def _load(self, name: str) -> Dataset:
        definition = self._definition(name)
        folder = self.cache_dir / name
        manifest = self._read_manifest(folder)
        if manifest is None:
            manifest = self._build_cache(definition, folder)
        arrays = {key: np.load(folder / f"{key}.npy", mmap_mode="r", allow_pickle=False)
                  for key in manifest["arrays"]}
        return Dataset(name=name, arrays=arrays, hidden=frozenset(definition.hidden),
                       fingerprint=manifest["fingerprint"])

    def _read_manifest(self, folder: Path) -> dict | None:
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
        except (OSError, ValueError):
            return None
        if manifest.get("format") != CACHE_FORMAT:
            return None
        if not all((folder / f"{key}.npy").is_file() for key in manifest.get("arrays", [])):
            return None
        return manifest

    def _build_cache(self, definition: DatasetDef, folder: Path) -> dict:
        log.info("building the cache of dataset %r in %s", definition.name, folder)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        arrays = dict(definition.load(self.cache_dir))
        for key, value in arrays.items():
            if not isinstance(value, np.ndarray) or value.dtype.hasobject:
                raise DatasetError(f"dataset {definition.name!r}: array {key!r} is not a "
                                   "plain numpy array")
        folder.mkdir(parents=True, exist_ok=True)
        # write then rename (names unique per writer), so neither a concurrent reader nor a
        # second worker building the same cache ever sees a half-written file
        token = f"{os.getpid()}-{secrets.token_hex(4)}"
        for key, value in arrays.items():
            tmp = folder / f".{key}.npy.{token}.tmp"
            with open(tmp, "wb") as fh:
                np.save(fh, np.ascontiguousarray(value), allow_pickle=False)
            tmp.replace(folder / f"{key}.npy")
        manifest = {"format": CACHE_FORMAT, "arrays": sorted(arrays),
                    "fingerprint": fingerprint(arrays)}
        tmp = folder / f".{MANIFEST}.{token}.tmp"
        tmp.write_text(json.dumps(manifest, indent=1))
        tmp.replace(folder / MANIFEST)
        return manifest
