"""Source pages: Python highlighted by Pygments with line numbers, and the diff of two
versions of a file. The colours live in the one stylesheet (`.hl .k`, `.hl .s`, …), so
light and dark mode need no second set of rules from Pygments."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

#: lines of context around each change in a diff
CONTEXT = 3


def source_html(source: str) -> Markup:
    """`source` as a table of numbered, highlighted lines; line N is anchored as #LN."""
    formatter = HtmlFormatter(linenos="table", lineanchors="L", anchorlinenos=True,
                              cssclass="hl", wrapcode=True)
    return Markup(highlight(source, PythonLexer(stripnl=False, ensurenl=True), formatter))


def line_html(line: str) -> Markup:
    """One highlighted line without the surrounding <pre> (for diff rows)."""
    formatter = HtmlFormatter(nowrap=True)
    html = highlight(line, PythonLexer(stripnl=False, ensurenl=False), formatter)
    return Markup(html.rstrip("\n"))


@dataclass
class DiffLine:
    kind: str  # "same" | "added" | "removed" | "gap"
    old_no: int | None
    new_no: int | None
    html: Markup


def diff_lines(old: str, new: str, context: int = CONTEXT) -> list[DiffLine]:
    """A unified diff of two sources as rows (with a "gap" row between hunks)."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for n, group in enumerate(matcher.get_grouped_opcodes(context)):
        if n:
            rows.append(DiffLine("gap", None, None, Markup("…")))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [DiffLine("same", i1 + k + 1, j1 + k + 1, line_html(a[i1 + k]))
                         for k in range(i2 - i1)]
                continue
            rows += [DiffLine("removed", i + 1, None, line_html(a[i])) for i in range(i1, i2)]
            rows += [DiffLine("added", None, j + 1, line_html(b[j])) for j in range(j1, j2)]
    return rows


def diff_counts(rows: list[DiffLine]) -> tuple[int, int]:
    """(lines added, lines removed)."""
    return (sum(r.kind == "added" for r in rows), sum(r.kind == "removed" for r in rows))

