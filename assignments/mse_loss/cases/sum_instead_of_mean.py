"""Sums the squared errors instead of averaging them (and differentiates the sum)."""

import numpy as np


def mse_loss(y_true, y_pred):
    return float(np.sum((np.asarray(y_true) - np.asarray(y_pred)) ** 2))


def mse_loss_grad(y_true, y_pred):
    return 2 * (np.asarray(y_pred) - np.asarray(y_true))
