"""The course page lists the whole built-in course in teaching order, and the handouts of
the rest of the course render as HTML pages a student can read."""

from __future__ import annotations

import pytest

from tests.assignments.test_course_extra import TEACHING_ORDER


@pytest.fixture
def classroom(state, make_course, make_course_assignment, make_user):
    course = make_course(slug="nn101", title="Neural nets")
    # enabled in reverse, so only the teaching order can put them right
    for slug in reversed(TEACHING_ORDER):
        make_course_assignment(course=course, assignment_slug=slug)
    return make_user(username="stu", course=course)


def test_course_page_lists_the_course_in_teaching_order(client, auth, state, classroom):
    auth.login(classroom)
    page = client.get("/courses/nn101/").get_data(as_text=True)
    titles = [state.registry.assignment(slug).title for slug in TEACHING_ORDER]
    positions = [page.find(title) for title in titles]
    assert -1 not in positions, dict(zip(TEACHING_ORDER, positions, strict=True))
    assert positions == sorted(positions)


@pytest.mark.parametrize("slug, text", [
    ("gradient-descent", "2.2499646074278457"), ("xor", "0.9933011102192376"),
    ("digits", "0.7216325609518421"), ("minibatch", "⌈m / batch_size⌉"),
    ("mnist-binary", "12,665"),
])
def test_handout_renders_as_html(client, auth, classroom, slug, text):
    auth.login(classroom)
    response = client.get(f"/courses/nn101/assignments/{slug}/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    # the handout's tables are keyboard-reachable (they may scroll sideways on a phone)
    assert text in page and '<table tabindex="0">' in page and "<h2" in page
