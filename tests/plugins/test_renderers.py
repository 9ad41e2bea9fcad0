"""A third-party renderer, exactly as docs/plugins.md shows it: registered through the
hook, validated into the registry, drawn from a result's artifact and cached."""

from __future__ import annotations

import io
import re
import types
from pathlib import Path

import pytest
from PIL import Image

from neurograde import NoPicture, RendererDef, hookimpl
from plugins.manager import get_plugin_manager
from plugins.registry import build_registry
from server.services import pictures

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def _docs_loss_curve_plugin() -> types.ModuleType:
    text = DOCS.read_text(encoding="utf-8")
    snippet = next(block for block in re.findall(r"```python\n(.*?)```", text, re.S)
                   if "render_loss_curve" in block)
    module = types.ModuleType("docs_loss_curve")
    exec(compile(snippet, str(DOCS), "exec"), module.__dict__)  # the docs' own code
    return module


def test_the_documented_loss_curve_renderer_draws_through_the_hook(tmp_path):
    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(_docs_loss_curve_plugin(), name="docs_loss_curve")
    keys = {r.key for result in pm.hook.neurograde_register_renderers() for r in result}
    assert {"loss_curve", "confusion_matrix", "misclassified"} <= keys
    registry = build_registry(pm)
    assert registry.errors == {} and registry.plugin_of("renderer", "loss_curve") == \
        "docs_loss_curve"
    result = {"artifacts": {"loss_curve": [2.0, 1.0, 0.5, 0.4]}, "metrics": {}}
    shown = pictures.pictures_of(result, registry.renderers)
    assert [p.key for p in shown] == ["loss_curve"] and shown[0].title == "Training loss"
    png = pictures.picture_png("loss_curve", 7, result, registry.renderers, None, tmp_path)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (320, 200)
    # the curve falls: its first point is drawn high, its last low
    assert _inked(image, 10, 10) and _inked(image, 310, 190)
    assert not _inked(image, 10, 190) and not _inked(image, 310, 10)
    assert list(tmp_path.glob("7-loss_curve-*.png"))
    with pytest.raises(NoPicture):
        pictures.picture_png("loss_curve", 8, {"artifacts": {"loss_curve": [1.0]}},
                             registry.renderers, None, tmp_path)


def _inked(image: Image.Image, x: int, y: int) -> bool:
    """Whether the curve passes within 3 pixels of (x, y)."""
    return any(image.getpixel((i, j)) != (255, 255, 255)
               for i in range(max(x - 3, 0), min(x + 4, image.width))
               for j in range(max(y - 3, 0), min(y + 4, image.height)))


def test_a_malformed_or_clashing_renderer_is_reported_by_plugin():
    class Broken:
        @hookimpl
        def neurograde_register_renderers(self):
            return [RendererDef(key="bad key!", render=lambda v, c: b""),
                    RendererDef(key="ok_key", render="not callable")]

    class Clash:
        @hookimpl
        def neurograde_register_renderers(self):
            return [RendererDef(key="confusion_matrix", render=lambda v, c: b"")]

    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(Broken(), name="broken")
    registry = build_registry(pm)
    assert "artifact key 'bad key!'" in registry.errors["broken"]
    assert "render must be callable" in registry.errors["broken"]
    pm.register(Clash(), name="clash")
    from plugins.registry import build_registry_disabling_conflicts

    registry = build_registry_disabling_conflicts(pm)
    assert "disabled" in registry.errors["clash"]
    assert registry.plugin_of("renderer", "confusion_matrix") == "plugins.builtin_renderers"


def test_a_renderer_that_raises_shows_no_picture(tmp_path):
    def explode(value, context):
        raise ZeroDivisionError("bug in a plugin")

    renderers = {"boom": RendererDef(key="boom", render=explode)}
    with pytest.raises(NoPicture, match="failed"):
        pictures.picture_png("boom", 1, {"artifacts": {"boom": [1]}}, renderers, None, tmp_path)
