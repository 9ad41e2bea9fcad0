"""Math in handouts: LaTeX between dollar signs, typeset as MathML on the server.

Handouts stay readable plain text (``$\\sigma(z) = 1/(1+e^{-z})$``); the page gets MathML,
which browsers render natively, so nothing is loaded from the network. Inline math is
``$…$`` (no space just inside the dollars, so "costs $5 and $6" stays text); display math
is a paragraph that starts and ends with ``$$``.
"""

from __future__ import annotations

import logging
import re
from xml.etree import ElementTree

import markdown
from latex2mathml.converter import convert
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markupsafe import escape

log = logging.getLogger(__name__)

MATHML_NS = "{http://www.w3.org/1998/Math/MathML}"
#: inline: $x$, not "$ 5", not "5$", not "\$"
INLINE = r"(?<![\\$\w])\$(?![\s$])([^$\n]+?)(?<![\s\\])\$(?![\w$])"
DISPLAY = re.compile(r"^\$\$\s*\n?(.+?)\n?\s*\$\$\s*$", re.S)


def to_mathml(latex: str, display: bool = False) -> str:
    """MathML for `latex`, or the LaTeX as code when it cannot be converted."""
    try:
        mathml = convert(latex, display="block" if display else "inline")
        _check_safe(mathml)
    except Exception:  # a typo in a handout must not break the page
        log.warning("could not typeset %r", latex, exc_info=True)
        return f'<code class="math-source">{escape(latex)}</code>'
    return mathml


def _check_safe(mathml: str) -> None:
    """Only MathML elements without links or event handlers reach the page."""
    root = ElementTree.fromstring(mathml)
    for element in root.iter():
        if not element.tag.startswith(MATHML_NS):
            raise ValueError(f"unexpected element {element.tag}")
        for name in element.attrib:
            if name.lower().startswith("on") or "href" in name.lower():
                raise ValueError(f"unexpected attribute {name}")


class _InlineMath(InlineProcessor):
    def handleMatch(self, m: re.Match, data: str):  # noqa: N802 (library API)
        return self.md.htmlStash.store(to_mathml(m.group(1))), m.start(0), m.end(0)


class _DisplayMath(Preprocessor):
    """Paragraphs of the form $$ … $$ become a block of display math."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        block: list[str] | None = None
        for line in lines:
            if block is None and line.startswith("$$"):
                block = [line]
            elif block is not None:
                block.append(line)
            else:
                out.append(line)
            if block is not None and _closed(block):
                match = DISPLAY.match("\n".join(block).strip())
                if match:
                    html = (f'<div class="math-display" tabindex="0">'
                            f"{to_mathml(match.group(1), True)}</div>")
                    out.extend(["", self.md.htmlStash.store(html), ""])
                else:
                    out.extend(block)
                block = None
        out.extend(block or [])
        return out


def _closed(block: list[str]) -> bool:
    text = "\n".join(block).strip()
    return len(text) > 4 and text.endswith("$$")


class MathExtension(markdown.Extension):
    """$…$ and $$…$$ as MathML (registered after code spans, so `$x$` in code stays code)."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (library API)
        md.preprocessors.register(_DisplayMath(md), "display_math", 24)
        md.inlinePatterns.register(_InlineMath(INLINE, md), "inline_math", 185)
