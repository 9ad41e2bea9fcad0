"""Assignment: backpropagation in a 2-2-1 network.

The network has inputs x1, x2, hidden neurons h1, h2 and an output o1, all sigmoid:
    h1 = f(w1*x1 + w2*x2 + b1)
    h2 = f(w3*x1 + w4*x2 + b2)
    o1 = f(w5*h1 + w6*h2 + b3)
Parameters live in a dict with the keys w1 ... w6 and b1 ... b3 (floats).
Use numpy only. Upload this file as solution.py.
"""

import numpy as np


def sigmoid(z):
    """f(z) = 1 / (1 + e^(−z))."""
    raise NotImplementedError


def feedforward(params, x):
    """The network's output o1 for one input x = [x1, x2], as a float."""
    raise NotImplementedError


def gradients(params, x, y_true):
    """All partial derivatives ∂L/∂p of L = (y_true − o1)² for one example.

    Returns a dict with the same nine keys as params, each a float.
    """
    raise NotImplementedError


def train(data, y_trues, learn_rate=0.1, epochs=1000, seed=0):
    """Train on data (n, 2) with labels y_trues (n,) by per-sample gradient descent.

    Start from random weights drawn with np.random.default_rng(seed); for each epoch
    and each example, p ← p − learn_rate · ∂L/∂p. Return the params dict.
    """
    raise NotImplementedError
