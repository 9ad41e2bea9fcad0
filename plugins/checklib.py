"""Trusted helpers for writing checks: conversions, tolerant comparisons with
messages a student can act on, central finite differences and a diagnosis of
wrong gradients (sign flipped, off by a factor, swapped, a named variant).

Everything here runs in the parent. Messages of hidden checks never contain
expected values: pass `show_expected=False` (the default) and only the shape of
the mistake is described.

Tolerance policy (one for visible and hidden checks): a student may compute in
float32, so `close` and `mismatch` accept, by default, differences of a few dozen
float32 roundings: relative `RTOL` = 64·ε₃₂ ≈ 7.6e-6 of each value, plus the same share
of the largest expected magnitude (so a value that is small only because of
cancellation, e.g. 1 − σ(z) near 0, is judged against the scale of the result, as
float32 arithmetic produces it). A check that needs more digits (e.g. a trajectory
over many steps) passes a tighter `rtol`; `mismatch` then says when the difference is
at float32 precision, so the student knows it is the dtype, not the formula.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from plugins.types import CheckContext, CheckFailed, Outcome, StudentCallError

#: float32 machine epsilon (≈ 1.19e-7): the precision of a student computing in float32
FLOAT32_EPS = float(np.finfo(np.float32).eps)
#: default relative tolerance of values: float32-correct code passes
RTOL = 64 * FLOAT32_EPS
#: default absolute floor (values that are exactly 0 may come back as tiny numbers)
ATOL = 1e-9
#: gradients: finite differences agree with exact ones to ~1e-9 relative
GRAD_RTOL = 1e-4
GRAD_ATOL = 1e-7


def student_check(run: Callable[[CheckContext], Outcome]) -> Callable[[CheckContext], Outcome]:
    """Turn a `StudentCallError` raised inside a check into a failed `Outcome`.

    Not needed with `@check` (nor under the engine, which does the same); kept for
    checks written as plain functions for `CheckDef`.
    """

    @functools.wraps(run)
    def wrapper(ctx: CheckContext) -> Outcome:
        try:
            return run(ctx)
        except StudentCallError as exc:
            return Outcome(passed=False, message=str(exc))

    return wrapper


def as_array(value: Any, what: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """`value` as a finite float array (of `shape`, if given), else a StudentCallError."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise StudentCallError(f"{what} should be a numpy array of numbers, got "
                               f"{type(value).__name__}") from None
    if shape is not None and array.shape != tuple(shape):
        if array.size == int(np.prod(shape)) and array.size > 1:
            raise StudentCallError(f"{what} has shape {array.shape}, expected {tuple(shape)} "
                                   "(same numbers of elements: check row vs column layout)")
        raise StudentCallError(f"{what} has shape {array.shape}, expected {tuple(shape)}")
    if not np.all(np.isfinite(array)):
        raise StudentCallError(f"{what} contains nan or inf")
    return array


def as_float(value: Any, what: str) -> float:
    """`value` as a finite Python float; a 1-element array is accepted."""
    array = as_array(value, what)
    if array.size != 1:
        raise StudentCallError(f"{what} should be a single number, got an array of shape "
                               f"{array.shape}")
    return float(array.reshape(()))


def as_labels(value: Any, what: str, count: int, classes: int = 10) -> np.ndarray:
    """`value` as `count` integer class labels 0 … classes-1 (e.g. a `predict`'s digits),
    else a StudentCallError."""
    labels = as_array(value, what, (count,))
    if np.any(labels != np.rint(labels)) or np.any((labels < 0) | (labels > classes - 1)):
        raise StudentCallError(f"{what} should return integer classes 0 … {classes - 1}, "
                               "one per column")
    return labels.astype(np.int64)


def _scaled_atol(expected: np.ndarray, rtol: float, atol: float) -> float:
    """`atol`, raised to `rtol` of the largest expected magnitude (see the policy above)."""
    finite = expected[np.isfinite(expected)]
    return max(atol, rtol * float(np.max(np.abs(finite)))) if finite.size else atol


