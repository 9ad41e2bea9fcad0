"""The rule that decides which parts of a notebook's code cells are graded.

Kept: imports, function and class definitions, and assignments of constants (literals and
simple expressions of literals and names the kept code already defines). Left out: IPython
magics and shell lines, imports of plotting and display libraries (the sandbox has numpy
and the standard library only), and every other top-level statement: calls, loops, prints,
plots, training runs, assignments from calls. docs/students.md states the same rule for
students; `grader.notebook` applies it cell by cell.
"""

from __future__ import annotations

import ast
import builtins
import io
import re
import tokenize
from dataclasses import dataclass

#: plotting, progress-bar and notebook-environment libraries: their imports are left out
#: (absent from the sandbox), and a top-level call through them counts as plotting
DISPLAY_MODULES = ("matplotlib", "mpl_toolkits", "pylab", "seaborn", "plotly", "bokeh",
                   "altair", "IPython", "ipywidgets", "tqdm", "google.colab")
#: IPython's display helpers that exist in a notebook without an import
DISPLAY_BUILTINS = frozenset({"display", "get_ipython"})
_BUILTINS = frozenset(dir(builtins))
#: `x = !ls`, `out = %timeit -o f()`
_MAGIC_ASSIGNMENT = re.compile(r"^[A-Za-z_][\w.]*(\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*[%!]")
#: `np.zeros?`, `??sigmoid`
_HELP = re.compile(r"^(\?{1,2}[\w.]+|[\w.]+\?{1,2})$")


@dataclass(frozen=True)
class Decision:
    """What happens to one top-level statement."""

    keep: bool
    kind: str = ""  #: for what is left out: "top_level", "plot" or "display"
    detail: str = ""  #: e.g. "a call to train"
    #: for a partly kept import (`import numpy as np, matplotlib.pyplot as plt`): the kept part
    replacement: str | None = None


KEEP = Decision(True)


def magic_kind(line: str) -> str | None:
    """"cell_magic", "magic", "shell" or "help" for an IPython line, else None."""
    stripped = line.strip()
    if stripped.startswith("%%"):
        return "cell_magic"
    if stripped.startswith("%"):
        return "magic"
    if stripped.startswith("!"):
        return "shell"
    if _MAGIC_ASSIGNMENT.match(stripped):
        return "shell" if stripped.split("=", 1)[1].lstrip().startswith("!") else "magic"
    if _HELP.match(stripped):
        return "help"
    return None


def magic_lines(lines: list[str]) -> dict[int, str]:
    """{index: kind} of the IPython lines of a cell (0-based indexes).

    A line that looks like one but continues a bracket, a string or a backslash line
    (`x = (a\\n % b)`) is Python and stays."""
    found = {i: kind for i, line in enumerate(lines) if (kind := magic_kind(line))}
    if not found:
        return found
    blanked = [("" if i in found else line) for i, line in enumerate(lines)]
    inside = _continued_rows(blanked)
    for i in list(found):
        if i + 1 in inside or (i and lines[i - 1].rstrip().endswith("\\")):
            del found[i]
    return found


