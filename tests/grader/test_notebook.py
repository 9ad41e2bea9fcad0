"""The notebook rule (grader.notebook): what of a notebook is graded, the report of what
is left out and why, the line map back to cells, and the validation of uploads."""

from __future__ import annotations

import ast
import json

import nbformat
import pytest

from grader.notebook import (
    RAW_LIMIT_KB,
    Conversion,
    NotebookError,
    convert,
    load,
    notebook_json,
    read_notebook,
)
from grader.static import check_source
from plugins.types import ML_FRAMEWORKS
from tests.notebooks import notebook_bytes


def converted(*cells, name: str = "hw.ipynb") -> Conversion:
    return load(notebook_bytes(*cells), name, max_kb=256)[1]


def summaries(conversion: Conversion) -> list[str]:
    return [entry.summary for entry in conversion.left_out]


def module_statements(conversion: Conversion) -> list[str]:
    """The graded module's top-level statements, as source."""
    return [ast.unparse(s) for s in ast.parse(conversion.source).body]


def test_the_rule_on_a_students_notebook():
    conversion = converted(
        ("markdown", "# Sigmoid"),
        "%matplotlib inline\n!pip install numpy\nimport numpy as np\n"
        "import matplotlib.pyplot as plt",
        "# the activation\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n\nprint(sigmoid(0))",
        "EPS = 1e-8\nSIZES = (784, 100) + (10,)\nLR = EPS * 10\nW = np.zeros(3)",
        "zs = np.linspace(-5, 5)\nplt.plot(zs, sigmoid(zs))\nplt.show()",
        "losses = train(3)\nfor epoch in range(3):\n    print(epoch)\nlosses",
    )
    assert module_statements(conversion) == [
        "import numpy as np", "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))",
        "EPS = 1e-08", "SIZES = (784, 100) + (10,)", "LR = EPS * 10"]
    assert "# the activation\ndef sigmoid(z):" in conversion.source  # its comment too
    assert summaries(conversion) == [
        "cell 2, line 1: IPython magic (%matplotlib inline)",
        "cell 2, line 2: shell command (!pip install numpy)",
        "cell 2, line 4: plotting or display library, not available to the grader "
        "(matplotlib.pyplot)",
        "cell 3, line 5: top-level code (a call to print)",
        "cell 4, line 4: top-level code (an assignment from a call to np.zeros)",
        "cell 5, line 1: top-level code (an assignment from a call to np.linspace)",
        "cell 5, lines 2–3: plotting (plt.plot, plt.show)",
        "cell 6: top-level code (an assignment from a call to train, a for loop, an "
        "expression shown as the cell's output)",
    ]
    assert conversion.cells == 5


def test_the_line_map_leads_back_to_cells_and_lines():
    conversion = converted("import numpy as np", ("markdown", "text"),
                           "!pip install numpy\n\ndef f(x):\n    return x + 1\nf(2)")
    module = conversion.source.splitlines()
    line = module.index("    return x + 1") + 1
    assert conversion.where(line) == "cell 3, line 4"
    assert conversion.cell_line(line) == (3, 4)
    assert conversion.where(1).startswith("line 1")  # the header comes from no cell
    trace = f'File "solution.py", line {line}, in f\nsolution.py does not define g'
    assert conversion.rewrite(trace) == 'File "hw.ipynb", cell 3, line 4, in f\n' \
                                        "hw.ipynb does not define g"


def test_constants_only_from_literals_and_names_the_kept_code_defines():
    conversion = converted(
        "import numpy as np\nN = 3\nSHAPE = (N, 2 * N)\nPI = np.pi\nSCALE = -N ** 2 if N else 0"
        "\nACT = lambda z: np.tanh(z)\nNAME = f'net{N}'\nFIRST = SHAPE[0]\nN += 1",
        "x = y\nlosses = []\nlosses.append(1)\nbest = max(losses)\nsquares = [i * i for i in "
        "range(3)]\nconfig = {}\nconfig['lr'] = 0.1\nself_x: int\nwalrus = (n := 3)",
    )
    assert module_statements(conversion) == [
        "import numpy as np", "N = 3", "SHAPE = (N, 2 * N)", "PI = np.pi",
        "SCALE = -N ** 2 if N else 0", "ACT = lambda z: np.tanh(z)", "NAME = f'net{N}'",
        "FIRST = SHAPE[0]", "N += 1", "losses = []", "config = {}", "self_x: int"]
    assert summaries(conversion) == [
        "cell 2, line 1: top-level code (an assignment from `y`, which the graded code does "
        "not define)",
        "cell 2, lines 3–5: top-level code (a call to losses.append, an assignment from a call "
        "to max, an assignment from a comprehension)",
        "cell 2, line 7: top-level code (an assignment to an item or attribute)",
        "cell 2, line 9: top-level code (an assignment from an expression with side effects)"]


