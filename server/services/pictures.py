"""Pictures of a graded MNIST run: confusion matrix and misclassified digits (PNG).

Drawn with Pillow from the result's `artifacts` (`confusion_matrix`: 10×10
counts, rows = true label; `misclassified`: [{"index", "predicted", "true"}],
indices into the MNIST test set). The digit images come from the trusted
parent's `DatasetStore`, never from the submission. Rendered PNGs are cached on
disk keyed by submission id + a hash of the result, so a regrade draws anew.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

KINDS = ("confusion", "misclassified")
MAX_DIGITS = 36


class NoPicture(LookupError):
    """The result has nothing to draw (not an MNIST run, or no artifacts)."""


def _artifacts(result: Mapping[str, Any] | Any) -> Mapping[str, Any]:
    data = result if isinstance(result, Mapping) else getattr(result, "__dict__", {})
    return data.get("artifacts") or {}


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has a single bitmap size
        return ImageFont.load_default()


def render_confusion_matrix(result: Mapping[str, Any] | Any) -> bytes:
    """A heat-map of the confusion matrix with counts (rows: true, columns: predicted)."""
    matrix = np.asarray(_artifacts(result).get("confusion_matrix") or [], dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.size == 0:
        raise NoPicture("no confusion matrix in this result")
    n, cell, margin = matrix.shape[0], 44, 56
    size = margin + n * cell + 12
    image = Image.new("RGB", (size, size + 24), "white")
    draw = ImageDraw.Draw(image)
    font, small = _font(14), _font(12)
    peak = max(matrix.max(), 1.0)
    for t in range(n):
        for p in range(n):
            value = matrix[t, p]
            shade = value / peak
            # correct predictions in blue, mistakes in red
            color = _blend((255, 255, 255), (33, 102, 172) if t == p else (202, 0, 32), shade)
            x0, y0 = margin + p * cell, margin + t * cell
            draw.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=color, outline="#ddd")
            text = f"{int(value)}"
            ink = "white" if shade > 0.5 else "#222"
            draw.text((x0 + cell / 2, y0 + cell / 2), text, fill=ink, font=small, anchor="mm")
        draw.text((margin - 10, margin + t * cell + cell / 2), str(t), fill="#222", font=font,
                  anchor="rm")
        draw.text((margin + t * cell + cell / 2, margin - 10), str(t), fill="#222", font=font,
                  anchor="mb")
    draw.text((margin + n * cell / 2, 14), "predicted", fill="#555", font=font, anchor="mm")
    draw.text((8, margin - 28), "true", fill="#555", font=font)
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    draw.text((margin, size + 4), f"accuracy {accuracy:.2%} on {int(matrix.sum())} images",
              fill="#222", font=font)
    return _png(image)


def _blend(low: tuple[int, int, int], high: tuple[int, int, int],
           share: float) -> tuple[int, ...]:
    return tuple(round(a + (b - a) * share) for a, b in zip(low, high, strict=True))


def digit_image(images: np.ndarray, index: int) -> np.ndarray:
    """One square grey-level digit from a test-set array.

    The course stores images one column per example (784, m); one row per
    example and (m, 28, 28) are accepted too.
    """
    if images.ndim == 3:
        pixels = np.asarray(images[index])
    else:
        column_major = images.shape[0] in (784, 64) and images.shape[1] not in (784, 64)
        flat = images[:, index] if column_major else images[index]
        side = math.isqrt(flat.size)
        pixels = np.asarray(flat).reshape(side, side)
    if pixels.dtype != np.uint8:  # floats in [0, 1]
        pixels = np.clip(pixels * 255.0, 0, 255)
    return pixels.astype(np.uint8)


def render_misclassified(result: Mapping[str, Any] | Any, datasets: Any) -> bytes:
    """A grid of misclassified test digits, each captioned "#n got <predicted>" (red) over
    "true <label>" (green)."""
    wrong = list(_artifacts(result).get("misclassified") or [])[:MAX_DIGITS]
    if not wrong:
        raise NoPicture("no misclassified digits in this result")
    if datasets is None:
        raise NoPicture("no dataset store: the test images are not available")
    try:
        images = datasets.get("mnist").arrays["X_test"]
    except Exception as error:  # not prepared, or a broken cache: no picture, not a 500
        log.warning("cannot load the MNIST test images: %s", error)
        raise NoPicture(f"the MNIST test images are not available: {error}") from None
    # each digit gets its own two-line caption ("#n got P" / "true T") and a wide gutter,
    # so no label can be read as belonging to the neighbouring digit
    scale, label_h, pad = 3, 36, 14
    columns = min(9, len(wrong))
    rows = math.ceil(len(wrong) / columns)
    tile = 28 * scale
    image = Image.new("RGB", (pad + columns * (tile + pad), pad + rows * (tile + label_h + pad)),
                      "white")
    draw = ImageDraw.Draw(image)
    font = _font(13)
    for i, item in enumerate(wrong):
        x0 = pad + (i % columns) * (tile + pad)
        y0 = pad + (i // columns) * (tile + label_h + pad)
        digit = Image.fromarray(255 - digit_image(images, int(item["index"])), "L")
        image.paste(digit.resize((tile, tile), Image.NEAREST), (x0, y0))
        draw.rectangle([x0 - 1, y0 - 1, x0 + tile, y0 + tile + label_h - 2], outline="#ccc")
        draw.text((x0 + 3, y0 + tile + 2), f"#{i + 1} got {item['predicted']}", fill="#b00",
                  font=font)
        draw.text((x0 + 3, y0 + tile + 18), f"true {item['true']}", fill="#070", font=font)
    return _png(image)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def result_hash(result: Mapping[str, Any]) -> str:
    """A short fingerprint of the parts of a result the pictures are drawn from."""
    blob = json.dumps(_artifacts(result), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def picture_png(kind: str, submission_id: int, result: Mapping[str, Any] | None,
                datasets: Any, cache_dir: Path) -> bytes:
    """The PNG `kind` ("confusion" or "misclassified") for a submission, cached on disk.

    Raises `NoPicture` when the result has nothing to draw.
    """
    if kind not in KINDS:
        raise NoPicture(f"unknown picture {kind!r}")
    if not result:
        raise NoPicture("the submission has no result yet")
    path = Path(cache_dir) / f"{submission_id}-{kind}-{result_hash(result)}.png"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    renderers: dict[str, Callable[[], bytes]] = {
        "confusion": lambda: render_confusion_matrix(result),
        "misclassified": lambda: render_misclassified(result, datasets),
    }
    png = renderers[kind]()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(png)
    tmp.replace(path)  # atomic: concurrent requests never read half a file
    return png


def misclassified_alt(result: Mapping[str, Any] | None) -> str:
    """The misclassified grid in words, for its alt text: the same digits in the same order,
    each as "predicted P, true T"."""
    wrong = list(_artifacts(result or {}).get("misclassified") or [])[:MAX_DIGITS]
    labels = "; ".join(f"#{i + 1} predicted {item.get('predicted')}, true {item.get('true')}"
                       for i, item in enumerate(wrong))
    return f"Misclassified test digits ({len(wrong)}), in grid order: {labels}"


def misclassified_items(result: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The digits of the misclassified grid in grid order, numbered as in the picture."""
    wrong = list(_artifacts(result or {}).get("misclassified") or [])[:MAX_DIGITS]
    return [{"n": i + 1, "predicted": item.get("predicted"), "true": item.get("true")}
            for i, item in enumerate(wrong)]


def has_pictures(result: Mapping[str, Any] | None) -> dict[str, bool]:
    """Which pictures a result can produce (for templates)."""
    art = _artifacts(result or {})
    return {"confusion": bool(art.get("confusion_matrix")),
            "misclassified": bool(art.get("misclassified"))}
