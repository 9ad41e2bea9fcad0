"""A correct solution that computes in float32 (as many GPU-minded tutorials do), with the
tanh identity σ(z) = (1 + tanh(z/2)) / 2. Right to float32 precision: must get full marks."""

import numpy as np


def sigmoid(z):
    z = np.asarray(z, dtype=np.float32)
    s = np.float32(0.5) * (np.float32(1) + np.tanh(np.float32(0.5) * z))
    return float(s) if s.ndim == 0 else s


def sigmoid_prime(z):
    s = sigmoid(z)
    return s * (1 - s)


def neuron(weights, bias, x):
    w = np.asarray(weights, dtype=np.float32)
    x = np.asarray(x, dtype=np.float32)
    return float(sigmoid(np.dot(w, x) + np.float32(bias)))
