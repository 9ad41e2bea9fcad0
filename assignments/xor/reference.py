"""Reference solution: a 2-H-1 network (tanh hidden layer, sigmoid output) for XOR."""

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
    """Mean binary cross-entropy, from the output's input z: log(1 + eᶻ) − y·z.

    Exact for saturated outputs too (no log of a rounded σ(z)), so the finite
    differences the checks take of it are accurate on any random network.
    """
    X = np.asarray(X, dtype=float)
    z = (model["W2"] @ np.tanh(model["W1"] @ X + model["b1"]) + model["b2"]).reshape(-1)
    y = np.asarray(y, dtype=float).reshape(-1)
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


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


def train(X, y, hidden=4, seed=0, learn_rate=1.0, epochs=2000):
    """Full-batch gradient descent from init_model(hidden, seed)."""
    model = init_model(hidden, seed)
    for _ in range(epochs):
        grads = gradients(model, X, y)
        for key in model:
            model[key] = model[key] - learn_rate * grads[key]
    return model


def predict(model, X):
    """0/1 labels, shape (m,)."""
    return (forward(model, X).reshape(-1) >= 0.5).astype(np.int64)
