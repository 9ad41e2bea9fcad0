"""Sums the gradients over the batch instead of averaging them (and scales η down in train,
as some textbooks do): training works, but backprop does not compute ∂C/∂p of the mean cost."""

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
    delta = (acts[-1] - Y) * acts[-1] * (1 - acts[-1])
    grads = []
    for layer in range(len(params) - 1, -1, -1):
        grads.append((delta @ acts[layer].T, delta.sum(axis=1, keepdims=True)))
        if layer:
            delta = (params[layer][0].T @ delta) * acts[layer] * (1 - acts[layer])
    return grads[::-1]


def train(X_train, y_train, seed=0, epochs=3, batch=10, eta=3.0):
    rows = np.asarray(X_train, dtype=float).T
    targets = np.eye(10)[np.asarray(y_train)]
    params = init_network([rows.shape[1], 100, 10], seed)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(rows))
        xs, ys = rows[order], targets[order]
        for k in range(0, len(rows), batch):
            grads = backprop(params, xs[k:k + batch].T, ys[k:k + batch].T)
            params = [(W - eta / batch * dW, b - eta / batch * db)
                      for (W, b), (dW, db) in zip(params, grads)]
    return params


def predict(model, X):
    return np.argmax(forward(model, X), axis=0)
