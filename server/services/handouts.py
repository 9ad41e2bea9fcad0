"""Which handout a reader is shown: the one in their language when the assignment has
it, else the English one with a note; and the other languages it can be read in."""

from __future__ import annotations

from dataclasses import dataclass

from plugins.handouts import (
    ENGLISH,
    LANGUAGE_CODE,
    handout_for,
    handout_languages,
    primary_language,
)
from plugins.types import AssignmentDef

#: each language by its own name, as a reader of it looks for it
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "zh": "中文"}


@dataclass(frozen=True)
class HandoutChoice:
    """The handout shown (`language`, `markdown`), the language the reader wanted, and
    the other languages available as (code, name) pairs."""

    language: str
    markdown: str
    wanted: str
    others: tuple[tuple[str, str], ...]

    @property
    def missing(self) -> bool:
        """The reader wanted a language this handout is not available in."""
        return self.language == ENGLISH and primary_language(self.wanted) != ENGLISH

    @property
    def wanted_name(self) -> str:
        return language_name(self.wanted)

    @property
    def title(self) -> str | None:
        """A translation's own title (its first line, `# ...`); None for English."""
        first = self.markdown.lstrip().partition("\n")[0]
        if self.language == ENGLISH or not first.startswith("# "):
            return None
        return first[2:].strip() or None


def choose_handout(definition: AssignmentDef, reader_language: str,
                   asked: str | None = None) -> HandoutChoice:
    """`definition`'s handout for a reader of `reader_language`; `asked` (a language the
    reader picked on the page) wins when it is a language code."""
    wanted = asked if asked and LANGUAGE_CODE.fullmatch(asked) else reader_language
    language, markdown = handout_for(definition, wanted)
    others = tuple((code, language_name(code)) for code in handout_languages(definition)
                   if code != language)
    return HandoutChoice(language, markdown, wanted, others)


def language_name(code: str) -> str:
    """The language's own name ("Русский" for "ru", "ru-RU"), else its code."""
    return LANGUAGE_NAMES.get(primary_language(code), code)
