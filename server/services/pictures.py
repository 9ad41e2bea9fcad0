"""Pictures of a graded result, drawn by the renderers plugins register.

Each `RendererDef` (hook `neurograde_register_renderers`) is keyed by the artifact it
draws; a result shows one picture per artifact that has a renderer. Rendered PNGs are
cached on disk keyed by submission id + artifact key + a hash of the result's
artifacts, so a regrade draws anew. The built-in renderers (confusion matrix,
misclassified digits) live in `plugins.builtin_renderers`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugins.types import NoPicture, RenderContext, RendererDef

log = logging.getLogger(__name__)

#: picture names of earlier URLs, kept so links already shared keep working
ALIASES = {"confusion": "confusion_matrix"}

__all__ = ["NoPicture", "Picture", "picture_png", "pictures_of", "result_hash"]


@dataclass(frozen=True)
class Picture:
    """One picture a result can show (for templates)."""

    key: str
    title: str
    caption: str
    alt: str
    legend: list[str]


def _data(result: Mapping[str, Any] | Any) -> Mapping[str, Any]:
    return result if isinstance(result, Mapping) else getattr(result, "__dict__", {}) or {}


def _artifacts(result: Mapping[str, Any] | Any) -> Mapping[str, Any]:
    return _data(result).get("artifacts") or {}


def pictures_of(result: Mapping[str, Any] | None, renderers: Mapping[str, RendererDef]
                ) -> list[Picture]:
    """The pictures `result` can produce, in the renderers' order."""
    artifacts = _artifacts(result or {})
    found = [r for key, r in renderers.items() if artifacts.get(key)]
    return [Picture(r.key, r.title or r.key, r.caption, _alt(r, artifacts[r.key]),
                    _legend(r, artifacts[r.key]))
            for r in sorted(found, key=lambda r: (r.order, r.key))]


def _alt(renderer: RendererDef, value: Any) -> str:
    try:
        return renderer.alt(value) if renderer.alt else renderer.title or renderer.key
    except Exception:  # a plugin's bug must not break the page
        log.exception("alt text of renderer %r failed", renderer.key)
        return renderer.title or renderer.key


def _legend(renderer: RendererDef, value: Any) -> list[str]:
    try:
        return list(renderer.legend(value)) if renderer.legend else []
    except Exception:  # a plugin's bug must not break the page
        log.exception("legend of renderer %r failed", renderer.key)
        return []


def result_hash(result: Mapping[str, Any]) -> str:
    """A short fingerprint of the parts of a result the pictures are drawn from."""
    blob = json.dumps(_artifacts(result), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def picture_png(key: str, submission_id: int, result: Mapping[str, Any] | None,
                renderers: Mapping[str, RendererDef], datasets: Any, cache_dir: Path,
                assignment: str = "") -> bytes:
    """The PNG of artifact `key` for a submission, cached on disk.

    Raises `NoPicture` when the result has nothing to draw or no renderer draws it.
    """
    key = ALIASES.get(key, key)
    renderer = renderers.get(key)
    if renderer is None:
        raise NoPicture(f"no renderer for {key!r}")
    artifacts = _artifacts(result or {})
    if not artifacts.get(key):
        raise NoPicture(f"the result has no {key!r}")
    path = Path(cache_dir) / f"{submission_id}-{key}-{result_hash(result or {})}.png"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    context = RenderContext(artifacts=artifacts, metrics=_data(result).get("metrics") or {},
                            assignment=assignment, datasets=datasets)
    try:
        png = renderer.render(artifacts[key], context)
    except NoPicture:
        raise
    except Exception as error:  # a renderer's bug: no picture, not a broken page
        log.exception("renderer %r failed for submission %s", key, submission_id)
        raise NoPicture(f"the {key!r} renderer failed: {type(error).__name__}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(png)
    tmp.replace(path)  # atomic: concurrent requests never read half a file
    return png