def close(got: Any, expected: Any, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """Whether `got` equals `expected` within the tolerance policy (module docstring)."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    return got.shape == expected.shape and bool(np.allclose(
        got, expected, rtol=rtol, atol=_scaled_atol(expected, rtol, atol)))


def at_float32_precision(got: Any, expected: Any) -> bool:
    """Whether `got` differs from `expected` but only as float32 arithmetic would."""
    return not close(got, expected, 0.0, 0.0) and close(got, expected, RTOL, ATOL)


def _precision_note(got: np.ndarray, expected: np.ndarray) -> str:
    if at_float32_precision(got, expected):
        return (" (the difference is at float32 precision, about 1e-7 relative: this check "
                "needs float64, so compute with float64 arrays)")
    return ""


def _fmt(value: Any) -> str:
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return repr(float(array))
    return np.array2string(array, precision=6, threshold=12, separator=", ")


def mismatch(what: str, got: Any, expected: Any, *, show_expected: bool = False,
             rtol: float = RTOL, atol: float = ATOL) -> str | None:
    """None if `got` matches `expected`; otherwise a message for the student.

    Hidden checks leave `show_expected` False: the message then says how far off
    the value is, never what it should have been.
    """
    got_a, exp_a = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if got_a.shape != exp_a.shape:
        return f"{what} has shape {got_a.shape}, expected {exp_a.shape}"
    if close(got_a, exp_a, rtol, atol):
        return None
    note = _precision_note(got_a, exp_a)
    if show_expected:
        return f"{what}: expected {_fmt(exp_a)}, got {_fmt(got_a)}{note}"
    wrong = ~np.isclose(got_a, exp_a, rtol=rtol, atol=_scaled_atol(exp_a, rtol, atol))
    if got_a.ndim == 0:
        return f"{what} is wrong (got {_fmt(got_a)}){note}"
    return f"{what} is wrong in {int(wrong.sum())} of {wrong.size} elements{note}"


def expect_close(what: str, got: Any, expected: Any, *, show_expected: bool = False,
                 rtol: float = RTOL, atol: float = ATOL, hint: str | None = None) -> None:
    """Fail the running check with `mismatch`'s message unless `got` matches `expected`."""
    problem = mismatch(what, got, expected, show_expected=show_expected, rtol=rtol, atol=atol)
    if problem:
        raise CheckFailed(problem, hint)


def expect_gradient(what: str, got: Any, true: Any,
                    variants: Mapping[str, np.ndarray] | None = None, *,
                    rtol: float = GRAD_RTOL, atol: float = GRAD_ATOL,
                    hint: str | None = None, suffix: str = "") -> None:
    """Fail the running check with "`what` <diagnosis>`suffix`" unless `got` matches the
    `true` gradient (see `describe_gradient_error`; `variants` name typical mistakes)."""
    words = describe_gradient_error(got, true, variants, rtol=rtol, atol=atol)
    if words:
        raise CheckFailed(f"{what} {words}{suffix}", hint)


def threshold_credit(value: float, full: float, zero: float) -> float:
    """Linear partial credit: 1 at `full`, 0 at `zero`. `full > zero` for a score that
    rises (accuracy), `full < zero` for one that falls (an error rate); equal thresholds
    mean all or nothing (for a rising score)."""
    if full == zero:
        return 1.0 if value >= full else 0.0
    return float(np.clip((value - zero) / (full - zero), 0.0, 1.0))


def central_difference(f: Callable[[np.ndarray], float], x: np.ndarray,
                       eps: float = 1e-6) -> np.ndarray:
    """∂f/∂x by central differences, one element at a time (f returns a scalar)."""
    x = np.array(x, dtype=np.float64)
    grad = np.empty_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        up = float(f(x))
        flat[i] = saved - eps
        down = float(f(x))
        flat[i] = saved
        gflat[i] = (up - down) / (2 * eps)
    return grad


def elementwise_derivative(f: Callable[[np.ndarray], np.ndarray], z: np.ndarray,
                           eps: float = 1e-6) -> np.ndarray:
    """f'(z) of an elementwise function by central differences (all elements at once)."""
    z = np.asarray(z, dtype=np.float64)
    return (np.asarray(f(z + eps)) - np.asarray(f(z - eps))) / (2 * eps)


def describe_gradient_error(got: np.ndarray, true: np.ndarray,
                            variants: Mapping[str, np.ndarray] | None = None,
                            rtol: float = GRAD_RTOL, atol: float = GRAD_ATOL) -> str | None:
    """How `got` differs from the `true` gradient, in words, or None if it matches.

    `variants` maps a description of a typical mistake (e.g. "is missing the
    sigmoid derivative of the hidden layer") to the gradient that mistake gives.
    """
    got, true = np.asarray(got, dtype=float), np.asarray(true, dtype=float)
    if got.shape != true.shape:
        return f"has shape {got.shape}, expected {true.shape}"
    if close(got, true, rtol, atol):
        return None
    if np.any(true != 0) and close(got, -true, rtol, atol):
        return "has the wrong sign"
    for description, variant in (variants or {}).items():
        if not close(variant, true, rtol, atol) and close(got, variant, rtol, atol):
            return description
    denominator = float(np.sum(true * true))
    if denominator > 0:
        factor = float(np.sum(got * true)) / denominator
        # a factor of ≈ 1 is no diagnosis: the values are close but not close enough
        if (abs(factor) > 1e-12 and abs(factor - 1) > 1e-3
                and close(got, factor * true, 1e-3, atol)):
            return f"is {_factor_words(factor)} the correct value"
    if at_float32_precision(got, true):
        return ("differs from the finite-difference gradient only at float32 precision: "
                "compute in float64")
    worst = float(np.max(np.abs(got - true)) / max(np.max(np.abs(true)), 1e-300))
    return (f"does not match the finite-difference gradient (largest difference "
            f"{worst:.2g} of its largest value)")


def _factor_words(factor: float) -> str:
    rounded = round(factor)
    if abs(factor - rounded) < 1e-3 * max(1.0, abs(factor)) and rounded not in (0, 1):
        return f"{rounded}×"
    inverse = 1 / factor
    if abs(inverse - round(inverse)) < 1e-3 * max(1.0, abs(inverse)) and round(inverse) > 1:
        return f"1/{round(inverse)} of"
    return f"about {factor:.3g}×"


def find_swaps(got: Mapping[str, np.ndarray], true: Mapping[str, np.ndarray],
               rtol: float = GRAD_RTOL, atol: float = GRAD_ATOL) -> dict[str, str]:
    """Names whose values were returned under each other's name: {a: b, b: a}."""
    swaps: dict[str, str] = {}
    names = [n for n in true if n in got]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if (np.shape(got[a]) == np.shape(true[b]) and np.shape(got[b]) == np.shape(true[a])
                    and not close(true[a], true[b], rtol, atol)
                    and close(got[a], true[b], rtol, atol) and close(got[b], true[a], rtol, atol)):
                swaps[a], swaps[b] = b, a
    return swaps


def diagnose_gradients(got: Mapping[str, np.ndarray], true: Mapping[str, np.ndarray],
                       variants: Mapping[str, Mapping[str, np.ndarray]] | None = None,
                       ) -> dict[str, str]:
    """Per-parameter diagnosis {name: words} of the wrong entries only.

    `variants[name]` lists typical mistakes for that parameter (see
    `describe_gradient_error`); swapped parameters are recognised across names.
    """
    swaps = find_swaps(got, true)
    problems: dict[str, str] = {}
    for name, expected in true.items():
        if name in swaps:
            problems[name] = f"looks swapped with the gradient of {swaps[name]}"
            continue
        words = describe_gradient_error(got[name], expected, (variants or {}).get(name))
        if words:
            problems[name] = words
    return problems


def gradient_feedback(problems: Mapping[str, str], label: Callable[[str], str] = str,
                      ) -> str:
    """One sentence per wrong parameter, e.g. "∂C/∂w5 has the wrong sign"."""
    return "; ".join(f"{label(name)} {words}" for name, words in problems.items())


def sizes_of(params: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[int]:
    """Layer sizes [n_in, n_hidden..., n_out] of a list of (W, b) pairs."""
    return [params[0][0].shape[1]] + [w.shape[0] for w, _ in params]


# the trusted model evaluation, part of the same toolbox (see plugins/model_scoring.py)
from plugins.model_scoring import *  # noqa: E402, F403
