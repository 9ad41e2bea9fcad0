"""Differentiates (y_true − y_pred)² but forgets the minus sign of the inner derivative."""

import numpy as np


def mse_loss(y_true, y_pred):
    return float(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2))


def mse_loss_grad(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return 2 * (y_true - y_pred) / y_pred.size
