"""Right gradients, but predict() always answers the same digit."""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def init_network(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.normal(0, 1 / np.sqrt(n), (k, n)), np.zeros((k, 1)))
            for n, k in zip(sizes[:-1], sizes[1:])]


def forward(params, X):
    for W, b in params:
        X = sigmoid(W @ X + b)
    return X


def backprop(params, X, Y):
    acts = [X]
    for W, b in params:
        acts.append(sigmoid(W @ acts[-1] + b))
    delta = (acts[-1] - Y) * acts[-1] * (1 - acts[-1]) / X.shape[1]
    grads = []
    for layer in range(len(params) - 1, -1, -1):
        grads.append((delta @ acts[layer].T, delta.sum(axis=1, keepdims=True)))
        if layer:
            delta = (params[layer][0].T @ delta) * acts[layer] * (1 - acts[layer])
    return grads[::-1]


def train(X_train, y_train, seed=0):
    return init_network([np.shape(X_train)[0], 30, 10], seed)


def predict(model, X):
    return np.ones(np.shape(X)[1], dtype=int)  # always "1", the most common digit
