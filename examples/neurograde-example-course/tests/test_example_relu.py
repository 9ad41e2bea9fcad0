"""The example assignment grades its reference and its known-bad cases as declared."""

import neurograde_example_course
import pytest

SLUG = "example-relu"


def test_reference_passes_every_check_in_process(neurograde_course):
    outcomes = neurograde_course(neurograde_example_course).grade_in_process(SLUG, "reference")
    assert outcomes and all(o.passed for o in outcomes.values()), outcomes


def test_absolute_value_fails_the_relu_checks_in_process(neurograde_course):
    outcomes = neurograde_course(neurograde_example_course).grade_in_process(
        SLUG, "absolute_value")
    assert sorted(n for n, o in outcomes.items() if not o.passed) == ["relu-hidden",
                                                                     "relu-visible"]


@pytest.mark.sandbox
def test_reference_and_cases_get_their_outcomes_in_the_sandbox(neurograde_course):
    assert neurograde_course(neurograde_example_course).verify(SLUG) == []
