"""The static phase: size, encoding, compile errors with position, forbidden imports."""

from __future__ import annotations

import pytest

from grader.static import check_source
from plugins.types import ML_FRAMEWORKS


def problem(source, max_kb=256, forbidden=ML_FRAMEWORKS):
    return check_source(source, max_kb=max_kb, forbidden=forbidden)[1]


def test_clean_source_passes_and_is_decoded():
    text, found = check_source(b"import numpy as np\nx = 1\n", max_kb=1, forbidden=ML_FRAMEWORKS)
    assert found is None and text.startswith("import numpy")


def test_syntax_error_names_line_column_and_shows_a_caret():
    found = problem("x = 1\ndef f(:\n    pass\n")
    assert found.status == "compile_error" and found.line == 2
    assert "SyntaxError" in found.message and "line 2, column 7" in found.message
    lines = found.message.splitlines()
    assert lines[1].strip() == "def f(:" and lines[2].index("^") == lines[1].index("(") + 1


def test_indentation_errors_are_compile_errors():
    found = problem("def f():\nreturn 1\n")
    assert found.status == "compile_error" and "IndentationError" in found.message


def test_oversized_and_non_utf8_and_null_bytes():
    assert "limit is 1 KiB" in problem("x = 1\n" * 400, max_kb=1).message
    bad = problem(b"x = 1\ny = '\xff'\n")
    assert bad.status == "compile_error" and "line 2" in bad.message and "UTF-8" in bad.message
    assert "null byte" in problem("x = 1\0\n").message


def test_deeply_nested_source_is_a_compile_error_not_a_crash():
    found = problem("x = " + "(" * 5000 + ")" * 5000 + "\n")
    assert found.status == "compile_error"


@pytest.mark.parametrize("source, name", [
    ("import sklearn", "sklearn"),
    ("from sklearn.linear_model import LogisticRegression", "sklearn"),
    ("import numpy, torch.nn as nn", "torch"),
    ("def f():\n    import tensorflow\n", "tensorflow"),
    ("m = __import__('jax')", "jax"),
    ("import importlib\nm = importlib.import_module('keras.layers')", "keras"),
])
def test_forbidden_imports_are_named_with_their_line(source, name):
    found = problem(source)
    assert found.status == "forbidden_import" and f"`{name}`" in found.message
    assert f"line {found.line}" in found.message


def test_allowed_imports_and_relative_imports_pass():
    assert problem("import numpy as np\nimport math\nfrom . import sklearn\n") is None
    assert problem("import sklearn", forbidden=()) is None
