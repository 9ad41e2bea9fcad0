"""The built-in picture renderers, registered like any third-party renderer.

- `confusion_matrix`: an n×n list of counts, rows = true class, columns = predicted.
- `misclassified`: [{"index", "predicted", "true"}], indices into a test set's images;
  the images are read from the trusted dataset store (never from the submission),
  from the array named by the artifact `misclassified_images` ("dataset/array",
  default "mnist/X_test").

Drawn with Pillow.
"""

from __future__ import annotations

import io
import logging
import math
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from plugins import hookimpl
from plugins.types import NoPicture, RenderContext, RendererDef

log = logging.getLogger(__name__)

MAX_DIGITS = 36
DEFAULT_IMAGES = "mnist/X_test"


def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's built-in font at `size` pixels (one bitmap size on old Pillow)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has a single bitmap size
        return ImageFont.load_default()


def png(image: Image.Image) -> bytes:
    """`image` as PNG bytes."""
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def render_confusion_matrix(value: Any, context: RenderContext | None = None) -> bytes:
    """A heat-map of the confusion matrix with counts (rows: true, columns: predicted)."""
    matrix = np.asarray(value or [], dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.size == 0:
        raise NoPicture("no confusion matrix in this result")
    n, cell, margin = matrix.shape[0], 44, 56
    size = margin + n * cell + 12
    image = Image.new("RGB", (size, size + 24), "white")
    draw = ImageDraw.Draw(image)
    big, small = font(14), font(12)
    peak = max(matrix.max(), 1.0)
    for t in range(n):
        for p in range(n):
            shade = matrix[t, p] / peak
            # correct predictions in blue, mistakes in red
            color = _blend((255, 255, 255), (33, 102, 172) if t == p else (202, 0, 32), shade)
            x0, y0 = margin + p * cell, margin + t * cell
            draw.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=color, outline="#ddd")
            draw.text((x0 + cell / 2, y0 + cell / 2), f"{int(matrix[t, p])}",
                      fill="white" if shade > 0.5 else "#222", font=small, anchor="mm")
        draw.text((margin - 10, margin + t * cell + cell / 2), str(t), fill="#222", font=big,
                  anchor="rm")
        draw.text((margin + t * cell + cell / 2, margin - 10), str(t), fill="#222", font=big,
                  anchor="mb")
    draw.text((margin + n * cell / 2, 14), "predicted", fill="#555", font=big, anchor="mm")
    draw.text((8, margin - 28), "true", fill="#555", font=big)
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    draw.text((margin, size + 4), f"accuracy {accuracy:.2%} on {int(matrix.sum())} images",
              fill="#222", font=big)
    return png(image)


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


def _test_images(context: RenderContext) -> np.ndarray:
    where = str(context.artifacts.get("misclassified_images") or DEFAULT_IMAGES)
    dataset, _, array = where.partition("/")
    if context.datasets is None:
        raise NoPicture("no dataset store: the test images are not available")
    try:
        return context.datasets.get(dataset).arrays[array or "X_test"]
    except Exception as error:  # not prepared, or a broken cache: no picture, not a 500
        log.warning("cannot load the test images %s: %s", where, error)
        raise NoPicture(f"the test images are not available: {error}") from None


def render_misclassified(value: Any, context: RenderContext) -> bytes:
    """A grid of misclassified test digits, each captioned "#n got <predicted>" (red) over
    "true <label>" (green)."""
    wrong = list(value or [])[:MAX_DIGITS]
    if not wrong:
        raise NoPicture("no misclassified digits in this result")
    images = _test_images(context)
    side = digit_image(images, int(wrong[0]["index"])).shape[0]
    # each digit gets its own two-line caption and a wide gutter, so no label can be read
    # as belonging to the neighbouring digit
    scale = max(1, 84 // side)
    label_h, pad, tile = 36, 14, side * scale
    columns = min(9, len(wrong))
    rows = math.ceil(len(wrong) / columns)
    image = Image.new("RGB", (pad + columns * (tile + pad), pad + rows * (tile + label_h + pad)),
                      "white")
    draw = ImageDraw.Draw(image)
    small = font(13)
    for i, item in enumerate(wrong):
        x0 = pad + (i % columns) * (tile + pad)
        y0 = pad + (i // columns) * (tile + label_h + pad)
        digit = Image.fromarray(255 - digit_image(images, int(item["index"])), "L")
        image.paste(digit.resize((tile, tile), Image.Resampling.NEAREST), (x0, y0))
        draw.rectangle([x0 - 1, y0 - 1, x0 + tile, y0 + tile + label_h - 2], outline="#ccc")
        draw.text((x0 + 3, y0 + tile + 2), f"#{i + 1} got {item['predicted']}", fill="#b00",
                  font=small)
        draw.text((x0 + 3, y0 + tile + 18), f"true {item['true']}", fill="#070", font=small)
    return png(image)


def misclassified_legend(value: Any) -> list[str]:
    """One line per digit of the grid, numbered as in the picture."""
    return [f"#{i + 1}: got {item.get('predicted')}, true {item.get('true')}"
            for i, item in enumerate(list(value or [])[:MAX_DIGITS])]


def misclassified_alt(value: Any) -> str:
    """The grid in words: the same digits in the same order."""
    lines = misclassified_legend(value)
    return f"Misclassified test digits ({len(lines)}), in grid order: {'; '.join(lines)}"


RENDERERS = (
    RendererDef(key="confusion_matrix", render=render_confusion_matrix,
                title="Confusion matrix",
                caption="Confusion matrix: rows are the true classes, columns the predicted "
                        "ones; the diagonal counts correct answers.",
                alt=lambda value: "Confusion matrix (rows: true class, columns: predicted)",
                order=10),
    RendererDef(key="misclassified", render=render_misclassified,
                title="Misclassified test digits",
                caption="Some misclassified test digits: under each, its number, what your "
                        "network predicted (“got”, red) and the true digit (“true”, green).",
                alt=misclassified_alt, legend=misclassified_legend, order=20),
)


@hookimpl
def neurograde_register_renderers() -> tuple[RendererDef, ...]:
    return RENDERERS
