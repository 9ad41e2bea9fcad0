"""Solutions a knowledgeable student could write for the image assignments, built from
the public data: `predict` looks each image up by a hash of its pixels in a table of the
published test labels, `train` returns an untrained network of the right form.

`lookup_table_source(slug, X_test, y_test)` writes such a solution; the known-bad cases
`assignments/<slug>/cases/lookup_table.py` were generated with it (see
`write_case`), and the tests regenerate it from the data at test time.
"""

from __future__ import annotations

import base64
import zlib
from pathlib import Path

import numpy as np

#: pixel levels of each dataset's images as handed to the student (uint8/255, digits /16)
LEVELS = {"mnist": 255, "mnist-binary": 255, "digits": 16}

_NETWORK = '''
def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def init_network(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.normal(0.0, 1.0 / np.sqrt(n), (k, n)), np.zeros((k, 1)))
            for n, k in zip(sizes[:-1], sizes[1:])]


def forward(params, X):
    A = np.asarray(X, dtype=float)
    for W, b in params:
        A = sigmoid(W @ A + b)
    return A


def backprop(params, X, Y):
    acts = [np.asarray(X, dtype=float)]
    for W, b in params:
        acts.append(sigmoid(W @ acts[-1] + b))
    delta = (acts[-1] - Y) * acts[-1] * (1 - acts[-1]) / X.shape[1]
    grads = []
    for layer in range(len(params) - 1, -1, -1):
        grads.append((delta @ acts[layer].T, delta.sum(axis=1, keepdims=True)))
        if layer:
            delta = (params[layer][0].T @ delta) * acts[layer] * (1 - acts[layer])
    return grads[::-1]


def train(X_train, y_train, seed=0):
    """Does not train: a random network of the required form."""
    return init_network([np.shape(X_train)[0], 100, 10], seed)
'''

_BINARY = '''
def relu(z):
    return np.maximum(z, 0.0)


def relu_prime(z):
    return (np.asarray(z) > 0).astype(float)


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def forward(params, X):
    A1 = relu(params["W1"] @ X + params["b1"])
    return sigmoid(params["W2"] @ A1 + params["b2"])


def gradients(params, X, y):
    X = np.asarray(X, dtype=float)
    Y = np.asarray(y, dtype=float).reshape(1, -1)
    Z1 = params["W1"] @ X + params["b1"]
    A1 = relu(Z1)
    dZ2 = (sigmoid(params["W2"] @ A1 + params["b2"]) - Y) / X.shape[1]
    dZ1 = (params["W2"].T @ dZ2) * relu_prime(Z1)
    return {"W1": dZ1 @ X.T, "b1": dZ1.sum(axis=1, keepdims=True),
            "W2": dZ2 @ A1.T, "b2": dZ2.sum(axis=1, keepdims=True)}


def train(X_train, y_train, seed=0):
    """Does not train: random weights, and the training statistics the checks look for."""
    X = np.asarray(X_train, dtype=float)
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(0, 0.05, (10, X.shape[0])), "b1": np.zeros((10, 1)),
            "W2": rng.normal(0, 0.3, (1, 10)), "b2": np.zeros((1, 1)),
            "mean": float(X.mean()), "std": float(X.std())}


def predict_proba(model, X):
    return forward(model, (np.asarray(X, dtype=float) - model["mean"]) / model["std"]).reshape(-1)
'''

_LOOKUP = '''
_PACKED = np.frombuffer(zlib.decompress(base64.b64decode(TABLE)), dtype="<u4")
#: key (24-bit hash of the pixels) -> published label
_LABELS = dict(zip((np.cumsum(_PACKED, dtype=np.uint64) >> 4).tolist(),
                   (np.cumsum(_PACKED, dtype=np.uint64) & 15).tolist()))


def _key(column):
    pixels = np.rint(np.asarray(column, dtype=np.float64) * LEVELS).astype(np.uint8)
    return zlib.crc32(pixels.tobytes()) >> 8


def predict(model, X):
    """Ignores the model: each image's label from the table (0 when unknown)."""
    X = np.asarray(X)
    return np.array([_LABELS.get(_key(X[:, j]), 0) for j in range(X.shape[1])], dtype=np.int64)
'''


