"""sigmoid_prime returns σ(z) itself instead of its derivative σ(z)·(1 − σ(z))."""

import numpy as np


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))


def sigmoid_prime(z):
    return sigmoid(z)


def neuron(weights, bias, x):
    return float(sigmoid(np.dot(weights, x) + bias))
