"""Pseudonyms that cannot impersonate anyone on a leaderboard.

A pseudonym is stored NFKC-normalised with its whitespace collapsed, and refused when it
- contains an invisible or formatting character (zero-width space and joiners, bidi
  controls such as RIGHT-TO-LEFT OVERRIDE, soft hyphen, variation selectors, fillers),
  which can make two different strings look the same or reorder what is shown; or
- looks like another account's username or leaderboard name: both are reduced to a
  *skeleton* in which every character stands for its class of look-alikes (Unicode's
  confusables data, via the `confusable_homoglyphs` package: Cyrillic "і" ≡ Latin "i",
  "0" ≡ "O", "l" ≡ "I" ≡ "1"), with and without case folding, and equal skeletons are
  refused.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from collections.abc import Iterable
from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from server.models import User

#: characters that show nothing (or only move others) without being of category C*
INVISIBLE = frozenset(
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers
    "\u2800"  # braille blank
    "\u034f"  # combining grapheme joiner
    "\u17b4\u17b5"  # Khmer inherent vowels
) | frozenset(chr(c) for c in (*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)))
#: Unicode categories refused: format (Cf: zero-width, bidi controls), control, private
#: use, surrogates, unassigned, line and paragraph separators
REFUSED_CATEGORIES = frozenset({"Cf", "Cc", "Co", "Cs", "Cn", "Zl", "Zp"})


class PseudonymRefused(ValueError):
    """The pseudonym cannot be used; the message says why, for the student."""


def normalise(raw: str) -> str:
    """NFKC with whitespace collapsed; refuses invisible and formatting characters."""
    text = unicodedata.normalize("NFKC", raw)
    for char in text:
        if unicodedata.category(char) in REFUSED_CATEGORIES or char in INVISIBLE:
            name = unicodedata.name(char, f"U+{ord(char):04X}")
            raise PseudonymRefused(
                f"A pseudonym cannot contain invisible or formatting characters "
                f"(found {name}); type it with visible characters only.")
    return " ".join(text.split())


@functools.cache
def _prototypes() -> dict[str, str]:
    """Each confusable character mapped to one representative of its look-alike class
    (an ASCII character where the class has one)."""
    data = json.loads(resources.files("confusable_homoglyphs").joinpath(
        "confusables.json").read_text(encoding="utf-8"))
    parent: dict[str, str] = {}

    def root(char: str) -> str:
        while parent.setdefault(char, char) != char:
            parent[char] = parent[parent[char]]
            char = parent[char]
        return char

    for char, entries in data.items():
        for entry in entries:
            other = entry["c"]
            if len(char) == 1 and len(other) == 1:  # multi-character look-alikes: ignored
                parent[root(char)] = root(other)
    classes: dict[str, list[str]] = {}
    for char in list(parent):
        classes.setdefault(root(char), []).append(char)
    mapping = {}
    for members in classes.values():
        best = min(members, key=lambda c: (not c.isascii(), ord(c)))
        mapping.update(dict.fromkeys(members, best))
    return mapping


def skeleton(text: str) -> str:
    """`text` with every character replaced by its look-alike class representative."""
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(prototypes.get(c, c) for c in decomposed))


def _keys(name: str) -> set[str]:
    # with and without case folding: "QUІET" matches "Quiet", and "CIara" matches "Clara"
    # ("I" and "l" are look-alikes only before folding)
    flat = " ".join(name.split())
    return {skeleton(flat), "\x00" + skeleton(flat.casefold())}


def impersonates(pseudonym: str, others: Iterable[str]) -> str | None:
    """The first of `others` (names other people are shown under) that `pseudonym` looks
    like, or None."""
    mine = _keys(pseudonym)
    return next((other for other in others if mine & _keys(other)), None)


def audit(session: Session) -> list[tuple[User, str]]:
    """Chosen pseudonyms stored before these rules that break them, with the reason: an
    invisible character, a form that is not normalised, or a look-alike of another
    account's name. Of two look-alike chosen pseudonyms the imitation is flagged: the one
    with more non-ASCII characters, on a tie the newer account's."""
    from server.models import User
    from server.services.leaderboard import display_pseudonym

    users = list(session.scalars(select(User).order_by(User.id)))
    # key -> (account, rank); usernames and generated names rank before any chosen name
    owners: dict[str, list[tuple[int, tuple[int, int]]]] = {}
    for user in users:
        shown = display_pseudonym(user)
        chosen = shown if shown == (user.pseudonym or "") else None
        for name in {user.username, shown}:
            rank = (sum(not c.isascii() for c in name), user.id) if name == chosen else (-1, 0)
            for key in _keys(name):
                owners.setdefault(key, []).append((user.id, rank))
    found = []
    for user in users:
        reason = _audit_one(user, owners)
        if reason:
            found.append((user, reason))
    return found


def _audit_one(user: User, owners: dict[str, list[tuple[int, tuple[int, int]]]]) -> str | None:
    chosen = user.pseudonym or ""
    if not chosen or chosen == user.username:
        return None  # shown under a generated name
    try:
        if normalise(chosen) != chosen:
            return "not in normal form (NFKC, single spaces)"
    except PseudonymRefused:
        return "contains an invisible or formatting character"
    mine = (sum(not c.isascii() for c in chosen), user.id)
    if any(other != user.id and rank < mine
           for key in _keys(chosen) for other, rank in owners[key]):
        return "looks like another account's name"
    return None
