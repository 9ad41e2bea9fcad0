"""Uses math.exp, which only works on single numbers: every array input fails."""

import math

import numpy as np


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


def neuron(weights, bias, x):
    return sigmoid(float(np.dot(weights, x) + bias))
