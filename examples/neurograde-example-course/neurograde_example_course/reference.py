"""Reference solution of example-relu (trusted; never enters the sandbox)."""

import numpy as np


def relu(z):
    return np.maximum(0.0, np.asarray(z, dtype=np.float64))


def relu_prime(z):
    return (np.asarray(z, dtype=np.float64) > 0).astype(np.float64)
