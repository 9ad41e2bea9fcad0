"""Reference solution: the sigmoid function, its derivative and a single neuron."""

import numpy as np


def sigmoid(z):
    """1 / (1 + e^(−z)), elementwise, without overflow for large |z|."""
    z = np.asarray(z, dtype=float)
    # tanh form: never overflows, equal to the logistic function
    out = 0.5 * (1.0 + np.tanh(0.5 * z))
    return float(out) if out.ndim == 0 else out


def sigmoid_prime(z):
    """σ'(z) = σ(z)·(1 − σ(z))."""
    s = sigmoid(z)
    return s * (1 - s)


def neuron(weights, bias, x):
    """The output σ(w·x + b) of one sigmoid neuron, as a float."""
    total = np.dot(np.asarray(weights, dtype=float), np.asarray(x, dtype=float)) + bias
    return float(sigmoid(total))
