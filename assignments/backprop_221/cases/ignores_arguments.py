"""Trains well with the defaults but ignores learn_rate, epochs and seed."""

import numpy as np

PARAM_NAMES = ("w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3")


def sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _forward(p, x):
    x1, x2 = float(x[0]), float(x[1])
    z1 = p["w1"] * x1 + p["w2"] * x2 + p["b1"]
    z2 = p["w3"] * x1 + p["w4"] * x2 + p["b2"]
    h1, h2 = sigmoid(z1), sigmoid(z2)
    z3 = p["w5"] * h1 + p["w6"] * h2 + p["b3"]
    return x1, x2, z1, z2, h1, h2, z3, sigmoid(z3)


def feedforward(params, x):
    """o1 = f(w5·h1 + w6·h2 + b3) with h1 = f(w1·x1 + w2·x2 + b1), h2 = f(w3·x1 + w4·x2 + b2)."""
    return float(_forward(params, x)[-1])


def gradients(params, x, y_true):
    """∂L/∂p for L = (y_true − o1)², by the chain rule."""
    x1, x2, z1, z2, h1, h2, z3, o1 = _forward(params, x)
    d_o1 = -2.0 * (y_true - o1)
    d_z3 = d_o1 * o1 * (1 - o1)
    d_z1 = d_z3 * params["w5"] * h1 * (1 - h1)
    d_z2 = d_z3 * params["w6"] * h2 * (1 - h2)
    return {
        "w1": d_z1 * x1, "w2": d_z1 * x2, "b1": d_z1,
        "w3": d_z2 * x1, "w4": d_z2 * x2, "b2": d_z2,
        "w5": d_z3 * h1, "w6": d_z3 * h2, "b3": d_z3,
    }


def train(data, y_trues, learn_rate=0.1, epochs=1000, seed=0):
    """Always 1000 epochs at learn_rate 0.1 from seed 0, whatever the arguments say."""
    rng = np.random.default_rng(0)
    params = {name: float(rng.normal()) for name in PARAM_NAMES}
    learn_rate = 0.1
    for _ in range(1000):
        for x, y_true in zip(data, y_trues, strict=True):
            grads = gradients(params, x, float(y_true))
            for name in PARAM_NAMES:
                params[name] -= learn_rate * grads[name]
    return params
