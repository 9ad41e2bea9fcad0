"""Overflows for large negative inputs: exp(1000) is inf, and inf / inf is nan."""

import numpy as np


def sigmoid(z):
    z = np.asarray(z, dtype=float)
    return np.exp(z) / (np.exp(z) + 1)


def sigmoid_prime(z):
    s = sigmoid(z)
    return s * (1 - s)


def neuron(weights, bias, x):
    return float(sigmoid(np.dot(weights, x) + bias))
