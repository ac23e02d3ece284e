"""The quick checks in bot/context.py say what its regular expressions would say.

judge_number tries a pattern only when the word next to the number is on that pattern's word
list (`_REJECT_LAST_WORDS`, `_KEYWORD_FIRST_WORDS`, ...). A word added to a pattern but not to
its list would silently lose matches; these tests build texts from every word the patterns
name, in many spellings and surroundings, and compare the checks with the regexes alone.
"""

from __future__ import annotations

import random
import re

from bot import context as c

_SOURCES = [
    c._REJECT_BEFORE_SOURCE,
    c._REJECT_AFTER_SOURCE,
    c._REPLY_MARKER_SOURCE,
    c._KEYWORD_BEFORE_SOURCE,
    c._KEYWORD_AFTER_SOURCE,
    c._ASK_BEFORE_SOURCE,
    c._ASK_AFTER_SOURCE,
]
_WORDS = sorted(
    {w for source in _SOURCES for w in re.findall(r"[a-z0-9]+", source)}
    | {w + "s" for source in _SOURCES for w in re.findall(r"[a-z]+", source)}
    | {"q1", "whats", "lookup", "the", "a", "is", "team", "upload", "users", "files", "server"}
)
_CHARS = list(
    "abcdefghijklmnopqrstuvwxyz0123456789 \t\u2003\u00a0_é²٣!\"#$%&'()*+,-./:;<=>?@[\\]^`{|}~€£¥°"
)
_GLUE = [" ", " ", "  ", ": ", "# ", " (", '"', "'", "-", ".", ",", "\t", "\u2003", " no. ", "nr"]
_GLUE += ["'s", "/", "<", ">", "*", "->", "ftp>", " = "]
_REJECT_BEFORE = re.compile(c._REJECT_BEFORE_SOURCE)


def _texts(count: int, seed: int) -> list[str]:
    """Random runs of the patterns' words, glue and odd characters."""
    rng = random.Random(seed)

    def piece() -> str:
        roll = rng.random()
        if roll < 0.55:
            return rng.choice(_WORDS)
        if roll < 0.8:
            return rng.choice(_GLUE)
        return "".join(rng.choice(_CHARS) for _ in range(rng.randint(1, 3)))

    return ["".join(piece() for _ in range(rng.randint(1, 7))) for _ in range(count)]


def _rejected_before(before: str) -> bool:
    """What `_REJECT_BEFORE_SOURCE` says of the words before a number (within its reach)."""
    return _REJECT_BEFORE.search(before, max(0, len(before) - c._REJECT_REACH)) is not None


def _plural_noun(after: str) -> bool:
    """The plural-noun rule with nothing but its regex."""
    word = c._NEXT_WORD.match(after)
    if word is None:
        return False
    text = word.group(1)
    return (
        text.endswith("s")
        and not text.endswith(("ss", "us", "is", "ous"))
        and text not in c._NOT_PLURAL
    )


def test_checks_before_a_number_agree_with_the_regexes() -> None:
    """Reject, keyword, question, reply-marker and timestamp checks lose no match."""
    checked = 0
    for text in _texts(60_000, seed=1):
        before = text[-80:]
        backwards = before[::-1]
        word = c._last_word(before)
        assert c._rejected_before(before, word) == _rejected_before(before), before
        keyword = c._KEYWORD_BEFORE_BACK.match(backwards) is not None
        assert c._keyword_before(before, backwards, word) == keyword, before
        if c._ASK_BEFORE_BACK.match(backwards):
            checked += 1
            assert word is None or word in c._ASK_LAST_WORDS, before
            assert c._names_a_question(before), before
        stripped = before.strip()
        if c._REPLY_MARKER_BACK.match(backwards):
            assert stripped[-1:] in c._MARKER_ENDS, before
        if stripped and c._TIMESTAMPISH.match(stripped):
            assert stripped[:1] in c._TIMESTAMP_CHARS or stripped[:1].isdecimal(), before
    assert checked > 20  # questions are rare in random text; the word test below adds more


def test_checks_after_a_number_agree_with_the_regexes() -> None:
    """Reject, plural-noun and keyword checks after the number lose no match."""
    checked = 0
    for text in _texts(60_000, seed=2):
        after = text[:160]
        word = c._first_word(after)
        assert c._rejected_after(after, word) == (c._REJECT_AFTER.match(after) is not None), after
        assert c._is_plural_noun(after, word) == _plural_noun(after), after
        if c._KEYWORD_AFTER.match(after.lstrip(" ")):
            checked += 1
            assert word is None or word in c._KEYWORD_FIRST_WORDS, after
    assert checked > 100


def test_every_word_of_a_pattern_is_on_its_list() -> None:
    """Each single word a pattern ends (starts) with is on that pattern's word list."""
    for before in (f"{w} " for w in _WORDS):
        word = c._last_word(before)
        if c._ASK_BEFORE_BACK.match(before[::-1]):
            assert word is None or word in c._ASK_LAST_WORDS, before
        if c._KEYWORD_BEFORE_BACK.match(before[::-1]):
            assert c._keyword_before(before, before[::-1], word), before
        assert c._rejected_before(before, word) == _rejected_before(before), before
    for after in (f" {w}" for w in _WORDS):
        word = c._first_word(after)
        assert c._rejected_after(after, word) == (c._REJECT_AFTER.match(after) is not None), after
