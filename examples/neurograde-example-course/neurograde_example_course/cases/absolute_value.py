"""Known-bad: |z| instead of max(0, z)."""

import numpy as np


def relu(z):
    return np.abs(z)


def relu_prime(z):
    return (np.asarray(z) > 0).astype(float)