def test_tags_override_the_rule():
    conversion = converted(
        ("import numpy as np\nW = np.ones(3)\nprint(W)", ["grade"]),
        ("def sigmoid(z):\n    return z", ["skip"]),
        ("def relu(z):\n    return z", ["no-grade", "other"]),
        ("%%time\nB = np.zeros(2)", ["grade"]),
    )
    assert module_statements(conversion) == ["import numpy as np", "W = np.ones(3)",
                                             "print(W)", "B = np.zeros(2)"]
    assert summaries(conversion) == ["cell 2: tagged `skip`", "cell 3: tagged `no-grade`",
                                     "cell 4, line 1: cell magic (%%time)"]


def test_cell_magics_drop_the_cell_and_line_magics_inside_blocks_keep_it_valid():
    conversion = converted(
        "%%timeit\ndef f():\n    pass",
        "def g(x):\n    %time y = x\n    return x\nfiles = !ls\nnp.zeros?\n??np",
    )
    assert module_statements(conversion) == ["def g(x):\n    pass\n    return x"]
    assert summaries(conversion) == [
        "cell 1: cell magic (%%timeit)", "cell 2, line 2: IPython magic (%time y = x)",
        "cell 2, line 4: shell command (files = !ls)", "cell 2, lines 5–6: IPython help "
        "(np.zeros?, ??np)"]


def test_lines_that_only_look_like_magics_are_python():
    cell = 'S = """\n!not a shell line\n%not a magic\n"""\nV = (7\n% 2)\nW = 7 \\\n% 3'
    conversion = converted(cell)
    assert module_statements(conversion) == [ast.unparse(s) for s in ast.parse(cell).body]
    assert len(module_statements(conversion)) == 3 and conversion.left_out == []


def test_display_imports_are_left_out_and_a_guarded_import_is_kept():
    conversion = converted(
        "import numpy as np, matplotlib.pyplot as plt\nimport seaborn as sns\n"
        "from IPython.display import display\nfrom tqdm.notebook import tqdm",
        "try:\n    from tqdm import trange\nexcept ImportError:\n    trange = range",
        "display(np.ones(2))\nsns.heatmap(np.eye(2))",
    )
    assert module_statements(conversion) == [
        "import numpy as np", "try:\n    from tqdm import trange\nexcept ImportError:\n"
        "    trange = range"]
    assert summaries(conversion) == [
        "cell 1, lines 1–4: plotting or display library, not available to the grader "
        "(matplotlib.pyplot, seaborn, IPython.display, …)",
        "cell 3: plotting (display, sns.heatmap)"]
    assert conversion.left_out[0].details[-1] == "tqdm.notebook"


def test_a_kept_function_that_needs_left_out_code_gets_a_note():
    conversion = converted(
        "import numpy as np\nfrom tqdm import tqdm",
        "X_train = np.random.rand(10, 3)",
        "def train(epochs):\n    for _ in tqdm(range(epochs)):\n        pass\n    return X_train",
        "def fine(x):\n    y = x\n    return np.sum(y)",
    )
    assert conversion.notes == [
        "`train` (cell 3) uses `X_train`, which only code left out defines (cell 2, line 1): "
        "calling `train` in the grader fails with a NameError.",
        "`train` (cell 3) uses `tqdm`, which only code left out defines (cell 1, line 2): "
        "calling `train` in the grader fails with a NameError."]


def test_semicolons_keep_only_the_kept_statements():
    conversion = converted("import numpy as np; x = np.ones(2); N = 4\nprint(N)")
    assert module_statements(conversion) == ["import numpy as np", "N = 4"]
    assert summaries(conversion) == ["cell 1, lines 1–2: top-level code (an assignment from "
                                     "a call to np.ones, a call to print)"]


def test_future_imports_move_to_the_top_of_the_module():
    conversion = converted("import numpy as np",
                           "from __future__ import annotations\ndef f(x: Tensor) -> int:\n"
                           "    return 1")
    statements = module_statements(conversion)
    assert statements[0] == "from __future__ import annotations"
    compile(conversion.source, "solution.py", "exec")
    line = conversion.source.splitlines().index("from __future__ import annotations") + 1
    assert conversion.where(line) == "cell 2, line 1"


