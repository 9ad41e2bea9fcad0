"""Assignment: the sigmoid neuron.

Fill in the three functions below. Use numpy only (no scikit-learn, torch, ...).
Upload this file as solution.py.
"""

import numpy as np


def sigmoid(z):
    """The sigmoid (logistic) function σ(z) = 1 / (1 + e^(−z)).

    z may be a Python number or a numpy array of any shape; apply σ elementwise
    and return an array of the same shape (a float for a scalar). Must stay finite
    and within [0, 1] for large inputs such as ±1000.
    """
    raise NotImplementedError


def sigmoid_prime(z):
    """The derivative σ'(z) = σ(z)·(1 − σ(z)), elementwise, same shape as z."""
    raise NotImplementedError


def neuron(weights, bias, x):
    """Output of one sigmoid neuron: σ(w·x + b) as a float.

    weights and x are 1-D arrays of the same length, bias is a number.
    Example: neuron(np.array([0, 1]), 4, np.array([2, 3])) ≈ 0.9990889488055994
    """
    raise NotImplementedError
