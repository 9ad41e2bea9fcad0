"""Does a translated handout promise what the English one does?

A translation may reword everything but the facts a student is graded on. So the two
Markdown texts must have the same code blocks (in order), the same inline code spans
and LaTeX formulas, the same numbers in the prose (thresholds, examples, points,
limits; a minus sign counts, thousands separators do not: "60,000" is "60 000"), and
the same outline: headings of the same levels, tables of the same shape, as many list
items. `translation_differences` lists what differs, in words.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

_FENCE = re.compile(r"^(```|~~~)")
_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
_INLINE_MATH = re.compile(r"\$([^$\n]+?)\$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
# "60,000", "60 000" (no-break or thin space) and "60000" are one number
_THOUSANDS = re.compile(r"(?<=\d)[,\u00a0\u202f\u2009](?=\d{3}(?!\d))")
_NUMBER = re.compile(r"(?:(?<![A-Za-z0-9_)\]])[-\u2212])?\d+(?:\.\d+)?")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.)\s")


@dataclass(frozen=True)
class HandoutFacts:
    """What a handout promises, as `translation_differences` compares it."""

    code_blocks: tuple[str, ...]
    code_spans: Counter[str]
    formulas: Counter[str]
    numbers: Counter[str]
    outline: tuple[str, ...]


def translation_differences(english: str, translated: str) -> list[str]:
    """What `translated` states differently from `english` (an empty list: nothing).

        assert translation_differences(definition.handout, definition.handouts["ru"]) == []
    """
    source, target = handout_facts(english), handout_facts(translated)
    problems = []
    if source.code_blocks != target.code_blocks:
        problems += _block_differences(source.code_blocks, target.code_blocks)
    for kind in ("code_spans", "formulas", "numbers"):
        missing = getattr(source, kind) - getattr(target, kind)
        extra = getattr(target, kind) - getattr(source, kind)
        label = kind.replace("_", " ")
        if missing:
            problems.append(f"{label} missing from the translation: {_listed(missing)}")
        if extra:
            problems.append(f"{label} only in the translation: {_listed(extra)}")
    if source.outline != target.outline:
        problems.append(f"outline differs: {' '.join(source.outline)} (English) vs "
                        f"{' '.join(target.outline)} (translation)")
    return problems


def handout_facts(markdown: str) -> HandoutFacts:
    """The code blocks, code spans, formulas, prose numbers and outline of `markdown`."""
    prose, blocks = _split_code_blocks(markdown)
    text = "\n".join(prose)
    spans = Counter(m.group(2).strip() for m in _CODE_SPAN.finditer(text))
    text = _CODE_SPAN.sub(" ", text)
    formulas = Counter(m.group(1).strip() for m in _DISPLAY_MATH.finditer(text))
    text = _DISPLAY_MATH.sub(" ", text)
    formulas += Counter(m.group(1).strip() for m in _INLINE_MATH.finditer(text))
    text = _INLINE_MATH.sub(" ", text)
    text = unicodedata.normalize("NFKC", _THOUSANDS.sub("", text))
    numbers = Counter(m.group().replace("\u2212", "-") for m in _NUMBER.finditer(text))
    return HandoutFacts(tuple(blocks), spans, formulas, numbers, _outline(prose))


def _split_code_blocks(markdown: str) -> tuple[list[str], list[str]]:
    """The lines outside code blocks, and each fenced or indented code block."""
    prose: list[str] = []
    blocks: list[str] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith(line[:3])),
                       len(lines))
            blocks.append("\n".join(lines[i:end + 1]).rstrip())
            i = end + 1
        elif line.startswith("    ") and (not prose or not prose[-1].strip()):
            end = i
            while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
                end += 1
            blocks.append("\n".join(lines[i:end]).rstrip())
            prose.append("")
            i = end
        else:
            prose.append(line)
            i += 1
    return prose, blocks


def _outline(prose: list[str]) -> tuple[str, ...]:
    marks = []
    for line in prose:
        stripped = line.strip()
        if stripped.startswith("#"):
            marks.append("#" * (len(stripped) - len(stripped.lstrip("#"))))
        elif stripped.startswith("|"):
            marks.append(f"|{stripped.strip('|').count('|') + 1}")
        elif _LIST_ITEM.match(line):
            marks.append("*")
    return tuple(marks)


def _block_differences(source: tuple[str, ...], target: tuple[str, ...]) -> list[str]:
    if len(source) != len(target):
        return [f"{len(source)} code blocks in English, {len(target)} in the translation"]
    return [f"code block {n} differs:\n{a}\n--- translation:\n{b}"
            for n, (a, b) in enumerate(zip(source, target, strict=True), start=1) if a != b]


def _listed(counts: Counter[str]) -> str:
    return ", ".join(repr(item) if n == 1 else f"{item!r} ×{n}" for item, n in counts.items())
