"""Assignment: XOR with a 2-H-1 network (tanh hidden layer, sigmoid output).

Fill in the functions below. Use the Python standard library and numpy only.
Shapes: X has one column per example, (2, m); y holds 0/1 labels, (m,).
A model is a dict of numpy arrays:
    W1 (H, 2), b1 (H, 1), W2 (1, H), b2 (1, 1)
Upload this file as solution.py.
"""

import numpy as np


def sigmoid(z):
    """σ(z) = 1 / (1 + e^(−z)), elementwise (reuse your sigmoid assignment)."""
    raise NotImplementedError


def init_model(hidden, seed=0):
    """Random weights (e.g. N(0, 1)), zero biases, from np.random.default_rng(seed).

    Not called by the grader, but train needs it. Do not start from all zeros:
    every hidden unit would then stay identical.
    """
    raise NotImplementedError


def forward(model, X):
    """Output probabilities of shape (1, m):

        A1 = tanh(W1 @ X + b1)      (H, m)
        A2 = σ(W2 @ A1 + b2)        (1, m)
    """
    raise NotImplementedError


def gradients(model, X, y):
    """Gradients of the mean binary cross-entropy

        L = −(1/m) Σ [ y·log(a) + (1 − y)·log(1 − a) ]

    as a dict with the model's keys: {"W1": ∂L/∂W1, "b1": …, "W2": …, "b2": …},
    each with the shape of the parameter.
    """
    raise NotImplementedError


def train(X, y, hidden=4, seed=0):
    """Train from init_model(hidden, seed) with full-batch gradient descent; return the model.

    The grader calls train(X, y, hidden=4, seed=<hidden seed>) on the four XOR points.
    """
    raise NotImplementedError


def predict(model, X):
    """0/1 predictions of shape (m,): 1 where the output probability is ≥ 0.5."""
    raise NotImplementedError


if __name__ == "__main__":
    X = np.array([[0, 0, 1, 1], [0, 1, 0, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    model = train(X, y, hidden=4, seed=0)
    print(predict(model, X), "expected", y)
