"""A student who works in Jupyter, in the browser, graded for real by the site's workers:
download the starter as a notebook, upload a notebook through the form, see the grade and
the list of what was left out, read the graded code; an error in cell 7 says so."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from assignments.sigmoid import neurograde_register_assignments as sigmoid_plugin
from tests.browser.conftest import COURSE, login, shot
from tests.browser.test_pages_ui import audit, axe_source, views  # noqa: F401 (a fixture)
from tests.notebooks import notebook_bytes, student_notebook

pytestmark = [pytest.mark.browser, pytest.mark.sandbox, pytest.mark.slow]

ASSIGNMENT_URL = f"/courses/{COURSE}/assignments/sigmoid/"
NOTEBOOK, _ = student_notebook(sigmoid_plugin.assignment.reference_path.read_text(), "sigmoid")
CELL_SEVEN_BUG = notebook_bytes(
    ("markdown", "# The sigmoid neuron"), "%matplotlib inline\nimport numpy as np",
    "def sigmoid(z):\n    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))",
    ("markdown", "Its derivative"),
    "def sigmoid_prime(z):\n    return sigmoid(z) * (1 - sigmoid(z))",
    "print(sigmoid(0.0))", "def neuron(weights, bias, x):\n    return float(sigmoid(totl))")


def upload_notebook(page, data: bytes, name: str) -> None:
    page.goto(ASSIGNMENT_URL)
    page.set_input_files("input[name=file]", files=[{
        "name": name, "mimeType": "application/x-ipynb+json", "buffer": data}])
    page.click("#upload-form button[type=submit]")
    page.wait_for_url(re.compile(r"/submissions/\d+$"))
    page.wait_for_selector("#live[data-done=true]", timeout=60_000)


@pytest.fixture
def audited_page(browser, site):
    """A page of alice's; bypass_csp only so the audit can inject axe."""
    context = browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 900},
                                  bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    login(page, "alice")
    yield page
    context.close()


def test_a_notebook_through_the_form_is_graded_with_its_left_out_cells(
        audited_page, axe_source):  # noqa: F811 (the fixture imported above)
    page = audited_page
    page.goto(ASSIGNMENT_URL)
    with page.expect_download() as download:
        page.click("#starter-notebook-link")
    starter = nbformat.reads(Path(download.value.path()).read_text(), as_version=4)
    nbformat.validate(starter)
    assert download.value.suggested_filename == "sigmoid.ipynb"
    assert {c.cell_type for c in starter.cells} == {"markdown", "code"}

    upload_notebook(page, NOTEBOOK, "sigmoid-homework.ipynb")
    got, total = (float(x) for x in page.locator("#score").inner_text().split("/"))
    assert got == total > 0
    assert page.locator("#checks tr.check-fail").count() == 0
    left_out = page.locator("#left-out li").all_inner_texts()
    assert left_out[:3] == [
        "cell 2, lines 1–2: IPython magic (%matplotlib inline, %load_ext autoreload)",
        "cell 2, line 3: shell command (!pip install numpy)",
        "cell 3, lines 2–3: plotting or display library, not available to the grader "
        "(matplotlib.pyplot, tqdm)"]
    assert any(item.endswith(": cell magic (%%time)") for item in left_out)
    assert "sigmoid-homework.ipynb" in page.locator("#notebook-report").inner_text()
    views(page, "submission-notebook", shots=((1280, "light"), (390, "dark")))
    audit(page, "notebook submission", axe_source)

    page.locator("#notebook-report").get_by_role("link", name="the graded code").click()
    assert "made from the notebook" in page.locator("#from-notebook").inner_text()
    code = page.locator("#source").inner_text()
    assert "def neuron(" in code and "!pip" not in code and "plt.plot" not in code
    with page.expect_download() as original:
        page.click("#download-notebook")
    kept = json.loads(Path(original.value.path()).read_text())
    assert [c["source"] for c in kept["cells"]] == [
        c["source"] for c in json.loads(NOTEBOOK)["cells"]]
    shot(page, "source-notebook")


def test_an_error_in_cell_7_is_shown_at_cell_7(new_page):
    page = new_page("bob")
    upload_notebook(page, CELL_SEVEN_BUG, "buggy.ipynb")
    failed = page.locator("#checks tr.check-fail")
    assert failed.count() >= 1
    message = failed.first.inner_text()
    assert 'File "buggy.ipynb", cell 7, line 2, in neuron' in message
    assert "NameError" in message
    assert "cell 2, line 1: IPython magic (%matplotlib inline)" in \
        page.locator("#left-out").inner_text()
