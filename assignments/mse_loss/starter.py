"""Assignment: mean squared error loss.

Fill in the two functions below with numpy. Upload this file as solution.py.
"""

import numpy as np


def mse_loss(y_true, y_pred):
    """Mean squared error (1/n) · Σᵢ (y_trueᵢ − y_predᵢ)², returned as a float.

    y_true and y_pred are numpy arrays of the same shape.
    Example: mse_loss(np.array([1, 0, 0, 1]), np.array([0, 0, 0, 0])) == 0.5
    """
    raise NotImplementedError


def mse_loss_grad(y_true, y_pred):
    """The gradient ∂L/∂y_pred: an array with the same shape as y_pred."""
    raise NotImplementedError
