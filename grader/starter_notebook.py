"""An assignment's starter as a Jupyter notebook: the handout in markdown cells, the
starter code in code cells (one per function or class), and a cell to try things in.

The notebook is laid out for the grading rule of `grader.notebook`: the definitions sit
in cells of their own, and experiment code (a starter's `if __name__ == "__main__":`
block) becomes a top-level cell that grading leaves out.
"""

from __future__ import annotations

import ast
import re
import textwrap
from typing import Any

from grader.notebook_rule import first_line, is_main_guard, with_comments

INTRO = (
    "Fill in the functions in the code cells below, run the notebook to try them, then "
    "upload this notebook (`.ipynb`) to neurograde.\n\n"
    "**What is graded:** the imports, function and class definitions and constants of the "
    "code cells. Magics (`%…`), shell lines (`!…`) and other top-level code (calls, loops, "
    "prints, plots, training runs) are left out, so keep experiments in cells of their "
    "own. Tag a cell `skip` to leave it out, or `grade` to keep all of it.\n\n"
    "Where the handout speaks of `solution.py`, this notebook takes its place."
)
TRY_IT = ("# Try your functions here. Top-level code such as this is not graded.\n")
#: a sentence that tells to upload the file as solution.py (true of the .py starter only)
_UPLOAD_SENTENCE = re.compile(r"[^.\n]*solution\.py[^.\n]*\.?[ \t]*")
_HEADING = re.compile(r"^#{1,3} ")


def starter_notebook(title: str, handout: str, starter: str) -> dict[str, Any]:
    """The notebook (nbformat 4 JSON data) for an assignment."""
    from nbformat import v4

    cells = [v4.new_markdown_cell(text) for text in handout_cells(handout)]
    if not cells or not cells[0].source.startswith("# "):
        cells.insert(0, v4.new_markdown_cell(f"# {title}"))
    cells.insert(1, v4.new_markdown_cell(INTRO))
    note, code, tries = starter_cells(starter)
    if note:
        cells.append(v4.new_markdown_cell(note))
    cells += [v4.new_code_cell(text) for text in code]
    cells += [v4.new_code_cell(TRY_IT + text) for text in tries or [""]]
    notebook = v4.new_notebook(cells=cells)
    notebook.metadata.update(
        kernelspec={"name": "python3", "display_name": "Python 3", "language": "python"},
        language_info={"name": "python"})
    return dict(notebook)


def handout_cells(handout: str) -> list[str]:
    """The handout split into markdown cells at its headings (never inside a code block)."""
    cells: list[list[str]] = [[]]
    fenced = False
    for line in handout.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and _HEADING.match(line) and any(x.strip() for x in cells[-1]):
            cells.append([])
        cells[-1].append(line)
    return [text for lines in cells if (text := "\n".join(lines).strip())]


def starter_cells(starter: str) -> tuple[str, list[str], list[str]]:
    """(the module docstring as markdown, code cells, try-it cells) of a starter file."""
    tree = ast.parse(starter)
    lines = starter.splitlines()
    body = list(tree.body)
    note = ""
    docstring = ast.get_docstring(tree)
    if docstring is not None:
        body.pop(0)
        note = _UPLOAD_SENTENCE.sub("", docstring).strip()
    code: list[str] = []
    tries: list[str] = []
    opening: list[str] = []  # imports and constants before the first definition
    for stmt in body:
        start = with_comments(lines, first_line(stmt))
        text = "\n".join(lines[start - 1:stmt.end_lineno]).strip("\n")
        if isinstance(stmt, ast.If) and is_main_guard(stmt.test):
            inner = lines[stmt.body[0].lineno - 1:stmt.body[-1].end_lineno]
            tries.append(textwrap.dedent("\n".join(inner)).strip("\n"))
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            code.append(text)
        elif code:
            code[-1] += "\n\n" + text
        else:
            opening.append(text)
    if opening:
        code.insert(0, "\n".join(opening))
    return note, code, tries
