"""The "Alice" article's code, but trained full-batch: the gradients of all people are
averaged and applied once per epoch, where the contract asks for per-sample SGD."""

import numpy as np

NAMES = ["w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3"]


def sigmoid(x):
    # Sigmoid activation function: f(x) = 1 / (1 + e^(-x))
    return 1 / (1 + np.exp(-x))


def deriv_sigmoid(x):
    # Derivative of sigmoid: f'(x) = f(x) * (1 - f(x))
    fx = sigmoid(x)
    return fx * (1 - fx)


def feedforward(p, x):
    h1 = sigmoid(p["w1"] * x[0] + p["w2"] * x[1] + p["b1"])
    h2 = sigmoid(p["w3"] * x[0] + p["w4"] * x[1] + p["b2"])
    o1 = sigmoid(p["w5"] * h1 + p["w6"] * h2 + p["b3"])
    return float(o1)


def gradients(p, x, y_true):
    # --- Do a feedforward (we'll need these values later)
    sum_h1 = p["w1"] * x[0] + p["w2"] * x[1] + p["b1"]
    h1 = sigmoid(sum_h1)
    sum_h2 = p["w3"] * x[0] + p["w4"] * x[1] + p["b2"]
    h2 = sigmoid(sum_h2)
    sum_o1 = p["w5"] * h1 + p["w6"] * h2 + p["b3"]
    o1 = sigmoid(sum_o1)
    y_pred = o1

    # --- Calculate partial derivatives.
    d_L_d_ypred = -2 * (y_true - y_pred)

    # Neuron o1
    d_ypred_d_w5 = h1 * deriv_sigmoid(sum_o1)
    d_ypred_d_w6 = h2 * deriv_sigmoid(sum_o1)
    d_ypred_d_b3 = deriv_sigmoid(sum_o1)
    d_ypred_d_h1 = p["w5"] * deriv_sigmoid(sum_o1)
    d_ypred_d_h2 = p["w6"] * deriv_sigmoid(sum_o1)

    # Neuron h1
    d_h1_d_w1 = x[0] * HIDDEN_SLOPE(sum_h1, h1)
    d_h1_d_w2 = x[1] * HIDDEN_SLOPE(sum_h1, h1)
    d_h1_d_b1 = HIDDEN_SLOPE(sum_h1, h1)

    # Neuron h2
    d_h2_d_w3 = x[0] * HIDDEN_SLOPE(sum_h2, h2)
    d_h2_d_w4 = x[1] * HIDDEN_SLOPE(sum_h2, h2)
    d_h2_d_b2 = HIDDEN_SLOPE(sum_h2, h2)

    return {
        "w1": float(d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w1),
        "w2": float(d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w2),
        "b1": float(d_L_d_ypred * d_ypred_d_h1 * d_h1_d_b1),
        "w3": float(d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w3),
        "w4": float(d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w4),
        "b2": float(d_L_d_ypred * d_ypred_d_h2 * d_h2_d_b2),
        "w5": float(d_L_d_ypred * d_ypred_d_w5),
        "w6": float(d_L_d_ypred * d_ypred_d_w6),
        "b3": float(d_L_d_ypred * d_ypred_d_b3),
    }


def HIDDEN_SLOPE(total, out):  # noqa: N802
    return deriv_sigmoid(total)


def train(data, all_y_trues, learn_rate=0.1, epochs=1000, seed=0):
    rng = np.random.default_rng(seed)
    p = {name: rng.normal() for name in NAMES}
    for epoch in range(epochs):
        total = {name: 0.0 for name in NAMES}
        for x, y_true in zip(data, all_y_trues):
            grads = gradients(p, x, y_true)
            for name in NAMES:
                total[name] += grads[name]
        for name in NAMES:
            p[name] -= learn_rate * total[name]
    return p