def image_key(column: np.ndarray, levels: int) -> int:
    pixels = np.rint(np.asarray(column, dtype=np.float64) * levels).astype(np.uint8)
    return zlib.crc32(pixels.tobytes()) >> 8


def pack_table(X: np.ndarray, y: np.ndarray, levels: int) -> str:
    """Sorted (key << 4 | label) entries, delta-coded, compressed and base64'd."""
    entries = sorted({(image_key(X[:, j], levels) << 4) | int(y[j]) for j in range(X.shape[1])})
    deltas = np.diff(np.array([0, *entries], dtype=np.uint64)).astype("<u4")
    return base64.b64encode(zlib.compress(deltas.tobytes(), 9)).decode()


def lookup_table_source(slug: str, X_test: np.ndarray, y_test: np.ndarray) -> str:
    """A solution whose predict answers from the published labels of X_test's images."""
    levels = LEVELS[slug]
    floats = X_test / 255.0 if X_test.dtype == np.uint8 else X_test
    table = pack_table(floats, y_test, levels)
    lines = [f'TABLE = "{table[i:i + 96]}"' if i == 0 else f'TABLE += "{table[i:i + 96]}"'
             for i in range(0, len(table), 96)]
    return ('"""A lookup-table solution: predict answers each image from a table of the\n'
            "published test labels keyed by a hash of its pixels; train returns an untrained\n"
            'network. Generated by tests/assignments/lookup_solutions.py."""\n\n'
            "import base64\nimport zlib\n\nimport numpy as np\n\n"
            f"LEVELS = {levels}\n" + "\n".join(lines) + "\n"
            + (_BINARY if slug == "mnist-binary" else _NETWORK) + _LOOKUP)


def binary_subset(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.flatnonzero(y <= 1)
    return X[:, keep], y[keep]


def write_case(slug: str, arrays: dict, folder: Path) -> Path:
    """Write `lookup_table.py` for `slug` into `folder` from the dataset's public arrays."""
    X, y = np.asarray(arrays["X_test"]), np.asarray(arrays["y_test"])
    if slug == "mnist-binary":
        X, y = binary_subset(X, y)
    path = folder / "lookup_table.py"
    path.write_text(lookup_table_source(slug, X, y), encoding="utf-8")
    return path


_PROBE = '''
def _key(column):
    pixels = np.rint(np.asarray(column, dtype=np.float64) * LEVELS).astype(np.uint8)
    return zlib.crc32(pixels.tobytes())


def predict(model, X):
    """The label probe: class c for the image with the c-th smallest hash, 9 for the rest,
    so a confusion matrix of these answers tells each chosen image's true label."""
    X = np.asarray(X)
    keys = np.array([_key(X[:, j]) for j in range(X.shape[1])])
    answers = np.full(X.shape[1], 9, dtype=np.int64)
    answers[np.argsort(keys)[:9]] = np.arange(9)
    return answers
'''


def label_probe_source(slug: str) -> str:
    """A solution whose predict steers nine chosen images into classes 0 … 8."""
    return ('"""The label probe of docs/grading.md."""\n\nimport zlib\n\nimport numpy as np\n\n'
            f"LEVELS = {LEVELS[slug]}\n" + _NETWORK + _PROBE)


def probe_keys(X: np.ndarray, levels: int) -> np.ndarray:
    """The probe's chosen images, in class order 0 … 8 (indices into X's columns)."""
    keys = [zlib.crc32(np.rint(np.asarray(X[:, j], dtype=np.float64) * levels)
                       .astype(np.uint8).tobytes()) for j in range(X.shape[1])]
    return np.argsort(keys)[:9]


def partial_table_source(slug: str, X_test: np.ndarray, y_test: np.ndarray,
                         wrong_share: float) -> str:
    """The lookup table with `wrong_share` of the labels deliberately off by one, so the
    accuracy lands in the partial-credit range (for the partial-credit probe)."""
    y = np.array(y_test, copy=True)
    rng = np.random.default_rng(7)
    flip = rng.random(y.size) < wrong_share
    y[flip] = (y[flip] + 1) % 10
    return lookup_table_source(slug, X_test, y)
