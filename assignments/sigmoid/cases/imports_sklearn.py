"""Reaches for scikit-learn, which the course forbids."""

import numpy as np
from sklearn.utils.extmath import expit


def sigmoid(z):
    return expit(z)


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


def neuron(weights, bias, x):
    return float(sigmoid(np.dot(weights, x) + bias))
