"""Notebook submissions: a Jupyter notebook (.ipynb) turned into the graded module.

`read_notebook` validates an upload (JSON, nbformat 4, size) and strips its outputs;
`convert` applies the rule of `grader.notebook_rule` cell by cell and returns a
`Conversion`: the module source that is graded like any `solution.py`, a report of every
cell and line left out and why, and a line map, so that every message about the module
(syntax errors, forbidden imports, tracebacks) can name the notebook's cell and line.

Cells are numbered from the top of the notebook, starting at 1, markdown cells included.
Cell tags override the rule: `grade` keeps a whole cell as written (its magics still
removed), `skip` or `no-grade` drops it. A cell that starts with a cell magic (`%%time`)
is left out. A cell that does not parse is kept as it is, so that grading reports the
syntax error at its cell and line.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

from grader import notebook_rule
from grader.notebook_rule import Decision, Rule

#: a notebook, outputs included, is refused above this size before it is parsed
RAW_LIMIT_KB = 16 * 1024
KEEP_TAGS = frozenset({"grade"})
SKIP_TAGS = frozenset({"skip", "no-grade"})
_REASONS = {
    "tag": "tagged {detail}", "cell_magic": "cell magic",
    "magic": "IPython magic", "shell": "shell command", "help": "IPython help",
    "display": "plotting or display library, not available to the grader",
    "plot": "plotting", "top_level": "top-level code",
}
_FRAME = re.compile(r'File "solution\.py", line (\d+)')


class NotebookError(ValueError):
    """An upload that is not a usable notebook; the message is written for the student.

    `kind` is "format" (not JSON, not nbformat 4, invalid), "too_large" or "empty"."""

    def __init__(self, message: str, kind: str = "format") -> None:
        super().__init__(message)
        self.message, self.kind = message, kind


@dataclass
class LeftOut:
    """Lines of one cell that are not graded (`first` is None: the whole cell)."""

    cell: int
    first: int | None
    last: int | None
    kind: str
    details: list[str] = field(default_factory=list)
    whole: bool = False  #: nothing of the cell is graded

    @property
    def reason(self) -> str:
        base = _REASONS[self.kind]
        if self.kind == "tag":
            return base.format(detail=f"`{self.details[0]}`")
        shown = self.details[:3] + (["…"] if len(self.details) > 3 else [])
        return f"{base} ({', '.join(shown)})" if shown else base

    @property
    def summary(self) -> str:
        """e.g. "cell 3, lines 1–2: shell command (!pip install numpy)"."""
        where = f"cell {self.cell}"
        if not self.whole and self.first is not None and self.last is not None:
            where += (f", line {self.first}" if self.first == self.last
                      else f", lines {self.first}–{self.last}")
        return f"{where}: {self.reason}"


@dataclass
class Conversion:
    """A notebook as the graded module, with the way back to its cells and lines."""

    source: str
    name: str = "solution.ipynb"
    #: per line of `source`: [cell, line] it came from, or None (a line the conversion added)
    lines: list[list[int] | None] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cells: int = 0  #: code cells in the notebook

    def where(self, line: int) -> str:
        """"cell 7, line 2" for a line of the module."""
        for index in range(min(line, len(self.lines)) - 1, -1, -1):
            entry = self.lines[index]
            if entry is not None:
                return f"cell {entry[0]}, line {entry[1]}"
        return f"line {line} of the graded code"

    def cell_line(self, line: int) -> tuple[int, int] | None:
        entry = self.lines[line - 1] if 0 < line <= len(self.lines) else None
        return (entry[0], entry[1]) if entry is not None else None

    def rewrite(self, text: str) -> str:
        """A message about `solution.py` as one about the notebook's cells."""
        if not text:
            return text
        text = _FRAME.sub(lambda m: f'File "{self.name}", {self.where(int(m.group(1)))}', text)
        return text.replace("solution.py", self.name)

    def report(self) -> dict[str, Any]:
        """What students see: the cells and lines left out and why, and notes."""
        return {"name": self.name, "code_cells": self.cells, "notes": list(self.notes),
                "left_out": [{**asdict(e), "reason": e.reason, "summary": e.summary}
                             for e in self.left_out]}

    def to_dict(self) -> dict[str, Any]:
        """JSON to store beside the module (the source itself is stored on its own)."""
        return {**self.report(), "lines": self.lines}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str) -> Conversion:
        keys = ("cell", "first", "last", "kind", "details", "whole")
        return cls(source=source, name=data.get("name", "solution.ipynb"),
                   lines=list(data.get("lines", [])), notes=list(data.get("notes", [])),
                   cells=int(data.get("code_cells", 0)),
                   left_out=[LeftOut(**{k: e[k] for k in keys if k in e})
                             for e in data.get("left_out", [])])


