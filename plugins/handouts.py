"""Which handout a reader gets: the one in their language, else the English one.

An assignment's `handout` is English; `handouts` maps language codes ("ru", "zh",
"pt-BR") to translations (the folder convention reads them from `handout.<lang>.md`).
Codes are compared case-blind with `-` and `_` alike, and a regional code falls back to
its language: a reader asking for "zh-CN" gets the "zh" handout, one asking for "zh" a
"zh-TW" one when that is all there is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from plugins.types import AssignmentDef

#: the language of `AssignmentDef.handout`
ENGLISH = "en"
#: a language code as handouts are keyed: "ru", "zh", "pt-BR", "zh_TW"
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(?:[-_][A-Za-z]{2,4})?")


class Handout(NamedTuple):
    """A handout as chosen for a reader: the language it is in, and its Markdown."""

    language: str
    markdown: str


def handout_for(definition: AssignmentDef, language: str | None) -> Handout:
    """`definition`'s handout in `language` when it has one, else the English one.

        language, markdown = handout_for(definition, "ru")   # ("en", ...) if untranslated
    """
    key = _translation_key(definition.handouts, language)
    if key is None:
        return Handout(ENGLISH, definition.handout)
    return Handout(key, definition.handouts[key])


def handout_languages(definition: AssignmentDef) -> tuple[str, ...]:
    """The languages `definition`'s handout can be read in: English first, then the
    translations in code order."""
    return (ENGLISH, *sorted(definition.handouts))


def language_code_problem(code: object) -> str | None:
    """Why `code` cannot key `AssignmentDef.handouts`, or None."""
    if not isinstance(code, str) or not LANGUAGE_CODE.fullmatch(code):
        return f"{code!r} is not a language code such as 'ru', 'zh' or 'pt-BR'"
    if primary_language(code) == ENGLISH:
        return "'en' is not a translation: the English handout is `handout` (handout.md)"
    return None


def primary_language(code: str) -> str:
    """The language of a code without its region or script: "zh" for "zh_Hant-TW"."""
    return _normal(code).split("-")[0]


def _translation_key(handouts: Mapping[str, str], language: str | None) -> str | None:
    if not language:
        return None
    wanted, primary = _normal(language), primary_language(language)
    if primary == ENGLISH:
        return None
    by_code = {_normal(key): key for key in handouts}
    if wanted in by_code:
        return by_code[wanted]
    if primary in by_code:
        return by_code[primary]
    regional = sorted(code for code in by_code if primary_language(code) == primary)
    return by_code[regional[0]] if regional else None


def _normal(code: str) -> str:
    return code.strip().lower().replace("_", "-")

