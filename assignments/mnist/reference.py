"""Reference solution: a vectorized sigmoid network trained by mini-batch SGD on MNIST."""

import numpy as np

HIDDEN = 100
BATCH = 10
#: η for each tenth of the training: η = 3.0 learns fast, the smaller steps at the end settle
#: the weights (10 epochs of MNIST reach 97.5–97.9 % on the seeds measured)
SCHEDULE = (3.0,) * 7 + (1.0,) * 2 + (0.3,)
#: examples seen: 10 epochs of MNIST, more epochs on smaller training sets
EXAMPLES_SEEN = 600_000


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
    """Mini-batch SGD (batch 10, η from 3.0 down to 0.3) on a n_in-100-10 network."""
    # examples as rows while shuffling, so every mini-batch is one contiguous block;
    # float32 throughout: half the memory of float64 and about 1.7× faster, same accuracy
    rows = np.ascontiguousarray(np.asarray(X_train, dtype=np.float32).T)
    targets = one_hot(y_train).T.astype(np.float32)
    m, n_in = rows.shape
    params = [(W.astype(np.float32), b.astype(np.float32))
              for W, b in init_network([n_in, HIDDEN, 10], seed)]
    rng = np.random.default_rng(seed)
    epochs = max(len(SCHEDULE), -(-EXAMPLES_SEEN // m))
    for epoch in range(epochs):
        eta = np.float32(SCHEDULE[epoch * len(SCHEDULE) // epochs])
        order = rng.permutation(m)
        shuffled, shuffled_targets = rows[order], targets[order]
        for k in range(0, m, BATCH):
            grads = backprop(params, shuffled[k:k + BATCH].T, shuffled_targets[k:k + BATCH].T)
            params = [(W - eta * dW, b - eta * db) for (W, b), (dW, db) in zip(params, grads,
                                                                            strict=True)]
    return params


def predict(model, X):
    """The most active output neuron for each column of X."""
    return np.argmax(forward(model, X), axis=0)
