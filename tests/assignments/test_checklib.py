"""The trusted check helpers: finite differences, comparisons and gradient diagnosis."""

from __future__ import annotations

import numpy as np
import pytest

from plugins import Outcome, StudentCallError
from plugins.checklib import (
    as_array,
    as_float,
    central_difference,
    describe_gradient_error,
    diagnose_gradients,
    elementwise_derivative,
    find_swaps,
    mismatch,
    student_check,
    threshold_credit,
)


def test_central_difference_matches_an_analytic_gradient():
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    grad = central_difference(lambda v: float(np.sum(np.sin(v) * v)), x)
    np.testing.assert_allclose(grad, np.cos(x) * x + np.sin(x), rtol=1e-7)
    assert x.tolist() == [[0.3, -1.2], [2.0, 0.5]]  # input left untouched


def test_elementwise_derivative_of_tanh():
    z = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(elementwise_derivative(np.tanh, z), 1 - np.tanh(z) ** 2,
                               rtol=1e-7)


def test_hidden_mismatch_never_shows_the_expected_value():
    message = mismatch("loss", 0.25, 0.123456)
    assert message is not None and "0.123456" not in message and "0.25" in message
    visible = mismatch("loss", 0.25, 0.123456, show_expected=True)
    assert "0.123456" in visible
    assert mismatch("loss", 0.5, 0.5 + 1e-12) is None
    assert "shape" in mismatch("a", np.zeros(3), np.zeros((3, 1)))


def test_conversions_explain_what_is_wrong():
    with pytest.raises(StudentCallError, match="row vs column"):
        as_array(np.zeros((1, 3)), "W", shape=(3, 1))
    with pytest.raises(StudentCallError, match="nan or inf"):
        as_array([1.0, np.nan], "grad")
    with pytest.raises(StudentCallError, match="single number"):
        as_float([1.0, 2.0], "loss")
    with pytest.raises(StudentCallError, match="numpy array of numbers"):
        as_array("abc", "x")
    assert as_float(np.array([2.5]), "loss") == 2.5


@pytest.mark.parametrize("got_factor, words", [
    (1.0, None), (-1.0, "wrong sign"), (3.0, "3×"), (0.5, "1/2 of"), (1.7, "about 1.7×"),
])
def test_gradient_error_words(got_factor, words):
    true = np.array([0.4, -1.3, 2.2])
    result = describe_gradient_error(true * got_factor, true)
    assert result is None if words is None else words in result


def test_a_named_variant_wins_over_a_generic_description():
    true = np.array([0.4, -1.3, 2.2])
    variant = true / np.array([0.2, 0.25, 0.1])
    assert describe_gradient_error(variant, true, {"misses σ′": variant}) == "misses σ′"


def test_swapped_parameters_are_recognised():
    true = {"w1": np.array([1.0, 2.0]), "w2": np.array([-3.0, 0.5]), "b": np.array([0.1, 0.2])}
    got = {"w1": true["w2"], "w2": true["w1"], "b": -true["b"]}
    assert find_swaps(got, true) == {"w1": "w2", "w2": "w1"}
    problems = diagnose_gradients(got, true)
    assert problems["w1"] == "looks swapped with the gradient of w2"
    assert problems["b"] == "has the wrong sign"


def test_student_check_turns_call_errors_into_failed_outcomes():
    @student_check
    def run(ctx):
        raise StudentCallError("sigmoid() is missing")

    outcome = run(None)
    assert isinstance(outcome, Outcome) and not outcome.passed
    assert outcome.message == "sigmoid() is missing"


def test_threshold_credit_is_linear_between_thresholds_and_all_or_nothing_when_equal():
    assert threshold_credit(0.925, full=0.95, zero=0.90) == pytest.approx(0.5)
    assert threshold_credit(0.99, full=0.95, zero=0.90) == 1.0
    assert threshold_credit(0.80, full=0.95, zero=0.90) == 0.0
    # a falling score (error rate) scored through its negation, as mnist-binary does
    assert threshold_credit(-0.0065, full=-0.003, zero=-0.01) == pytest.approx(0.5)
    assert threshold_credit(0.97, full=0.97, zero=0.97) == 1.0
    assert threshold_credit(0.9699, full=0.97, zero=0.97) == 0.0
