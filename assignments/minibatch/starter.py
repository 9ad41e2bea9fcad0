"""Assignment: stochastic, batch and mini-batch gradient descent.

Write the three update loops below. Use the Python standard library and numpy only.
Shapes: X has one column per example, (n, m); y has shape (m,); w has shape (n,).
`grad(w, X_batch, y_batch)` returns the gradient of the *mean* loss over the batch.
Keep the provided part at the end as it is: the grader calls `run`.
Upload this file as solution.py.
"""

import numpy as np


def minibatch_gd(grad, w0, X, y, learn_rate, epochs, batch_size, seed=0):
    """Mini-batch gradient descent.

    rng = np.random.default_rng(seed), created once. Every epoch:
        order = rng.permutation(m)
        for each start in 0, batch_size, 2·batch_size, … < m:
            batch = order[start : start + batch_size]   (the last one may be smaller)
            w = w − learn_rate · grad(w, X[:, batch], y[batch])
    Returns the history: an array of shape (updates + 1, n) holding w0 and the
    weights after every update.
    """
    raise NotImplementedError


def sgd(grad, w0, X, y, learn_rate, epochs, seed=0):
    """Stochastic gradient descent: mini-batches of one example (same shuffling rule)."""
    raise NotImplementedError


def batch_gd(grad, w0, X, y, learn_rate, epochs):
    """Batch gradient descent: one update per epoch with the gradient over all of X, y."""
    raise NotImplementedError


# ---- provided: the gradients and the adapter the grader calls; keep them as they are ----

def squared_error_grad(w, X, y):
    """∇ of the mean squared error (1/m)·Σ (wᵀx − y)² of a linear model over a batch."""
    return 2.0 * X @ (X.T @ w - y) / X.shape[1]


def logistic_grad(w, X, y):
    """∇ of the mean cross-entropy of logistic regression σ(wᵀx) over a batch."""
    p = 0.5 * (1.0 + np.tanh(0.5 * (X.T @ w)))
    return X @ (p - y) / X.shape[1]


GRADIENTS = {"squared_error": squared_error_grad, "logistic": logistic_grad}


def run(method, gradient, w0, X, y, learn_rate, epochs, batch_size=None, seed=0):
    """Call `method` ("sgd", "batch_gd" or "minibatch_gd") with GRADIENTS[gradient]."""
    grad = GRADIENTS[gradient]
    if method == "sgd":
        history = sgd(grad, w0, X, y, learn_rate, epochs, seed=seed)
    elif method == "batch_gd":
        history = batch_gd(grad, w0, X, y, learn_rate, epochs)
    elif method == "minibatch_gd":
        history = minibatch_gd(grad, w0, X, y, learn_rate, epochs, batch_size, seed=seed)
    else:
        raise ValueError(f"unknown method {method!r}")
    return np.asarray(history, dtype=float)


if __name__ == "__main__":
    X = np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 2.0, 3.0]])
    y = np.array([1.0, 3.0, 5.0, 7.0])
    print(batch_gd(squared_error_grad, np.zeros(2), X, y, 0.1, 3))
    print(minibatch_gd(squared_error_grad, np.zeros(2), X, y, 0.1, 2, 3, seed=0))
