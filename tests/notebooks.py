"""Notebooks as students write them, for the notebook tests: JSON bytes of an .ipynb."""

from __future__ import annotations

import ast
import json
from typing import Any

from nbformat import v4


def notebook_bytes(*cells: Any, nbformat: int = 4) -> bytes:
    """Cells given as "code", ("markdown", text) or (code, ["tag", …])."""
    made = []
    for cell in cells:
        if isinstance(cell, str):
            made.append(v4.new_code_cell(cell))
        elif cell[0] == "markdown":
            made.append(v4.new_markdown_cell(cell[1]))
        else:
            made.append(v4.new_code_cell(cell[0], metadata={"tags": list(cell[1])}))
    notebook = v4.new_notebook(cells=made)
    notebook["nbformat"] = nbformat
    return json.dumps(notebook).encode()


#: the top-level training run and plots a student leaves in the notebook, per assignment
TRAINING_RUNS = {
    "sigmoid": "for z in [-2, 0, 2]:\n    print(z, sigmoid(z))\nlosses = [neuron([1, 2], 0.5, "
               "[z, z]) for z in range(5)]",
    "mse-loss": "history = []\nfor k in range(5):\n    history.append(mse_loss(np.ones(3), "
                "np.ones(3) * k))\nprint(history)",
    "backprop-2-2-1": "data = np.array([[-2, -1], [25, 6], [17, 4], [-15, -6]])\n"
                      "y_trues = np.array([1, 0, 0, 1])\nparams = train(data, y_trues)\n"
                      "print(feedforward(params, data[0]))",
    "mnist": "X_small = np.random.default_rng(0).random((784, 200))\n"
             "model = train(X_small, np.arange(200) % 10)\nprint(predict(model, X_small)[:10])",
}


def student_notebook(reference: str, slug: str) -> tuple[bytes, list[str]]:
    """The reference solution as a student's notebook: magics and `!pip install` first,
    the imports with matplotlib, each definition in a cell of its own (some followed by a
    test print), markdown between them, a plot and a training run at the top level.

    Returns the notebook and the names the reference defines."""
    tree = ast.parse(reference)
    lines = reference.splitlines()
    imports = [ast.get_source_segment(reference, s) or "" for s in tree.body
               if isinstance(s, (ast.Import, ast.ImportFrom))]
    cells: list[Any] = [("markdown", f"# Homework: {slug}"),
                        "%matplotlib inline\n%load_ext autoreload\n!pip install numpy",
                        "\n".join(imports + ["import matplotlib.pyplot as plt",
                                             "from tqdm import tqdm"])]
    names = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)) or (
                isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
            continue
        start = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
        cells.append("\n".join(lines[start - 1:stmt.end_lineno]))
        if isinstance(stmt, ast.FunctionDef):
            names.append(stmt.name)
            cells[-1] += f"\n\nprint({stmt.name!r}, {stmt.name})"
            cells.append(("markdown", f"`{stmt.name}` is done."))
        else:
            names += [t.id for t in getattr(stmt, "targets", []) if isinstance(t, ast.Name)]
    cells.append("xs = np.linspace(-5, 5, 50)\nfig, ax = plt.subplots()\nax.plot(xs, xs ** 2)\n"
                 "plt.show()")
    cells.append("%%time\n" + TRAINING_RUNS[slug])
    cells.append(TRAINING_RUNS[slug])
    return notebook_bytes(*cells), names
