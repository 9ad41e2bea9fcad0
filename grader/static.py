"""Static phase, in the trusted parent: size, UTF-8, compile, forbidden imports.

A submission that fails here never reaches the sandbox. Messages are written for
the student: where the problem is and what to do.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from grader.result import Status

#: Functions whose first string argument names a module to import.
_IMPORT_CALLS = {"__import__", "import_module", "find_spec", "load_module"}
#: says where a line is: "line 12", or for a notebook "cell 7, line 2" (grader.notebook)
Locate = Callable[[int], str]


def _line(number: int) -> str:
    return f"line {number}"


@dataclass(frozen=True)
class StaticProblem:
    status: Status  #: "compile_error" or "forbidden_import"
    message: str
    line: int | None = None


def check_source(source: str | bytes, *, max_kb: int, forbidden: Iterable[str],
                 locate: Locate | None = None) -> tuple[str, StaticProblem | None]:
    """Return the decoded source and the first problem found (or None); `locate` words
    the place of a line in messages."""
    locate = locate or _line
    raw = source.encode("utf-8", errors="surrogatepass") if isinstance(source, str) else source
    if len(raw) > max_kb * 1024:
        return "", StaticProblem("compile_error", f"solution.py is {len(raw) / 1024:.0f} KiB; "
                                 f"the limit is {max_kb} KiB. Remove data or output pasted into "
                                 "the file.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        return "", StaticProblem("compile_error", f"solution.py is not UTF-8 text: byte "
                                 f"0x{raw[exc.start]:02x} on line {line} cannot be decoded. "
                                 "Save the file as UTF-8.", line)
    problem = _compile(text, locate)
    if problem is None:
        problem = scan_imports(text, forbidden, locate)
    return text, problem


def _compile(text: str, locate: Locate) -> StaticProblem | None:
    try:
        compile(text, "solution.py", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return StaticProblem("compile_error", format_syntax_error(exc, locate), exc.lineno)
    except (ValueError, RecursionError, MemoryError) as exc:
        reason = ("it contains a null byte" if isinstance(exc, ValueError)
                  else "it is nested too deeply")
        return StaticProblem("compile_error", f"solution.py cannot be compiled: {reason}.")
    return None


def format_syntax_error(exc: SyntaxError, locate: Locate = _line) -> str:
    """`SyntaxError: invalid syntax (line 3, column 9)` plus the line and a caret."""
    kind = type(exc).__name__
    where = locate(exc.lineno or 0) + (f", column {exc.offset}" if exc.offset else "")
    out = [f"{kind}: {exc.msg} ({where})"]
    if exc.text:
        line = exc.text.rstrip("\n")
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        out.append(f"    {stripped}")
        if exc.offset:
            start = max(exc.offset - 1 - indent, 0)
            end = exc.end_offset if exc.end_offset and exc.end_lineno == exc.lineno else 0
            width = max((end - 1 - indent) - start, 1) if end else 1
            out.append("    " + " " * start + "^" * width)
    return "\n".join(out)


def scan_imports(text: str, forbidden: Iterable[str],
                 locate: Locate = _line) -> StaticProblem | None:
    """The first import of a forbidden top-level package, including `__import__("x")` and
    `importlib.import_module("x")` with a literal name."""
    banned = set(forbidden)
    if not banned:
        return None
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, (ast.stmt, ast.expr)):  # imports and calls: they carry a line
            continue
        for name in _imported_names(node):
            top = name.split(".")[0]
            if top in banned:
                return StaticProblem(
                    "forbidden_import",
                    f"{locate(node.lineno)}: `{top}` may not be used in this assignment "
                    f"(it imports {name!r}). Implement it yourself with numpy.",
                    node.lineno)
    return None


def _imported_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return [node.module] if node.module and not node.level else []
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        first = node.args[0]
        if name in _IMPORT_CALLS and isinstance(first, ast.Constant) and isinstance(
                first.value, str):
            return [first.value]
    return []
