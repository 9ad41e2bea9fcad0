"""Reference solution: a vectorized sigmoid network trained by mini-batch SGD on MNIST."""

import numpy as np

HIDDEN = 100
BATCH = 10
ETA = 3.0
#: about 180,000 examples seen (3 epochs of MNIST; more epochs on smaller sets)
EXAMPLES_SEEN = 180_000


def sigmoid(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def init_network(sizes, seed=0):
    """[(W, b), …] with W ~ N(0, 1/n_in) of shape (n_out, n_in) and b = 0 of shape (n_out, 1)."""
    rng = np.random.default_rng(seed)
    return [(rng.normal(0.0, 1.0 / np.sqrt(n_in), size=(n_out, n_in)), np.zeros((n_out, 1)))
            for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]


def forward(params, X):
    """Activations of the last layer, one column per example."""
    A = X
    for W, b in params:
        A = sigmoid(W @ A + b)
    return A


def backprop(params, X, Y):
    """[(dW, db), …] of C = 1/(2m) · Σ ‖a − y‖² over the m columns of X."""
    m = X.shape[1]
    activations = [X]
    for W, b in params:
        activations.append(sigmoid(W @ activations[-1] + b))
    A = activations[-1]
    delta = (A - Y) * A * (1 - A) / m
    grads = []
    for layer in range(len(params) - 1, -1, -1):
        a_prev = activations[layer]
        grads.append((delta @ a_prev.T, delta.sum(axis=1, keepdims=True)))
        if layer:
            delta = (params[layer][0].T @ delta) * a_prev * (1 - a_prev)
    return grads[::-1]


def one_hot(y, classes=10):
    Y = np.zeros((classes, len(y)))
    Y[np.asarray(y, dtype=int), np.arange(len(y))] = 1.0
    return Y


def train(X_train, y_train, seed=0):
    """Mini-batch SGD (batch 10, η = 3.0) on a n_in-100-10 network."""
    # examples as rows while shuffling, so every mini-batch is one contiguous block;
    # float32 halves the memory of the two copies, batches are computed in float64
    rows = np.ascontiguousarray(np.asarray(X_train, dtype=np.float32).T)
    targets = one_hot(y_train).T
    m, n_in = rows.shape
    params = init_network([n_in, HIDDEN, 10], seed)
    rng = np.random.default_rng(seed)
    epochs = max(1, -(-EXAMPLES_SEEN // m))
    for _ in range(epochs):
        order = rng.permutation(m)
        shuffled, shuffled_targets = rows[order], targets[order]
        for k in range(0, m, BATCH):
            batch = shuffled[k:k + BATCH].T.astype(np.float64)
            grads = backprop(params, batch, shuffled_targets[k:k + BATCH].T)
            params = [(W - ETA * dW, b - ETA * db) for (W, b), (dW, db) in zip(params, grads,
                                                                            strict=True)]
    return params


def predict(model, X):
    """The most active output neuron for each column of X."""
    return np.argmax(forward(model, X), axis=0)
