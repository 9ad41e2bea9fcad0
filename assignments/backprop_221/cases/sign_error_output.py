"""Writes ∂L/∂o1 = 2(y_true − o1), dropping the minus sign: every gradient points uphill."""

import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def feedforward(p, x):
    h1 = sigmoid(p["w1"] * x[0] + p["w2"] * x[1] + p["b1"])
    h2 = sigmoid(p["w3"] * x[0] + p["w4"] * x[1] + p["b2"])
    return float(sigmoid(p["w5"] * h1 + p["w6"] * h2 + p["b3"]))


def gradients(p, x, y_true):
    h1 = sigmoid(p["w1"] * x[0] + p["w2"] * x[1] + p["b1"])
    h2 = sigmoid(p["w3"] * x[0] + p["w4"] * x[1] + p["b2"])
    o1 = sigmoid(p["w5"] * h1 + p["w6"] * h2 + p["b3"])
    d_o1 = 2 * (y_true - o1)
    d_z3 = d_o1 * o1 * (1 - o1)
    d_z1 = d_z3 * p["w5"] * h1 * (1 - h1)
    d_z2 = d_z3 * p["w6"] * h2 * (1 - h2)
    return {"w1": d_z1 * x[0], "w2": d_z1 * x[1], "b1": d_z1,
            "w3": d_z2 * x[0], "w4": d_z2 * x[1], "b2": d_z2,
            "w5": d_z3 * h1, "w6": d_z3 * h2, "b3": d_z3}


def train(data, y_trues, learn_rate=0.1, epochs=1000, seed=0):
    rng = np.random.default_rng(seed)
    p = {k: rng.normal() for k in ("w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3")}
    for _ in range(epochs):
        for x, y in zip(data, y_trues):
            g = gradients(p, x, y)
            for k in p:
                p[k] -= learn_rate * g[k]
    return p
