"""Known-bad: imports a machine-learning framework, which the assignment forbids."""

import numpy as np
from sklearn.preprocessing import FunctionTransformer


def relu(z):
    return FunctionTransformer(lambda x: np.maximum(0.0, x)).transform(z)


def relu_prime(z):
    return (np.asarray(z) > 0).astype(float)
