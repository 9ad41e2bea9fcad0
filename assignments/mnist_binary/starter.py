"""Assignment: zeros and ones — a 784-H-1 network with a ReLU hidden layer.

Fill in the functions below. Use the Python standard library and numpy only.
Shapes: X has one column per image, (784, m); y holds 0/1 labels, (m,).
Network parameters are a dict of numpy arrays:
    W1 (H, 784), b1 (H, 1), W2 (1, H), b2 (1, 1)
A trained model is the same dict plus two numbers, "mean" and "std": the
statistics of the training images used to standardise every input.
Upload this file as solution.py.
"""

import numpy as np


def relu(z):
    """max(z, 0), elementwise."""
    raise NotImplementedError


def relu_prime(z):
    """The derivative of relu: 1 where z > 0, else 0 (take 0 at z = 0)."""
    raise NotImplementedError


def sigmoid(z):
    """σ(z) = 1 / (1 + e^(−z)), elementwise, finite for large |z|."""
    raise NotImplementedError


def init_params(n_in, hidden, seed=0):
    """Random weights from np.random.default_rng(seed), zero biases.

    A good choice: W1 ~ N(0, 2/n_in) (He initialisation, made for ReLU),
    W2 ~ N(0, 1/hidden). Not called by the grader.
    """
    raise NotImplementedError


def forward(params, X):
    """P(class 1) for each column of (already standardised) X, shape (1, m):

        A1 = relu(W1 @ X + b1)       (H, m)
        A2 = σ(W2 @ A1 + b2)         (1, m)
    """
    raise NotImplementedError


def gradients(params, X, y):
    """Gradients of the mean binary cross-entropy

        L = −(1/m) Σ [ y·log(a) + (1 − y)·log(1 − a) ]

    as a dict {"W1": ∂L/∂W1, "b1": …, "W2": …, "b2": …}, shapes as the parameters.
    """
    raise NotImplementedError


def train(X_train, y_train, seed=0):
    """Standardise X_train with its own mean and std (two numbers over all pixels),
    train with full-batch gradient descent, and return the parameters together with
    "mean" and "std": {"W1": …, "b1": …, "W2": …, "b2": …, "mean": …, "std": …}.

    X_train arrives read-only: do not modify it in place.
    """
    raise NotImplementedError


def predict_proba(model, X):
    """P(digit is 1) for raw images X, shape (m,): standardise X with model["mean"]
    and model["std"] (the training statistics), then run forward."""
    raise NotImplementedError


def predict(model, X):
    """0 or 1 for each column of X, shape (m,)."""
    raise NotImplementedError
