"""Handouts per language through the public API: a plugin package's `handout.ru.md` is
found by the folder convention, `handout_for` picks it (or falls back to English), the
registry refuses what is not a translation, and `translation_differences` finds every
kind of drift between a translation and the English handout."""

from __future__ import annotations

import dataclasses
import importlib
import sys
from pathlib import Path

import pytest

from grader.scaffold import scaffold
from neurograde import (
    AssignmentDef,
    CheckDef,
    Handout,
    Outcome,
    handout_for,
    handout_languages,
    hookimpl,
)
from neurograde.testing import course_of, translation_differences
from plugins.manager import get_plugin_manager
from plugins.registry import build_registry

RUSSIAN = """# Линейный выпрямитель

Напишите `relu(z)`: выпрямленную линейную функцию, `max(0, z)` для каждого элемента
массива numpy `z` (любой формы). Верните массив той же формы.

```python
relu(np.array([-2.0, 0.0, 3.0]))   # array([0., 0., 3.])
```
"""


@pytest.fixture
def relu_package(tmp_path):
    """The scaffold's package with a Russian handout beside its English one, importable."""
    folder = scaffold("polyglot-relu", tmp_path, title="ReLU")
    (folder / "polyglot_relu" / "handout.ru.md").write_text(RUSSIAN, encoding="utf-8")
    (folder / "polyglot_relu" / "handout.RU.txt").write_text("not a handout", encoding="utf-8")
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("polyglot_relu")
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n.split(".")[0] == "polyglot_relu"]:
            del sys.modules[name]


def test_a_plugin_package_gets_its_russian_handout_through_the_public_api(relu_package):
    course = course_of(relu_package)  # the registry a server builds, with the built-ins
    definition = course.assignment("polyglot-relu")
    assert dict(definition.handouts) == {"ru": RUSSIAN}
    assert handout_for(definition, "ru") == Handout("ru", RUSSIAN)
    assert handout_for(definition, "ru-RU") == ("ru", RUSSIAN)  # a regional preference
    language, markdown = handout_for(definition, "zh")
    assert language == "en" and markdown == definition.handout and "Write `relu(z)`" in markdown
    assert handout_for(definition, None).language == "en"
    assert handout_languages(definition) == ("en", "ru")
    assert definition.handout_for("ru") == RUSSIAN  # the definition's own shortcut


def test_the_scaffold_says_how_to_translate_and_tests_its_translations(relu_package, tmp_path):
    readme = (tmp_path / "neurograde-polyglot-relu" / "README.md").read_text(encoding="utf-8")
    assert "handout.ru.md" in readme and "translation_differences" in readme
    test = (tmp_path / "neurograde-polyglot-relu" / "tests" / "test_polyglot_relu.py")
    namespace: dict = {}
    exec(compile(test.read_text(encoding="utf-8"), str(test), "exec"), namespace)
    check = namespace["test_translated_handouts_state_the_english_numbers_formulas_and_code"]
    check()  # the Russian handout above keeps the English numbers and code
    (tmp_path / "neurograde-polyglot-relu" / "polyglot_relu" / "handout.ru.md").write_text(
        RUSSIAN.replace("3.0", "4.0"), encoding="utf-8")
    importlib.reload(relu_package)
    namespace["polyglot_relu"] = relu_package
    with pytest.raises(AssertionError, match="ru"):
        check()


def _definition(**handouts: str) -> AssignmentDef:
    return AssignmentDef(slug="words", title="Words", handout="# English", starter="",
                         reference_path=Path(__file__), handouts=handouts,
                         checks=(CheckDef("passes", lambda ctx: Outcome(True)),))


