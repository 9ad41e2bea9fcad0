"""The Russian and Chinese handouts of the built-in course state exactly what the English
ones do: every number, formula, code span and code block, the outline, and every check
by the name the result page gives it; and they are written in their language."""

from __future__ import annotations

import re

import pytest

from neurograde import handout_for, handout_languages
from neurograde.testing import translation_differences
from plugins.registry import build_registry
from plugins.translations import handout_facts
from server.blueprints import render_markdown

TRANSLATED = ("sigmoid", "mse-loss", "backprop-2-2-1", "mnist")
LANGUAGES = ("ru", "zh")
# the letters each language is written in (code, formulas and names aside)
SCRIPT = {"ru": re.compile(r"[а-яё]", re.I), "zh": re.compile(r"[\u4e00-\u9fff]")}
LATIN = re.compile(r"[a-z]", re.I)
#: native letters per Latin letter of the English prose, at least
MIN_NATIVE_SHARE = {"ru": 0.8, "zh": 0.25}


@pytest.fixture(scope="module")
def registry():
    from plugins.manager import get_plugin_manager

    return build_registry(get_plugin_manager(load_entrypoints=False))


def _cases():
    return [(slug, language) for slug in TRANSLATED for language in LANGUAGES]


@pytest.mark.parametrize("slug", TRANSLATED)
def test_the_first_four_assignments_read_in_english_russian_and_chinese(registry, slug):
    assignment = registry.assignment(slug)
    assert handout_languages(assignment) == ("en", "ru", "zh")
    for language in LANGUAGES:
        chosen, markdown = handout_for(assignment, language)
        assert chosen == language and markdown != assignment.handout


@pytest.mark.parametrize("slug, language", _cases())
def test_translation_states_the_english_numbers_formulas_code_and_outline(registry, slug,
                                                                          language):
    assignment = registry.assignment(slug)
    assert translation_differences(assignment.handout, assignment.handouts[language]) == []
    # not vacuous: the comparison sees the facts that are graded
    facts = handout_facts(assignment.handouts[language])
    assert sum(facts.numbers.values()) > 20 and facts.formulas and facts.outline


@pytest.mark.parametrize("slug, language", _cases())
def test_translation_names_every_check_as_the_result_page_does(registry, slug, language):
    assignment = registry.assignment(slug)
    handout = assignment.handouts[language]
    for check in assignment.checks:
        if not check.name.startswith("gradient check: ") or slug == "mse-loss":
            assert check.name in handout, f"{slug}/{language} does not name {check.name!r}"
    if slug == "backprop-2-2-1":  # its nine gradient checks are one row
        assert "gradient check: w1 … gradient check: b3" in handout


@pytest.mark.parametrize("slug, language", _cases())
def test_translation_is_written_in_its_language(registry, slug, language):
    assignment = registry.assignment(slug)
    english = len(LATIN.findall(assignment_prose(assignment.handout)))
    handout = assignment_prose(assignment.handouts[language])
    native, latin = len(SCRIPT[language].findall(handout)), len(LATIN.findall(handout))
    # what stays Latin is check names and library names; a Chinese character says as much
    # as three or four Latin letters
    assert latin < 0.3 * english, f"{slug}/{language}: {latin} of {english} letters Latin"
    assert native > MIN_NATIVE_SHARE[language] * english, f"{slug}/{language}: {native}"


@pytest.mark.parametrize("slug, language", _cases())
def test_translation_typesets_like_the_english_handout(registry, slug, language):
    assignment = registry.assignment(slug)
    english = str(render_markdown(assignment.handout))
    translated = str(render_markdown(assignment.handouts[language]))
    assert "math-source" not in translated
    for tag in ("<math", "<table", "<tr", "<pre", "<code", "<li", "<h2"):
        assert translated.count(tag) == english.count(tag), tag


def assignment_prose(markdown: str) -> str:
    """`markdown` without code, formulas and the identifiers in tables and text."""
    text = re.sub(r"^    [^\n]*$|```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$", " ", markdown,
                  flags=re.S | re.M)
    return re.sub(r"\b[\w.]*[_\d][\w.]*\b", " ", text, flags=re.A)  # x_train, w1, float64