def stored_conversion(stored: dict[str, Any] | None, source: str) -> Conversion | None:
    """The conversion kept with a submission (`{"ipynb", "conversion"}`), or None."""
    if not stored or "conversion" not in stored:
        return None
    return Conversion.from_dict(stored["conversion"], source)


def is_notebook(filename: str) -> bool:
    return filename.lower().endswith(".ipynb")


def read_notebook(data: bytes, *, max_kb: int) -> dict[str, Any]:
    """The notebook without outputs, as plain JSON data, or NotebookError.

    `max_kb` limits the notebook once its outputs and attachments are stripped (its cells'
    code and text); outputs may make the file itself larger."""
    import nbformat  # only where notebooks are read: its schema validation loads jsonschema

    if len(data) > RAW_LIMIT_KB * 1024:
        raise NotebookError(f"The notebook is {len(data) / 1024 / 1024:.1f} MB; the limit is "
                            f"{RAW_LIMIT_KB // 1024} MB. Clear its outputs and upload it "
                            "again.", "too_large")
    try:
        text = data.decode("utf-8-sig")
        content = json.loads(text)
    except UnicodeDecodeError as exc:
        raise NotebookError(f"The notebook is not UTF-8 text (byte {exc.start}); save it "
                            "from Jupyter again.") from None
    except json.JSONDecodeError as exc:
        raise NotebookError(f"The file is not a Jupyter notebook: it is not valid JSON "
                            f"(line {exc.lineno}, column {exc.colno}: {exc.msg}).") from None
    except RecursionError:
        raise NotebookError("The file is not a Jupyter notebook: its JSON is nested too "
                            "deeply.") from None
    if not isinstance(content, dict) or "nbformat" not in content:
        raise NotebookError("The file is JSON but not a Jupyter notebook (it has no "
                            "`nbformat` field).")
    version = content.get("nbformat")
    if version != 4:
        raise NotebookError(f"The notebook is in format version {version!r}; only version 4 "
                            "(every Jupyter since 2015) is accepted. Open it in Jupyter and "
                            "save it again.")
    cells = content.get("cells")
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise NotebookError("The file is not a valid Jupyter notebook (format 4): its "
                            "`cells` are not a list of cells.")
    try:
        with warnings.catch_warnings():  # a missing cell id is added, not worth a warning
            warnings.simplefilter("ignore")
            _, content = nbformat.validator.normalize(content)
        nbformat.validate(content)
    except nbformat.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise NotebookError(f"The file is not a valid Jupyter notebook (format 4): "
                            f"{exc.message[:200]}" + (f" at {where}" if where else "")
                            + ".") from None
    except (TypeError, ValueError, KeyError, AttributeError):  # nbformat's own surprise
        raise NotebookError("The file is not a valid Jupyter notebook (format 4).") from None
    stripped = _strip(content)
    size = len(json.dumps(stripped, ensure_ascii=False).encode())
    if size > max_kb * 1024:
        raise NotebookError(f"The notebook's cells hold {size / 1024:.0f} kB of code and text "
                            f"(outputs not counted); the limit is {max_kb} kB.", "too_large")
    if not any(c["cell_type"] == "code" and _text(c["source"]).strip()
               for c in stripped["cells"]):
        raise NotebookError("The notebook has no code.", "empty")
    return stripped


def _strip(content: dict[str, Any]) -> dict[str, Any]:
    """The notebook without outputs, execution counts or attachments (not graded, and
    the bulk of a notebook's size): what is kept opens in Jupyter as the same notebook."""
    cells = []
    for cell in content["cells"]:
        kept = {k: v for k, v in cell.items() if k not in ("outputs", "attachments")}
        kept["source"] = _text(cell.get("source", ""))
        if cell["cell_type"] == "code":
            kept.update(outputs=[], execution_count=None)
        cells.append(kept)
    return {**content, "cells": cells}


def notebook_json(notebook: dict[str, Any]) -> str:
    """The notebook as an .ipynb file's text."""
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def _text(source: str | list[str]) -> str:
    return source if isinstance(source, str) else "".join(source)


