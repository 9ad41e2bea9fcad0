"""Assignment: small digits (8×8) with a vectorized network.

Shapes: a batch X has one COLUMN per example, shape (n_in, m); W has shape
(n_out, n_in) and b has shape (n_out, 1). A network is a list [(W1, b1), (W2, b2), ...].
Use numpy only. Upload this file as solution.py.
"""

import numpy as np


def sigmoid(z):
    """σ(z) = 1 / (1 + e^(−z)), elementwise (reuse your first assignment)."""
    raise NotImplementedError


def init_network(sizes, seed=0):
    """Random network for layer sizes such as [64, 100, 10].

    Returns [(W, b), ...]: W ~ N(0, 1/n_in) of shape (n_out, n_in), b of shape (n_out, 1).
    Use np.random.default_rng(seed) so the same seed gives the same network.
    """
    raise NotImplementedError


def forward(params, X):
    """Output activations A of shape (n_out, m) for inputs X of shape (n_in, m)."""
    raise NotImplementedError


def backprop(params, X, Y):
    """Gradients [(dW, db), ...] of C = 1/(2m) · Σ ‖a − y‖² over the m columns of X.

    Y has shape (n_out, m) (one-hot targets). dW and db have the shapes of W and b.
    Vectorized: no Python loop over the m examples.
    """
    raise NotImplementedError


def train(X_train, y_train, seed=0):
    """Train a network on X_train (64, m) floats in [0, 1] and labels y_train (m,) ints.

    Return a model: anything made of numpy arrays, numbers, lists, tuples and dicts
    (for example the params list). It is handed back to predict().
    """
    raise NotImplementedError


def predict(model, X):
    """Predicted digits, an integer array of shape (m,), for images X of shape (64, m)."""
    raise NotImplementedError
