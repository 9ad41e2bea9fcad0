"""Correct but written with Python loops and lists: still full marks (speed is not graded here)."""


def mse_loss(y_true, y_pred):
    pairs = list(zip(y_true.ravel().tolist(), y_pred.ravel().tolist()))
    return sum((t - p) ** 2 for t, p in pairs) / len(pairs)


def mse_loss_grad(y_true, y_pred):
    n = y_pred.size
    grad = y_pred.astype(float).copy()
    flat_true, flat_grad = y_true.ravel(), grad.reshape(-1)
    for i in range(n):
        flat_grad[i] = 2 * (flat_grad[i] - flat_true[i]) / n
    return grad