def convert(notebook: dict[str, Any], name: str = "solution.ipynb") -> Conversion:
    """The graded module of a (validated) notebook, with its report and line map."""
    return _Converter(name).run(notebook)


def load(data: bytes, name: str, *, max_kb: int) -> tuple[dict[str, Any], Conversion]:
    """Read and convert in one step (the command line's path)."""
    notebook = read_notebook(data, max_kb=max_kb)
    return notebook, convert(notebook, name)


_Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


@dataclass
class _Statement:
    first: int  #: 1-based lines within the cell, decorators included
    last: int
    node: ast.stmt
    decision: Decision


class _Converter:
    def __init__(self, name: str) -> None:
        self.name = name
        self.rule = Rule()
        self.out: list[str] = []
        self.lines: list[list[int] | None] = []
        self.future: list[tuple[str, int, int]] = []
        self.left_out: list[LeftOut] = []
        #: names only left-out code binds -> (cell, line): used for notes
        self.unkept: dict[str, tuple[int, int]] = {}
        self.kept_defs: list[tuple[int, _Definition]] = []
        self.code_cells = 0

    def run(self, notebook: dict[str, Any]) -> Conversion:
        for number, cell in enumerate(notebook.get("cells", []), start=1):
            if cell.get("cell_type") == "code":
                self.code_cells += 1
                self._cell(number, _text(cell.get("source", "")),
                           set(cell.get("metadata", {}).get("tags", [])))
        header = [f"# Graded code of {self.name}: its imports, definitions and constants."]
        lines: list[list[int] | None] = [None]
        for text, cell, line in self.future:
            header.append(text)
            lines.append([cell, line])
        source = "\n".join(header + self.out) + "\n"
        conversion = Conversion(source=source, name=self.name, lines=lines + self.lines,
                                left_out=_merged(self.left_out, self.lines),
                                notes=self._notes(),
                                cells=self.code_cells)
        _mark_whole_cells(conversion)
        return conversion

    # -- one cell ---------------------------------------------------------------------

    def _cell(self, number: int, text: str, tags: set[str]) -> None:
        lines = text.splitlines()
        if not text.strip():
            return
        if tags & SKIP_TAGS:
            self._drop_cell(number, lines, "tag", sorted(tags & SKIP_TAGS)[0])
            return
        keep_all = bool(tags & KEEP_TAGS)
        first = next(line for line in lines if line.strip())
        if first.lstrip().startswith("%%") and not keep_all:
            self._drop_cell(number, lines, "cell_magic", first.split()[0])
            return
        magics = notebook_rule.magic_lines(lines)
        code = list(lines)
        for index, kind in magics.items():
            self.left_out.append(LeftOut(number, index + 1, index + 1, kind,
                                         [_preview(lines[index])]))
            indent = lines[index][:len(lines[index]) - len(lines[index].lstrip())]
            code[index] = f"{indent}pass" if indent else ""  # a block keeps a body
        try:
            tree = ast.parse("\n".join(code))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            self._emit(number, [(i + 1, line) for i, line in enumerate(code)])  # as written
            return
        if keep_all:
            for stmt in tree.body:
                self.rule.note_kept(stmt)
                self._remember_defs(number, stmt)
            self._emit(number, [(i + 1, line) for i, line in enumerate(code)])
            return
        statements = [_Statement(notebook_rule.first_line(s), s.end_lineno or s.lineno, s,
                                 self.rule.decide(s)) for s in tree.body]
        self._keep_parts(number, code, statements)

    def _drop_cell(self, number: int, lines: list[str], kind: str, detail: str) -> None:
        self.left_out.append(LeftOut(number, None, None, kind, [detail], whole=True))
        body = lines[1:] if kind == "cell_magic" else lines
        try:  # for the notes: what this cell would have defined
            tree = ast.parse("\n".join(body))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return
        offset = 1 if kind == "cell_magic" else 0
        for stmt in tree.body:
            for name in notebook_rule.bound_names(stmt):
                self.unkept.setdefault(name, (number, stmt.lineno + offset))

    def _keep_parts(self, number: int, code: list[str], statements: list[_Statement]) -> None:
        shared = {s.last for s, t in zip(statements, statements[1:], strict=False)
                  if s.last == t.first}
        kept: list[tuple[int, str]] = []
        for st in statements:
            decision = st.decision
            if decision.kind:  # something left out (all of it, or the display part)
                self.left_out.append(LeftOut(number, st.first, st.last, decision.kind,
                                             [decision.detail]))
            if not decision.keep:
                for name in notebook_rule.bound_names(st.node):
                    self.unkept.setdefault(name, (number, st.first))
                continue
            self._remember_defs(number, st.node)
            if decision.replacement is not None:  # the display part of an import is not kept
                for alias in getattr(st.node, "names", []):
                    if notebook_rule.is_display_module(alias.name):
                        name = alias.asname or alias.name.split(".")[0]
                        self.unkept.setdefault(name, (number, st.first))
            if isinstance(st.node, ast.ImportFrom) and st.node.module == "__future__":
                self.future.append((ast.unparse(st.node), number, st.first))
            elif decision.replacement is not None:
                kept.append((st.first, decision.replacement))
            elif st.first in shared or st.last in shared:
                segment = ast.get_source_segment("\n".join(code), st.node) or ""
                kept += [(st.first + i, part) for i, part in enumerate(segment.splitlines())]
            else:
                start = notebook_rule.with_comments(code, st.first)
                kept += [(line, code[line - 1]) for line in range(start, st.last + 1)]
        self._emit(number, kept)

    def _remember_defs(self, number: int, stmt: ast.stmt) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.kept_defs.append((number, stmt))

    def _emit(self, number: int, kept: list[tuple[int, str]]) -> None:
        """Append a cell's kept lines under a `# cell N` comment (a gap becomes one blank)."""
        if not any(text.strip() for _, text in kept):
            return
        self._add(["", f"# cell {number}"], None)
        previous = None
        for line, text in kept:
            if previous is not None and line > previous + 1 and self.out[-1].strip():
                self._add([""], None)
            self.out.append(text)
            self.lines.append([number, line])
            previous = line

    def _add(self, texts: list[str], where: list[int] | None) -> None:
        self.out += texts
        self.lines += [where] * len(texts)

    # -- notes ------------------------------------------------------------------------

    def _notes(self) -> list[str]:
        """Kept functions that use a name only left-out code defines: a check that calls
        them fails with a NameError, which is easier to fix when said in advance."""
        missing = {n: w for n, w in self.unkept.items() if n not in self.rule.defined}
        notes = []
        for number, node in self.kept_defs:
            for name in sorted(_free_names(node) & missing.keys()):
                cell, line = missing[name]
                notes.append(f"`{node.name}` (cell {number}) uses `{name}`, which only code "
                             f"left out defines (cell {cell}, line {line}): calling "
                             f"`{node.name}` in the grader fails with a NameError.")
        return notes[:20]


