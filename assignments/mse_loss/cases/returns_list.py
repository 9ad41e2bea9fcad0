"""Returns a Python list of per-element losses instead of a single number."""

import numpy as np


def mse_loss(y_true, y_pred):
    return [float(v) for v in (np.asarray(y_true) - np.asarray(y_pred)) ** 2]


def mse_loss_grad(y_true, y_pred):
    return 2 * (np.asarray(y_pred) - np.asarray(y_true)) / np.size(y_pred)
