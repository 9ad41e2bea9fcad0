"""Applies the derivative formula to z instead of to σ(z)."""

import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-np.clip(z, -500, 500)))


def sigmoid_prime(z):
    return z * (1 - z)


def neuron(weights, bias, x):
    return float(sigmoid(np.dot(weights, x) + bias))