def _preview(line: str) -> str:
    line = line.strip()
    return line if len(line) <= 60 else line[:57] + "..."


def _merged(entries: list[LeftOut], graded: list[list[int] | None]) -> list[LeftOut]:
    """Neighbouring entries of one cell with the same reason, with no graded line
    between them, as one entry."""
    kept = {(entry[0], entry[1]) for entry in graded if entry is not None}
    entries = sorted(entries, key=lambda e: (e.cell, e.first or 0))
    merged: list[LeftOut] = []
    for entry in entries:
        last = merged[-1] if merged else None
        if (last is not None and last.cell == entry.cell and last.kind == entry.kind
                and not last.whole and last.last is not None and entry.first is not None
                and not any((entry.cell, line) in kept
                            for line in range(last.last + 1, entry.first))):
            last.last = max(last.last, entry.last or entry.first)
            last.details += [d for d in entry.details if d not in last.details]
        else:
            merged.append(LeftOut(entry.cell, entry.first, entry.last, entry.kind,
                                  list(entry.details), entry.whole))
    return merged


def _mark_whole_cells(conversion: Conversion) -> None:
    """Mark entries that are all that is left of their cell's code."""
    graded = {entry[0] for entry in conversion.lines if entry is not None}
    per_cell: dict[int, list[LeftOut]] = {}
    for entry in conversion.left_out:
        per_cell.setdefault(entry.cell, []).append(entry)
    for cell, entries in per_cell.items():
        if cell not in graded and len(entries) == 1:
            entries[0].whole = True


def _free_names(node: _Definition) -> set[str]:
    """Names a definition reads but does not bind itself (its module-level dependencies)."""
    loads: set[str] = set()
    stores: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            (loads if isinstance(child.ctx, ast.Load) else stores).add(child.id)
        elif isinstance(child, ast.arg):
            stores.add(child.arg)
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and child is not node:
            stores.add(child.name)
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            stores |= {a.asname or a.name.split(".")[0] for a in child.names}
    return loads - stores