def test_a_syntax_error_is_kept_where_it_is_and_reported_at_its_cell_and_line():
    conversion = converted("import numpy as np", ("markdown", "a"), "x = 1", "y = 2", "z = 3",
                           ("markdown", "b"),
                           "!pip install numpy\ndef sigmoid(z)\n    return 1 / (1 + np.exp(-z))")
    _, problem = check_source(conversion.source, max_kb=256, forbidden=ML_FRAMEWORKS,
                              locate=conversion.where)
    assert problem is not None and problem.status == "compile_error"
    assert problem.message.startswith("SyntaxError: expected ':' (cell 7, line 2, column ")
    assert "def sigmoid(z)" in problem.message
    assert summaries(conversion) == ["cell 7, line 1: shell command (!pip install numpy)"]


def test_a_forbidden_import_names_its_cell_and_line():
    conversion = converted("import numpy as np", "x = 1\nfrom sklearn.linear_model import "
                           "LogisticRegression")
    _, problem = check_source(conversion.source, max_kb=256, forbidden=ML_FRAMEWORKS,
                              locate=conversion.where)
    assert problem is not None and problem.status == "forbidden_import"
    assert problem.message.startswith("cell 2, line 2: `sklearn` may not be used")


def test_the_conversion_round_trips_through_json():
    conversion = converted("import numpy as np\n!ls", "def f():\n    return 1\nf()")
    data = json.loads(json.dumps(conversion.to_dict()))
    again = Conversion.from_dict(data, conversion.source)
    assert again.report() == conversion.report() and again.lines == conversion.lines
    assert again.where(len(conversion.lines)) == conversion.where(len(conversion.lines))
    assert "lines" not in conversion.report()


def test_outputs_are_stripped_and_the_rest_opens_as_the_same_notebook():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("print(1)", execution_count=3, outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="1\n" * 50_000)]),
        nbformat.v4.new_markdown_cell("![x](attachment:x.png)", attachments={
            "x.png": {"image/png": "iVBORw0KGgo=" * 10_000}})])
    raw = nbformat.writes(notebook).encode()
    assert len(raw) > 256 * 1024
    stripped = read_notebook(raw, max_kb=256)
    assert stripped["cells"][0]["outputs"] == [] and "attachments" not in stripped["cells"][1]
    assert stripped["cells"][0]["source"] == "print(1)"
    nbformat.validate(nbformat.reads(notebook_json(stripped), as_version=4))


@pytest.mark.parametrize(("data", "kind", "words"), [
    (b"def f():\n    pass\n", "format", "not valid JSON (line 1, column 1"),
    (b"\xff\xfe{}", "format", "not UTF-8"),
    (b'{"cells": []}', "format", "no `nbformat` field"),
    (b"[1, 2]", "format", "no `nbformat` field"),
    (notebook_bytes("x = 1", nbformat=3), "format", "format version 3; only version 4"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code"}]}',
     "format", "not a valid Jupyter notebook"),
    (notebook_bytes(("markdown", "only text"), "   "), "empty", "has no code"),
    (notebook_bytes("x = '" + "a" * 300_000 + "'"), "too_large", "the limit is 256 kB"),
])
def test_malformed_uploads_are_refused_with_a_reason(data, kind, words):
    with pytest.raises(NotebookError) as refused:
        read_notebook(data, max_kb=256)
    assert refused.value.kind == kind
    assert words in refused.value.message


def test_a_huge_file_is_refused_before_it_is_parsed():
    with pytest.raises(NotebookError) as refused:
        read_notebook(b"{" * (RAW_LIMIT_KB * 1024 + 1), max_kb=256)
    assert refused.value.kind == "too_large" and "Clear its outputs" in refused.value.message


def test_cells_count_from_the_top_markdown_included():
    conversion = convert(json.loads(notebook_bytes(("markdown", "a"), ("markdown", "b"),
                                                   "print(1)")))
    assert summaries(conversion) == ["cell 3: top-level code (a call to print)"]


def test_widgets_are_plotting_and_a_loop_that_plots_is_a_loop():
    conversion = converted(
        "import numpy as np\nfrom ipywidgets import interact\nimport matplotlib.pyplot as plt",
        "@interact(k=(1, 5))\ndef show(k):\n    plt.plot(np.arange(k))",
        "for epoch in range(3):\n    plt.plot([epoch])",
    )
    assert module_statements(conversion) == ["import numpy as np"]
    assert summaries(conversion)[1:] == ["cell 2: plotting (@interact)",
                                         "cell 3: top-level code (a for loop)"]
