"""Nielsen's network.py with the matrix-based backprop of chapter 2's exercise: no loop
over the examples of a batch; sigmoid_prime recomputes the exponentials, so it is slower
than the reference but vectorized. Init N(0, 1/n_in) as in network2.py."""

import numpy as np


def sigmoid(z):
    """The sigmoid function."""
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    """Derivative of the sigmoid function."""
    return sigmoid(z) * (1 - sigmoid(z))


def init_network(sizes, seed=0):
    rng = np.random.default_rng(seed)
    biases = [rng.standard_normal((y, 1)) * 0.0 for y in sizes[1:]]
    weights = [rng.standard_normal((y, x)) / np.sqrt(x) for x, y in zip(sizes[:-1], sizes[1:])]
    return list(zip(weights, biases))


def forward(params, X):
    a = X
    for w, b in params:
        a = sigmoid(np.dot(w, a) + b)
    return a


def backprop(params, X, Y):
    """Return [(nabla_w, nabla_b), ...] for the mean quadratic cost over the columns of X."""
    m = X.shape[1]
    activation = X
    activations = [X]
    zs = []
    for w, b in params:
        z = np.dot(w, activation) + b
        zs.append(z)
        activation = sigmoid(z)
        activations.append(activation)
    delta = (activations[-1] - Y) * sigmoid_prime(zs[-1])
    nabla_b = [None] * len(params)
    nabla_w = [None] * len(params)
    nabla_b[-1] = delta.sum(axis=1, keepdims=True) / m
    nabla_w[-1] = np.dot(delta, activations[-2].transpose()) / m
    for layer in range(2, len(params) + 1):
        z = zs[-layer]
        sp = sigmoid_prime(z)
        delta = np.dot(params[-layer + 1][0].transpose(), delta) * sp
        nabla_b[-layer] = delta.sum(axis=1, keepdims=True) / m
        nabla_w[-layer] = np.dot(delta, activations[-layer - 1].transpose()) / m
    return list(zip(nabla_w, nabla_b))


def vectorized_result(j):
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e


def train(X_train, y_train, seed=0, epochs=30, mini_batch_size=10, eta=3.0):
    """Mini-batch SGD, eta lowered for the last epochs."""
    rng = np.random.default_rng(seed)
    params = init_network([X_train.shape[0], 100, 10], seed)
    n = X_train.shape[1]
    Y = np.hstack([vectorized_result(int(j)) for j in y_train])
    for epoch in range(epochs):
        rate = eta if epoch < 15 else (1.0 if epoch < 25 else 0.3)
        order = rng.permutation(n)
        for k in range(0, n, mini_batch_size):
            batch = order[k:k + mini_batch_size]
            grads = backprop(params, X_train[:, batch], Y[:, batch])
            params = [(w - rate * nw, b - rate * nb)
                      for (w, b), (nw, nb) in zip(params, grads)]
    return params


def predict(model, X):
    return np.argmax(forward(model, X), axis=0)
