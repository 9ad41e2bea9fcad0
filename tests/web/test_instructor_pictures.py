"""The built-in renderers (MNIST pictures): drawn from the result's artifacts and the
trusted test images, cached, served on the submission pages."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from plugins import builtin_renderers as renderers
from plugins.types import Dataset, NoPicture, RenderContext
from server.models import DONE
from server.services import pictures
from tests.web.test_instructor import course_plugin_manager

TILE, PAD, LABEL = 28 * 3, 14, 36


class FakeStore:
    """Stands in for `DatasetStore`: MNIST-shaped test images, one column per image."""

    def __init__(self, images: np.ndarray) -> None:
        self.images = images
        self.loads = 0

    def get(self, name: str) -> Dataset:
        assert name == "mnist"
        self.loads += 1
        return Dataset("mnist", {"X_test": self.images}, frozenset({"y_test"}), "fake")


def _result(n_wrong: int = 12) -> dict:
    matrix = (np.eye(10, dtype=int) * 90 + 1).tolist()
    wrong = [{"index": 7 * i + 3, "predicted": i % 10, "true": (i + 1) % 10}
             for i in range(n_wrong)]
    return {"status": "graded", "artifacts": {"confusion_matrix": matrix, "misclassified": wrong}}


RENDERERS = {r.key: r for r in renderers.RENDERERS}


def _misclassified(result: dict, store) -> bytes:
    artifacts = result["artifacts"]
    return renderers.render_misclassified(artifacts.get("misclassified"), RenderContext(
        artifacts=artifacts, metrics={}, assignment="mnist", datasets=store))


def _images() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(784, 200), dtype=np.uint8)


def test_misclassified_grid_shows_the_right_digits_in_order():
    images = _images()
    result = _result()
    grid = Image.open(io.BytesIO(_misclassified(result, FakeStore(images))))
    assert grid.format == "PNG"
    grey = np.asarray(grid.convert("L"))
    for i, item in enumerate(result["artifacts"]["misclassified"]):
        x0 = PAD + (i % 9) * (TILE + PAD)
        y0 = PAD + (i // 9) * (TILE + LABEL + PAD)
        tile = grey[y0:y0 + TILE:3, x0:x0 + TILE:3]  # undo the 3x nearest-neighbour scale
        expected = 255 - images[:, item["index"]].reshape(28, 28)
        assert np.array_equal(tile, expected), i


def test_digit_image_accepts_every_layout():
    images = _images()
    column = renderers.digit_image(images, 5)
    assert np.array_equal(renderers.digit_image(np.ascontiguousarray(images.T), 5), column)
    assert np.array_equal(renderers.digit_image(images.T.reshape(200, 28, 28), 5), column)
    floats = images.astype(np.float32) / 255.0
    assert np.abs(renderers.digit_image(floats, 5).astype(int) - column).max() <= 1


def test_confusion_matrix_png_and_missing_artifacts():
    png = renderers.render_confusion_matrix(_result()["artifacts"]["confusion_matrix"])
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width >= 400
    with pytest.raises(NoPicture):
        renderers.render_confusion_matrix(None)
    with pytest.raises(NoPicture):
        _misclassified({"artifacts": {}}, FakeStore(_images()))
    with pytest.raises(NoPicture, match="not available"):
        _misclassified(_result(), BrokenStore())
    with pytest.raises(NoPicture):
        _misclassified(_result(), None)


class BrokenStore:
    def get(self, name: str) -> Dataset:
        raise RuntimeError("the MNIST dataset is not prepared")


def test_pictures_are_cached_on_disk_per_result(tmp_path: Path):
    store = FakeStore(_images())
    first = pictures.picture_png("misclassified", 42, _result(), RENDERERS, store,
                                 tmp_path)
    assert store.loads == 1 and len(list(tmp_path.glob("42-misclassified-*.png"))) == 1
    again = pictures.picture_png("misclassified", 42, _result(), RENDERERS, store,
                                 tmp_path)
    assert again == first and store.loads == 1  # served from the disk cache
    changed = pictures.picture_png("misclassified", 42, _result(n_wrong=3), RENDERERS, store,
                                   tmp_path)
    assert changed != first and store.loads == 2  # a regrade's new result draws anew
    with pytest.raises(NoPicture):
        pictures.picture_png("../../etc/passwd", 42, _result(), RENDERERS, store, tmp_path)


@pytest.fixture
def pm():
    return course_plugin_manager()


def test_instructor_picture_route(client, auth, state, make_course, make_user,
                                  make_course_assignment, make_submission, monkeypatch):
    course = make_course(slug="nn101")
    teacher = make_user(username="teacher", role="instructor", course=course)
    alice = make_user(username="alice", course=course)
    ca = make_course_assignment(course=course, assignment_slug="beta")
    sub = make_submission(user=alice, course_assignment=ca, state=DONE, status="graded",
                          score=1.0, max_score=1.0, result=_result())
    plain = make_submission(user=alice, course_assignment=ca, state=DONE, status="graded",
                            score=1.0, max_score=1.0, result={"status": "graded"})
    monkeypatch.setattr(state, "datasets", FakeStore(_images()))
    auth.login(teacher)
    page = client.get(f"/instructor/nn101/submissions/{sub.id}").get_data(as_text=True)
    assert "confusion_matrix.png" in page and "misclassified.png" in page
    # the grid in words: predicted and true label of each digit, in grid order
    assert 'alt="Misclassified test digits (12), in grid order: #1: got 0, true 1; ' \
        '#2: got 1, true 2; ' in page
    # and one caption per digit under the picture, numbered as in the grid
    assert "<li>#1: got 0, true 1</li><li>#2: got 1, true 2</li>" in page
    auth.login(alice)
    page = client.get(f"/submissions/{sub.id}").get_data(as_text=True)
    assert "got 11" not in page and "#2: got 1, true 2; #3: got 2, true 3" in page
    auth.login(teacher)
    for kind in ("confusion_matrix", "confusion", "misclassified"):  # and the old name
        response = client.get(f"/instructor/nn101/submissions/{sub.id}/{kind}.png")
        assert response.status_code == 200 and response.mimetype == "image/png"
        assert response.data.startswith(b"\x89PNG")
    assert client.get(f"/instructor/nn101/submissions/{plain.id}/confusion.png"
                      ).status_code == 404
    assert client.get(f"/instructor/nn101/submissions/{sub.id}/other.png").status_code == 404
    assert list((Path(state.config["INSTANCE_PATH"]) / "pictures").glob(f"{sub.id}-*.png"))


def test_real_mnist_digits_are_drawn_when_prepared(state):
    try:
        store = state.datasets
        images = store.get("mnist").arrays["X_test"]
    except Exception as error:  # not prepared: `neurograde datasets prepare`
        pytest.skip(f"MNIST is not prepared ({error}); run `neurograde datasets prepare`")
    result = _result(n_wrong=1)
    grid = np.asarray(Image.open(io.BytesIO(_misclassified(result, store))).convert("L"))
    tile = grid[PAD:PAD + TILE:3, PAD:PAD + TILE:3]
    digit = renderers.digit_image(images, result["artifacts"]["misclassified"][0]["index"])
    assert np.array_equal(tile, 255 - digit)
    assert 50 < int((digit > 128).sum()) < 400  # a pen stroke, not noise or a blank
