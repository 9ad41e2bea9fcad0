"""Correct gradients, but train returns an untrained model and predict ignores it,
computing x1 != x2 directly."""

import numpy as np


def sigmoid(z):
    # tanh form: never overflows
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def init_model(hidden, seed=0):
    """Weights N(0, 1), biases 0: W1 (hidden, 2), b1 (hidden, 1), W2 (1, hidden), b2 (1, 1)."""
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(0.0, 1.0, (hidden, 2)), "b1": np.zeros((hidden, 1)),
            "W2": rng.normal(0.0, 1.0, (1, hidden)), "b2": np.zeros((1, 1))}


def _forward(model, X):
    A1 = np.tanh(model["W1"] @ X + model["b1"])
    A2 = sigmoid(model["W2"] @ A1 + model["b2"])
    return A1, A2


def forward(model, X):
    """Output probabilities, shape (1, m), for X of shape (2, m)."""
    return _forward(model, np.asarray(X, dtype=float))[1]


def loss(model, X, y):
    """Mean binary cross-entropy."""
    a = forward(model, X).reshape(-1)
    y = np.asarray(y, dtype=float).reshape(-1)
    a = np.clip(a, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(a) + (1 - y) * np.log(1 - a)))


def gradients(model, X, y):
    """∂L/∂W1, ∂L/∂b1, ∂L/∂W2, ∂L/∂b2 of the mean binary cross-entropy, same keys as model."""
    X = np.asarray(X, dtype=float)
    Y = np.asarray(y, dtype=float).reshape(1, -1)
    m = X.shape[1]
    A1, A2 = _forward(model, X)
    dZ2 = (A2 - Y) / m  # sigmoid + cross-entropy: the σ' cancels
    dZ1 = (model["W2"].T @ dZ2) * (1 - A1**2)  # tanh'(z) = 1 − tanh(z)²
    return {"W1": dZ1 @ X.T, "b1": dZ1.sum(axis=1, keepdims=True),
            "W2": dZ2 @ A1.T, "b2": dZ2.sum(axis=1, keepdims=True)}


def train(X, y, hidden=4, seed=0):
    """Does not train: returns an all-zero model."""
    return {"W1": np.zeros((hidden, 2)), "b1": np.zeros((hidden, 1)),
            "W2": np.zeros((1, hidden)), "b2": np.zeros((1, 1))}


def predict(model, X):
    """Computes XOR of the inputs itself and never looks at the model."""
    X = np.asarray(X)
    return (X[0] != X[1]).astype(np.int64)
