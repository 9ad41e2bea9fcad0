"""A correct 2-2-1 network computed in float32 throughout, as a student saving memory
might write it: the checks must give it full marks (float32-correct code passes)."""

import numpy as np

NAMES = ["w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3"]


def sigmoid(x):
    return np.float32(1) / (np.float32(1) + np.exp(-np.float32(x)))


def deriv_sigmoid(x):
    fx = sigmoid(x)
    return fx * (np.float32(1) - fx)


def feedforward(params, x):
    p = {k: np.float32(v) for k, v in params.items()}
    x = np.asarray(x, dtype=np.float32)
    h1 = sigmoid(p["w1"] * x[0] + p["w2"] * x[1] + p["b1"])
    h2 = sigmoid(p["w3"] * x[0] + p["w4"] * x[1] + p["b2"])
    return sigmoid(p["w5"] * h1 + p["w6"] * h2 + p["b3"])


def gradients(params, x, y_true):
    p = {k: np.float32(v) for k, v in params.items()}
    x = np.asarray(x, dtype=np.float32)
    sum_h1 = p["w1"] * x[0] + p["w2"] * x[1] + p["b1"]
    h1 = sigmoid(sum_h1)
    sum_h2 = p["w3"] * x[0] + p["w4"] * x[1] + p["b2"]
    h2 = sigmoid(sum_h2)
    sum_o1 = p["w5"] * h1 + p["w6"] * h2 + p["b3"]
    o1 = sigmoid(sum_o1)
    d_L_d_ypred = np.float32(-2) * (np.float32(y_true) - o1)
    d_ypred_d_w5 = h1 * deriv_sigmoid(sum_o1)
    d_ypred_d_w6 = h2 * deriv_sigmoid(sum_o1)
    d_ypred_d_b3 = deriv_sigmoid(sum_o1)
    d_ypred_d_h1 = p["w5"] * deriv_sigmoid(sum_o1)
    d_ypred_d_h2 = p["w6"] * deriv_sigmoid(sum_o1)
    d_h1 = deriv_sigmoid(sum_h1)
    d_h2 = deriv_sigmoid(sum_h2)
    g = {
        "w1": d_L_d_ypred * d_ypred_d_h1 * x[0] * d_h1,
        "w2": d_L_d_ypred * d_ypred_d_h1 * x[1] * d_h1,
        "b1": d_L_d_ypred * d_ypred_d_h1 * d_h1,
        "w3": d_L_d_ypred * d_ypred_d_h2 * x[0] * d_h2,
        "w4": d_L_d_ypred * d_ypred_d_h2 * x[1] * d_h2,
        "b2": d_L_d_ypred * d_ypred_d_h2 * d_h2,
        "w5": d_L_d_ypred * d_ypred_d_w5,
        "w6": d_L_d_ypred * d_ypred_d_w6,
        "b3": d_L_d_ypred * d_ypred_d_b3,
    }
    return {k: float(v) for k, v in g.items()}


def train(data, y_trues, learn_rate=0.1, epochs=1000, seed=0):
    rng = np.random.default_rng(seed)
    params = {k: np.float32(rng.normal()) for k in NAMES}
    for _ in range(epochs):
        for x, y_true in zip(data, y_trues):
            g = gradients(params, x, y_true)
            for k in NAMES:
                params[k] = np.float32(params[k] - np.float32(learn_rate) * np.float32(g[k]))
    return {k: float(v) for k, v in params.items()}