def _continued_rows(lines: list[str]) -> set[int]:
    """1-based rows that lie inside a multi-line string or an open bracket."""
    rows: set[int] = set()
    opened: list[int] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline):
            if token.type == tokenize.STRING and token.end[0] > token.start[0]:
                rows.update(range(token.start[0] + 1, token.end[0]))
            elif token.type == tokenize.OP and token.string in "([{":
                opened.append(token.start[0])
            elif token.type == tokenize.OP and token.string in ")]}" and opened:
                rows.update(range(opened.pop() + 1, token.start[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        # the end came inside a bracket (its closing line was blanked) or the cell does
        # not parse (then reported as a syntax error): what follows an open bracket is in it
        for row in opened:
            rows.update(range(row + 1, len(lines) + 1))
    return rows


def is_display_module(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in DISPLAY_MODULES)


def bound_names(stmt: ast.stmt) -> set[str]:
    """The module-level names a top-level statement binds."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {alias.asname or alias.name.split(".")[0] for alias in stmt.names
                if alias.name != "*"}
    names: set[str] = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {alias.asname or alias.name.split(".")[0] for alias in node.names
                      if alias.name != "*"}
    return names


class Rule:
    """Decides statement by statement, remembering what the kept code defines."""

    def __init__(self) -> None:
        self.defined: set[str] = set()
        self.display: set[str] = set(DISPLAY_BUILTINS)  #: names bound by left-out imports
        self.star = False  #: a kept `from x import *`: any name may be defined

    def decide(self, stmt: ast.stmt) -> Decision:
        decision = self._decide(stmt)
        if decision.replacement is not None:
            self.note_kept(ast.parse(decision.replacement).body[0])
        elif decision.keep:
            self.note_kept(stmt)
        elif decision.kind == "plot":  # `fig, ax = plt.subplots()`: then `ax.plot(…)` plots
            self.display |= bound_names(stmt)
        return decision

    def note_kept(self, stmt: ast.stmt) -> None:
        """Record what a kept statement (or one in a cell tagged `grade`) defines."""
        self.defined |= bound_names(stmt)
        if isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names):
            self.star = True

    def _decide(self, stmt: ast.stmt) -> Decision:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            return self._import(stmt)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            widget = next((d for d in stmt.decorator_list if _root(d) in self.display), None)
            if widget is not None:  # `@interact(…)`: a widget, made when defined
                called = widget.func if isinstance(widget, ast.Call) else widget
                return Decision(False, "plot", f"@{_dotted(called)}")
            return KEEP
        if isinstance(stmt, ast.Pass):
            return KEEP
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            return self._assignment(stmt)
        if isinstance(stmt, ast.Expr):
            return self._expression(stmt.value)
        if isinstance(stmt, ast.Try) and self._harmless_block(stmt):
            return KEEP
        return self._left_out(stmt, _STATEMENTS.get(type(stmt), "a statement"))

    def _import(self, stmt: ast.Import | ast.ImportFrom) -> Decision:
        if isinstance(stmt, ast.ImportFrom):
            if stmt.level == 0 and is_display_module(stmt.module or ""):
                self.display |= bound_names(stmt)
                return Decision(False, "display", stmt.module or "")
            return KEEP
        shown = [a for a in stmt.names if is_display_module(a.name)]
        if not shown:
            return KEEP
        self.display |= {a.asname or a.name.split(".")[0] for a in shown}
        detail = ", ".join(a.name for a in shown)
        rest = [a for a in stmt.names if a not in shown]
        if not rest:
            return Decision(False, "display", detail)
        return Decision(True, "display", detail, ast.unparse(ast.Import(names=rest)))

    def _assignment(self, stmt: ast.Assign | ast.AnnAssign | ast.AugAssign) -> Decision:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if not all(_simple_target(t) for t in targets):
            return self._left_out(stmt, "an assignment to an item or attribute")
        if isinstance(stmt, ast.AugAssign):
            name = stmt.target.id if isinstance(stmt.target, ast.Name) else ""
            if not self._known(name):
                return self._left_out(stmt, f"an update of `{name}`, which the graded "
                                            "code does not define")
        if stmt.value is None:  # `x: int`
            return KEEP
        why = self._not_constant(stmt.value)
        return KEEP if why is None else self._left_out(stmt, f"an assignment from {why}")

    def _expression(self, value: ast.expr) -> Decision:
        if isinstance(value, ast.Constant) and (isinstance(value.value, str)
                                                or value.value is Ellipsis):
            return KEEP  # a docstring-like note or `...`: harmless
        if isinstance(value, ast.Call):
            return self._left_out(value, f"a call to {_dotted(value.func)}")
        if isinstance(value, ast.Await):
            return self._left_out(value, "an await")
        return self._left_out(value, "an expression shown as the cell's output")

    def _left_out(self, node: ast.AST, detail: str) -> Decision:
        """Left out as plotting when its value is (or uses) a plotting call; a loop or
        block is top-level code whatever it holds."""
        simple = isinstance(node, (ast.expr, ast.Assign, ast.AnnAssign, ast.AugAssign))
        plotting = next((_dotted(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)
                         and _root(n.func) in self.display), None) if simple else None
        if plotting is not None:
            return Decision(False, "plot", plotting)
        if isinstance(node, ast.If) and is_main_guard(node.test):
            detail = "an `if __name__ == \"__main__\":` block"
        return Decision(False, "top_level", detail)

    def _harmless_block(self, stmt: ast.Try) -> bool:
        """A `try:` that only imports and defines (e.g. an optional import with a fallback)."""
        body = stmt.body + stmt.orelse + stmt.finalbody + [
            s for handler in stmt.handlers for s in handler.body]
        harmless = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                    ast.ClassDef, ast.Pass)
        return all(isinstance(s, harmless)
                   or (isinstance(s, (ast.Assign, ast.AnnAssign)) and s.value is not None
                       and self._not_constant(s.value) is None)
                   or (isinstance(s, ast.Try) and self._harmless_block(s)) for s in body)

    def _known(self, name: str) -> bool:
        return name in self.defined or name in _BUILTINS or self.star

    def _not_constant(self, node: ast.expr) -> str | None:
        """None for a constant expression, else what makes it one that is not."""
        if isinstance(node, ast.Constant):
            return None
        if isinstance(node, ast.Name):
            return None if self._known(node.id) else (
                f"`{node.id}`, which the graded code does not define")
        if isinstance(node, ast.Call):
            return f"a call to {_dotted(node.func)}"
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return "a comprehension"
        if isinstance(node, ast.Lambda):  # its body runs only when called
            defaults = node.args.defaults + [d for d in node.args.kw_defaults if d]
            return next(filter(None, map(self._not_constant, defaults)), None)
        if not isinstance(node, _CONSTANT_PARTS):
            return "an expression with side effects"
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr) and (why := self._not_constant(child)):
                return why
        return None


#: expressions made only of their parts (checked one by one)
_CONSTANT_PARTS = (ast.Tuple, ast.List, ast.Set, ast.Dict, ast.BinOp, ast.UnaryOp, ast.BoolOp,
                   ast.Compare, ast.IfExp, ast.Attribute, ast.Subscript, ast.Slice,
                   ast.Starred, ast.JoinedStr, ast.FormattedValue)
_STATEMENTS: dict[type, str] = {
    ast.For: "a for loop", ast.AsyncFor: "a for loop", ast.While: "a while loop",
    ast.If: "an if statement", ast.With: "a with block", ast.AsyncWith: "a with block",
    ast.Try: "a try block", ast.Match: "a match statement", ast.Assert: "an assert",
    ast.Delete: "a del statement", ast.Raise: "a raise", ast.Global: "a global statement",
    ast.Nonlocal: "a nonlocal statement", ast.Return: "a return outside a function",
    ast.Break: "a break outside a loop", ast.Continue: "a continue outside a loop",
}


def _simple_target(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return True
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(_simple_target(t) for t in target.elts)
    return isinstance(target, ast.Starred) and _simple_target(target.value)


def _dotted(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return f"{_dotted(func.value)}.{func.attr}"
    if isinstance(func, ast.Call):
        return f"{_dotted(func.func)}(…)"
    return "a function"


def _root(func: ast.expr) -> str | None:
    while isinstance(func, (ast.Attribute, ast.Call, ast.Subscript)):
        func = func.func if isinstance(func, ast.Call) else func.value
    return func.id if isinstance(func, ast.Name) else None


def is_main_guard(test: ast.expr) -> bool:
    """`__name__ == "__main__"` (in a notebook true, in the graded module false)."""
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__")


def first_line(stmt: ast.stmt) -> int:
    """A statement's first line, its decorators included."""
    return min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])


def with_comments(lines: list[str], first: int) -> int:
    """The first line of the comment block right above line `first` (or `first`)."""
    while first > 1 and lines[first - 2].lstrip().startswith("#"):
        first -= 1
    return first
