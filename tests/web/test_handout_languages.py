"""The assignment page shows the handout in the reader's language: Russian for a browser
that prefers Russian, Chinese for Chinese, English otherwise; English with a note when
the assignment has no translation; links to the other languages, which the reader may
pick; the starter download is the same whatever the language."""

from __future__ import annotations

import re

import pytest

from tests.web.toy import toy_pm

SIGMOID = "/courses/c1/assignments/sigmoid/"
TOY = "/courses/c1/assignments/toy/"
RUSSIAN_TITLE, CHINESE_TITLE = "Сигмоидный нейрон", "Sigmoid 神经元"
ENGLISH_TEXT, RUSSIAN_TEXT = "A neural network is built from", "Нейронная сеть состоит из"
CHINESE_TEXT = "神经网络由"
NOTE = "Not available in"


@pytest.fixture
def pm():
    return toy_pm()  # the toy (English only) and the built-in course


@pytest.fixture
def reader(client, auth, toy_classroom, make_course_assignment):
    make_course_assignment(course=toy_classroom.course, assignment_slug="sigmoid")
    auth.login(toy_classroom.alice)

    def page(path: str, language: str | None = None) -> str:
        headers = {"Accept-Language": language} if language else {}
        response = client.get(path, headers=headers)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    return page


def _handout(page: str) -> str:
    return page[page.index('id="handout"'):page.index('id="submit"')]


def _language_links(page: str) -> dict[str, str]:
    found = re.findall(r'<a href="([^"]+)" hreflang="([^"]+)" lang="[^"]+">([^<]+)</a>', page)
    return {code: f"{name} {href}" for href, code, name in found}


def test_the_page_says_it_varies_with_the_browser_language(client, reader):
    assert "Accept-Language" in client.get(SIGMOID, headers={"Accept-Language": "ru"}).vary


@pytest.mark.parametrize("accept", ["ru", "ru-RU,ru;q=0.9,en;q=0.8", "fr, ru;q=0.5"])
def test_a_russian_reader_gets_the_russian_handout(reader, accept):
    page = reader(SIGMOID, accept)
    handout = _handout(page)
    assert 'lang="ru"' in handout and RUSSIAN_TEXT in handout and ENGLISH_TEXT not in handout
    assert f'<h1 lang="ru">{RUSSIAN_TITLE}</h1>' in page  # the translation's own title
    assert "<math" in handout and "0.9990889488055994" in handout
    assert NOTE not in page
    links = _language_links(page)
    assert set(links) == {"en", "zh"}
    assert links["en"].startswith("English ") and links["en"].endswith(f"{SIGMOID}?handout=en")
    assert links["zh"].startswith("中文 ")


@pytest.mark.parametrize("accept", [None, "en-US,en;q=0.5", "de-DE, de", "*"])
def test_everyone_else_gets_the_english_handout_and_no_note(reader, accept):
    page = reader(SIGMOID, accept)
    handout = _handout(page)
    assert 'lang="en"' in handout and ENGLISH_TEXT in handout and RUSSIAN_TEXT not in handout
    assert "<h1>The sigmoid neuron</h1>" in page
    assert NOTE not in page
    assert set(_language_links(page)) == {"ru", "zh"}


def test_a_chinese_reader_gets_the_chinese_handout(reader):
    page = reader(SIGMOID, "zh-CN,zh;q=0.9")
    assert CHINESE_TEXT in _handout(page) and f'<h1 lang="zh">{CHINESE_TITLE}</h1>' in page
    assert set(_language_links(page)) == {"en", "ru"}


def test_an_untranslated_handout_is_shown_in_english_with_a_note(reader):
    page = reader(TOY, "ru")
    assert "<h1>Toy doubling</h1>" in page and "Write <code>double(x)</code>" in _handout(page)
    note = re.search(r'<span id="handout-note">(.*?)</span> ', page, re.S)
    assert note and "Not available in <span lang=\"ru\">Русский</span>: shown in English." \
        in note.group(0)
    assert _language_links(page) == {}  # nothing else to read it in
    assert 'id="handout-languages"' not in reader(TOY, "en")  # nothing to say in English


def test_the_reader_may_pick_another_language_of_the_handout(reader):
    assert RUSSIAN_TEXT in _handout(reader(f"{SIGMOID}?handout=ru", "en"))
    assert CHINESE_TEXT in _handout(reader(f"{SIGMOID}?handout=zh", "ru"))
    english = reader(f"{SIGMOID}?handout=en", "ru")
    assert ENGLISH_TEXT in _handout(english) and NOTE not in english
    assert set(_language_links(english)) == {"ru", "zh"}
    # a language it is not available in: English, with the note
    missing = reader(f"{SIGMOID}?handout=de", "ru")
    assert ENGLISH_TEXT in _handout(missing) and f"{NOTE} <span lang=\"de\">de</span>" in missing
    # not a language code at all: the reader's own language, and nothing of it echoed
    odd = reader(f"{SIGMOID}?handout=%3Cscript%3E", "ru")
    assert RUSSIAN_TEXT in _handout(odd) and "<script>" not in odd and NOTE not in odd


def test_the_starter_is_the_same_code_in_every_language(client, reader):
    downloads = {language: client.get(f"{SIGMOID}starter.py",
                                      headers={"Accept-Language": language}).get_data()
                 for language in ("en", "ru", "zh")}
    assert downloads["ru"] == downloads["zh"] == downloads["en"]
    assert b"def sigmoid(z)" in downloads["en"]
