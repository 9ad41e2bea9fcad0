"""Notebooks graded for real (engine, sandbox, built-in assignments): a student's notebook
of each core assignment's reference gets full marks with its left-out cells listed, and
errors name the notebook's cell and line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from grader.config import dataset_cache_dir
from grader.engine import grade_submission
from grader.notebook import Conversion, load
from grader.result import GradingResult
from plugins import RubricDef
from plugins.datasets import DatasetStore
from plugins.manager import get_plugin_manager
from plugins.registry import build_registry
from tests.notebooks import notebook_bytes, student_notebook

pytestmark = pytest.mark.sandbox

REGISTRY = build_registry(get_plugin_manager(load_entrypoints=False))
SIGMOID_REFERENCE = REGISTRY.assignment("sigmoid").reference_path.read_text()


@pytest.fixture(scope="module")
def store():
    return DatasetStore(REGISTRY.datasets, dataset_cache_dir())


def grade(data: bytes, slug: str, store, rubric: RubricDef | None = None,
          name: str = "homework.ipynb") -> tuple[GradingResult, Conversion]:
    assignment = REGISTRY.assignment(slug)
    _, conversion = load(data, name, max_kb=assignment.limits.max_source_kb)
    result = grade_submission(conversion.source, assignment,
                              rubric=rubric or REGISTRY.rubric_for(slug), datasets=store,
                              seed=5, notebook=conversion)
    return result, conversion


def assert_full_marks_with_left_out_cells(result: GradingResult, conversion: Conversion,
                                          names: list[str]) -> None:
    assert result.status == "graded", result.message
    assert result.score == result.max_score > 0, [c.message for c in result.checks
                                                  if not c.passed]
    for name in names:  # every definition of the reference reached the graded module
        assert f"\ndef {name}(" in conversion.source or f"\n{name} = " in conversion.source
    assert result.notebook == conversion.report()
    summaries = [e["summary"] for e in result.notebook["left_out"]]
    assert summaries[:3] == ["cell 2, lines 1–2: IPython magic (%matplotlib inline, "
                             "%load_ext autoreload)",
                             "cell 2, line 3: shell command (!pip install numpy)",
                             "cell 3, lines 2–3: plotting or display library, not available "
                             "to the grader (matplotlib.pyplot, tqdm)"]
    assert any("top-level code (a call to print)" in s for s in summaries)
    plot, magic, run = (e for e in result.notebook["left_out"][-3:])
    assert plot["kind"] == "plot" and "ax.plot" in plot["reason"] and not plot["whole"]
    assert magic["summary"].endswith(": cell magic (%%time)") and magic["whole"]
    # the last cell, the training run (mse-loss's keeps `history = []`: a constant)
    assert run["kind"] == "top_level" and run["cell"] == magic["cell"] + 1


@pytest.mark.parametrize("slug", ["sigmoid", "mse-loss", "backprop-2-2-1"])
def test_a_students_notebook_of_the_reference_gets_full_marks(slug, store):
    data, names = student_notebook(REGISTRY.assignment(slug).reference_path.read_text(), slug)
    result, conversion = grade(data, slug, store)
    assert_full_marks_with_left_out_cells(result, conversion, names)
    assert "train" not in result.stdout  # the training run at the top level never ran


def test_mnist_notebook_mechanics_on_the_digits(store):
    """The mnist notebook, graded on the small digits set (fast): full marks."""
    data, names = student_notebook(REGISTRY.assignment("mnist").reference_path.read_text(),
                                   "mnist")
    rubric = RubricDef(name="mnist-digits", assignment="mnist",
                       params={"dataset": "digits", "full_credit_accuracy": 0.85,
                               "zero_credit_accuracy": 0.5, "split_seed": 7})
    result, conversion = grade(data, "mnist", store, rubric)
    assert_full_marks_with_left_out_cells(result, conversion, names)
    assert "SCHEDULE = (3.0,) * 7 + (1.0,) * 2 + (0.3,)" in conversion.source


@pytest.mark.slow
def test_mnist_notebook_gets_full_marks_on_mnist(store):
    if not store.is_cached("mnist"):
        pytest.skip("MNIST is not prepared: run `neurograde datasets prepare` first")
    data, names = student_notebook(REGISTRY.assignment("mnist").reference_path.read_text(),
                                   "mnist")
    result, conversion = grade(data, "mnist", store)
    assert_full_marks_with_left_out_cells(result, conversion, names)
    assert result.metrics["accuracy"] >= 0.95


def sigmoid_notebook(cell_seven: str) -> bytes:
    """Cells 1–6 define sigmoid and sigmoid_prime, cell 7 is given (neuron)."""
    return notebook_bytes(
        ("markdown", "# The sigmoid neuron"),
        "%matplotlib inline\nimport numpy as np\nimport matplotlib.pyplot as plt",
        "def sigmoid(z):\n    z = np.asarray(z, dtype=float)\n"
        "    out = 0.5 * (1.0 + np.tanh(0.5 * z))\n    return float(out) if out.ndim == 0 else out",
        ("markdown", "The derivative:"),
        "def sigmoid_prime(z):\n    s = sigmoid(z)\n    return s * (1 - s)",
        "plt.plot(np.linspace(-5, 5), sigmoid(np.linspace(-5, 5)))",
        cell_seven,
    )


def test_a_name_error_raised_by_a_function_of_cell_7_names_cell_7(store):
    data = sigmoid_notebook("!pip install numpy\ndef neuron(weights, bias, x):\n"
                            "    total = np.dot(weights, x) + bias\n"
                            "    return float(sigmoid(totl))")
    result, _ = grade(data, "sigmoid", store)
    assert result.status == "graded"
    failed = {c.name: c.message for c in result.checks if not c.passed}
    assert failed and all("neuron" in name for name in failed)
    message = failed["neuron example"]
    assert "raised NameError: name 'totl' is not defined" in message
    assert 'File "homework.ipynb", cell 7, line 4, in neuron' in message
    assert "solution.py" not in message


def test_a_syntax_error_in_cell_7_names_cell_7(store):
    data = sigmoid_notebook("def neuron(weights, bias, x):\n"
                            "    total = np.dot(weights, x) + bias\n"
                            "    return float(sigmoid(total)))")
    result, _ = grade(data, "sigmoid", store)
    assert result.status == "compile_error"
    assert result.message.startswith("SyntaxError: unmatched ')' (cell 7, line 3, column ")
    assert result.notebook["left_out"][0]["summary"] == \
        "cell 2, line 1: IPython magic (%matplotlib inline)"


def test_an_error_on_import_and_a_forbidden_import_name_their_cells(store):
    broken = sigmoid_notebook("RATE = 1 / 0\ndef neuron(w, b, x):\n    return 0.5")
    result, _ = grade(broken, "sigmoid", store)
    assert result.status == "import_error"
    assert 'File "homework.ipynb", cell 7, line 1, in <module>' in result.message
    assert "ZeroDivisionError" in result.message and "tag a cell `skip`" in result.message

    forbidden = sigmoid_notebook("import pandas as pd\ndef neuron(w, b, x):\n    return 0.5")
    result, _ = grade(forbidden, "sigmoid", store)
    assert result.status == "forbidden_import"
    assert result.message.startswith("cell 7, line 1: `pandas` may not be used")


def test_the_command_line_grades_and_checks_a_notebook(tmp_path):
    from server.cli import main

    data, _ = student_notebook(SIGMOID_REFERENCE, "sigmoid")
    path = tmp_path / "sigmoid.ipynb"
    path.write_bytes(data)
    checked = CliRunner().invoke(main, ["check", str(path), "--assignment", "sigmoid"])
    assert checked.exit_code == 0, checked.output
    assert "From the notebook sigmoid.ipynb, not graded:" in checked.output
    assert "cell 2, line 3: shell command (!pip install numpy)" in checked.output
    graded = CliRunner().invoke(main, ["grade", str(path), "--assignment", "sigmoid",
                                       "--json"])
    body = json.loads(graded.output)
    assert body["score"] == body["max_score"] > 0 and body["notebook"]["left_out"]

    path.write_bytes(b"not a notebook")
    refused = CliRunner().invoke(main, ["check", str(path), "--assignment", "sigmoid"])
    assert refused.exit_code == 2 and "not valid JSON" in refused.output