@pytest.mark.parametrize("asked, expected", [
    ("zh", "zh"), ("zh-CN", "zh"), ("ZH_cn", "zh"), ("zh-Hant", "zh"), ("pt", "pt-BR"),
    ("pt-PT", "pt-BR"), ("pt_br", "pt-BR"), ("en", "en"), ("en-GB", "en"), ("de", "en"),
    ("", "en"), (None, "en"),
])
def test_handout_for_matches_codes_case_blind_and_falls_back_to_the_language(asked, expected):
    definition = _definition(**{"zh": "# 中文", "pt-BR": "# Português"})
    language, markdown = handout_for(definition, asked)
    assert language == expected
    assert markdown == ({"en": "# English"} | dict(definition.handouts))[expected]


@pytest.mark.parametrize("handouts, problem", [
    ({"en": "# English again"}, "'en' is not a translation"),
    ({"en-US": "# English again"}, "'en' is not a translation"),
    ({"RU": "# Русский"}, "'RU' is not a language code"),
    ({"russian": "# Русский"}, "'russian' is not a language code"),
    ({"r": "# ?"}, "'r' is not a language code"),
    ({"ru": b"bytes"}, "handouts must map language codes to Markdown text"),
])
def test_the_registry_refuses_what_is_not_a_translation(handouts, problem):
    definition = dataclasses.replace(_definition(), handouts=handouts)

    class Plugin:
        @hookimpl
        def neurograde_register_assignments(self):
            return [definition]

    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(Plugin(), name="translations")
    registry = build_registry(pm)
    assert "words" not in registry.assignments
    assert problem in registry.errors["translations"]
    assert "has no checks" not in registry.errors["translations"]


ENGLISH = """# Title

Train on 60,000 images for 2 epochs: accuracy **95 %** from η = 3.0, $\\sigma(z)$ and `f(x, 1)`.

| check | points |
|---|---|
| a | 2 |

* first
* second

    for each step: w ← w − 0.1 · g
"""


def test_a_faithful_translation_differs_in_nothing():
    russian = ENGLISH.replace("60,000", "60\u00a0000").replace("Title", "Заголовок").replace(
        "Train on", "Обучите на").replace("images for", "изображениях за").replace(
        "epochs", "эпохи").replace("first", "первое")
    assert translation_differences(ENGLISH, russian) == []
    assert translation_differences(ENGLISH, ENGLISH.replace("60,000", "60000")) == []


@pytest.mark.parametrize("change, found", [
    (("95 %", "96 %"), "numbers missing from the translation: '95'"),
    (("95 %", "95 % (95 %)"), "numbers only in the translation: '95'"),
    (("for 2 epochs", "for two epochs"), "numbers missing from the translation: '2'"),
    (("$\\sigma(z)$", "$\\sigma(x)$"), "formulas missing from the translation: '\\\\sigma(z)'"),
    (("`f(x, 1)`", "`f(x, 2)`"), "code spans missing from the translation: 'f(x, 1)'"),
    (("w − 0.1", "w - 0.1"), "code block 1 differs"),
    (("    for each step", "    для каждого шага"), "code block 1 differs"),
    (("| a | 2 |\n", ""), "outline differs"),
    (("* second\n", ""), "outline differs"),
    (("# Title", "## Title"), "outline differs"),
])
def test_each_kind_of_drift_is_reported(change, found):
    problems = translation_differences(ENGLISH, ENGLISH.replace(*change))
    assert any(p.startswith(found) for p in problems), problems


def test_a_minus_sign_and_a_thousands_separator_are_told_apart():
    english = "The gradient is [−0.5, 0, 0, −0.5] on 10,000 images (784-100-10)."
    assert translation_differences(english, english.replace("−0.5]", "0.5]")) == [
        "numbers missing from the translation: '-0.5'",
        "numbers only in the translation: '0.5'"]
    # "10,000" is one number, and "784-100-10" holds no negative ones
    assert translation_differences(english, english.replace("10,000", "10 000")) != []
    assert translation_differences(english, english.replace("10,000", "10\u202f000")) == []
    assert translation_differences(english, english.replace("784-100-10", "784 → 100 → 10")) == []
