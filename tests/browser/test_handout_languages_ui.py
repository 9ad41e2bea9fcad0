"""A browser whose language is Russian (or Chinese) opens an assignment and reads its
handout in that language, formulas typeset, at a phone's width and a desktop's; the
link to English switches the handout. Screenshot: docs/screenshots/assignment-ru.png."""

from __future__ import annotations

import pytest

from tests.browser.conftest import COURSE, login, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIGMOID = f"/courses/{COURSE}/assignments/sigmoid/"


@pytest.fixture
def page_in(browser, site):
    contexts = []

    def make(locale: str):
        context = browser.new_context(base_url=site.url, locale=locale,
                                      viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        login(page, "alice")
        return page

    yield make
    for context in contexts:
        context.close()


def test_a_russian_browser_reads_the_russian_handout_and_can_switch(page_in):
    page = page_in("ru-RU")
    page.goto(SIGMOID)
    assert page.locator("main > h1").inner_text() == "Сигмоидный нейрон"
    handout = page.locator("#handout")
    assert handout.get_attribute("lang") == "ru"
    assert "Нейронная сеть состоит из" in handout.inner_text()
    assert page.locator("#handout math").count() >= 5
    assert not page.locator("#handout-note").count()
    assert not page.locator(".handout h1").first.is_visible()  # one visible title
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, "assignment-ru")
    page.locator("#handout-languages a", has_text="English").click()
    page.wait_for_load_state()
    assert page.url.endswith("?handout=en")
    assert "A neural network is built from" in page.locator("#handout").inner_text()
    assert page.locator("main > h1").inner_text() == "The sigmoid neuron"


def test_a_chinese_browser_reads_the_chinese_handout(page_in):
    page = page_in("zh-CN")
    page.goto(SIGMOID)
    assert "神经网络由" in page.locator("#handout").inner_text()
    assert page.locator("#handout math").count() >= 5
    links = page.locator("#handout-languages a").all_inner_texts()
    assert links == ["English", "Русский"]
