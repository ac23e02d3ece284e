"""Text normalisation shared by detection, lookup and log analysis.

Two forms matter:
- `prepare`: what a person pasted, with Slack's escaping and link wrapping undone and smart
  quotes straightened, so that `&lt; 550 ...` reads as `< 550 ...`.
- words: lower case, contractions and common variants spelt one way ("can't" and "cannot"
  become "can not", "timeout" becomes "timed out"), so that phrases compare word by word.
  Typos are absorbed by `typo_variants`, computed once for the knowledge base's words.
"""

from __future__ import annotations

import re
from typing import Final, Generic, TypeVar

_SLACK_LINK: Final = re.compile(r"<([^<>|\n]{1,2000})(?:\|([^<>\n]{0,2000}))?>")
_QUOTES: Final = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u00a0": " ",
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
    }
)


def _unwrap_link(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith(("@", "#", "!")):
        # <@U123>, <#C123|ops>, <!channel>: keep a harmless readable form, never the mention.
        name = label or target[1:]
        return ("@" if target[0] != "#" else "#") + name.split("^")[0]
    if target.startswith(("http://", "https://", "mailto:", "ftp://", "sftp://", "ftps://")):
        return label if label is not None else target
    return match.group(0)


_LINK_START: Final = re.compile(r"<(?:https?:|@|#|!|mailto:|s?ftps?:)")


def prepare(text: str) -> str:
    """Undo Slack's escaping and link wrapping, and straighten quotes, dashes and fences."""
    if "<" in text and _LINK_START.search(text):
        text = _SLACK_LINK.sub(_unwrap_link, text)
    if "&" in text:
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    if "`" in text:
        text = text.replace("`", " ")
    return text if text.isascii() else text.translate(_QUOTES)


def prepare_joined(texts: list[str]) -> tuple[list[str], str]:
    """`prepare` for each of `texts` (which hold no NUL), and the results joined by NULs."""
    prepared = [prepare(text) for text in texts]
    return prepared, "\x00".join(prepared)


# Word forms that people write several ways, mapped to one spelling before words are compared;
# each rule runs only when one of its trigger words is in the message.
_SPELLINGS: list[tuple[str, str, str]] = [
    (
        r"\b(ca|could|does|do|is|was|did|would|should|are|were|has|have|had|wo|must)n'?t\b",
        r"\1 not",
        "cant couldnt doesnt dont isnt wasnt didnt wouldnt shouldnt arent werent hasnt havent "
        "hadnt wont mustnt",
    ),
    (r"\bcannot\b", "can not", "cannot"),
    (r"\bwo not\b", "will not", "wont"),
    (r"\bca not\b", "can not", "cant"),
    (
        r"\b(?:time[ds]?[ -]?outs?|timedout|timing out|times out)\b",
        "timed out",
        "time times timed timeout timeouts timedout timing",
    ),
    (r"\b(?:log[ -]?(?:in|on)|logon|signin|sign in)\b", "login", "log login logon signin sign"),
    (r"\buser[ -]name\b", "username", "user"),
    (r"\bfile[ -]name\b", "filename", "file"),
    (r"\bhost[ -]?name\b", "hostname", "host"),
    (r"\bdirs?\b", "directory", "dir dirs"),
    (r"\bfolders?\b", "directory", "folder folders"),
    (r"\bconn\b", "connection", "conn"),
    (r"\bpasswd\b", "password", "passwd"),
    (r"\bpwd\b", "password", "pwd"),
    (r"\bperms?\b", "permission", "perm perms"),
]
_SPELLING_RES: Final = [(re.compile(p), r) for p, r, _ in _SPELLINGS]
# Raw word -> the rules it may trigger.
_TRIGGERS: Final[dict[str, tuple[int, ...]]] = {}
for _index, (_, _, _words) in enumerate(_SPELLINGS):
    for _word in _words.split():
        _TRIGGERS[_word] = (*_TRIGGERS.get(_word, ()), _index)
SPELLING_TRIGGERS: Final = frozenset(_TRIGGERS)
# Word a rule may write -> the raw words that make it do so ("filename" <- "file").
SPELLING_SOURCES: dict[str, frozenset[str]] = {}
for _pattern, _repl, _words in _SPELLINGS:
    _outputs = set(re.findall(r"[a-z]+", _repl))
    if _repl.startswith("\\1"):
        _outputs.update(re.findall(r"[a-z]+", _pattern.split(")")[0]))
    for _out in _outputs:
        SPELLING_SOURCES[_out] = SPELLING_SOURCES.get(_out, frozenset()) | set(_words.split())
_WORD: Final = re.compile(r"[a-z0-9_]+")

# Everyday words that make poor anchors for error phrases: a message full of them is chat.
COMMON_WORDS: Final = frozenset(
    """
    about after again all already also always am any anything around ask back bad because
    before being best better between big both but call came can change check client close
    closed come could current day days did does doing done down due during each else end
    error errors even ever every fail failed failing fails file files find first fix for
    found free from full get gets getting give go going gone good got great had has have
    help here high how if into issue just keep know last late later least left less let
    like line link list little load local log long look lost made make many may maybe me
    might more most much must name need never new next no none not nothing now number off
    ok okay old once one only open other out over own part please put ran read really
    report request right run same say see seems send sent server service set should show
    side since site small so some something soon sorry start started starts still stop
    such sure system take than thanks then there these thing think those though through
    time today too try trying turn two under until up upload use used user using very want
    remote returned returns return local message messages
    ftp ftps sftp ssh transfer transfers port ports support page log logs account minute minutes
    report link build record match servers ip completed took key keys cert tls folder disk host
    status code access found timeout connection connect login denied refused reset pinned week
    hour hours update updated job jobs night nightly morning partner customer team
    way well went what when where which while who why will with work working works would
    yes yet
    """.split()
)

STOPWORDS: Final = frozenset(
    "a an the to of is in on for by with and or be this that was were it at from as e g eg "
    "its are been has have had i we you he she they my our your please".split()
)


# The same rules word by word, for text whose words are what regex word boundaries see (ASCII):
# a word one rule respells on its own ("dont", "timeout", "dirs"), with that rule's index, and
# the pairs of neighbouring words that a rule may join or respell ("log in", "file name").
_ONE_WORD: dict[str, tuple[int, tuple[str, ...]]] = {}
for _word in _SPELLINGS[0][2].split():
    _ONE_WORD[_word] = (0, ({"ca": "can", "wo": "will"}.get(_word[:-2], _word[:-2]), "not"))
_ONE_WORD["cannot"] = (1, ("can", "not"))
for _word in ("timeout", "timeouts", "timesout", "timesouts", "timedout", "timedouts"):
    _ONE_WORD[_word] = (4, ("timed", "out"))
for _index, _group, _repl in (
    (5, "login logon signin", "login"),
    (9, "dir dirs", "directory"),
    (10, "folder folders", "directory"),
    (11, "conn", "connection"),
    (12, "passwd", "password"),
    (13, "pwd", "password"),
    (14, "perm perms", "permission"),
):
    for _word in _group.split():
        _ONE_WORD[_word] = (_index, (_repl,))
# Neighbouring words that a rule joins or respells when only one of some separators stands
# between them ("log in", "log-in": "login"), with the rule's index, the separators and what the
# pair becomes.
_PAIRS: dict[tuple[str, str], tuple[int, tuple[str, ...], tuple[str, ...]]] = {
    ("wo", "not"): (2, (" ",), ("will", "not")),
    ("ca", "not"): (3, (" ",), ("can", "not")),
    ("timing", "out"): (4, (" ",), ("timed", "out")),
    ("log", "in"): (5, (" ", "-"), ("login",)),
    ("log", "on"): (5, (" ", "-"), ("login",)),
    ("sign", "in"): (5, (" ",), ("login",)),
    ("user", "name"): (6, (" ", "-"), ("username",)),
    ("file", "name"): (7, (" ", "-"), ("filename",)),
    ("host", "name"): (8, (" ", "-"), ("hostname",)),
}
for _first in ("time", "times", "timed"):
    for _second in ("out", "outs"):
        _PAIRS[(_first, _second)] = (4, (" ", "-"), ("timed", "out"))


W = TypeVar("W", str, bytes)


class _WordRules(Generic[W]):
    """The word-by-word spelling rules for words of one type (str or bytes)."""

    def __init__(
        self,
        one_word: dict[W, tuple[int, tuple[W, ...]]],
        pairs: dict[tuple[W, W], tuple[int, tuple[W, ...], tuple[W, ...]]],
        triggers: dict[W, tuple[int, ...]],
        word_chars: frozenset[W],
    ) -> None:
        self.one_word: dict[W, tuple[int, tuple[W, ...]]] = one_word
        # A pair -> its rule, the texts that join it ("log in", "log-in"), and its output.
        self.pairs: dict[tuple[W, W], tuple[int, tuple[W, ...], tuple[W, ...]]] = pairs
        self.triggers: dict[W, tuple[int, ...]] = triggers
        self.trigger_words: frozenset[W] = frozenset(triggers)
        # A pair starts with one of these: only then is the next word looked at.
        self.firsts: frozenset[W] = frozenset(a for a, _ in pairs)
        # The characters of a word (`_WORD`), one by one: what a pair's ends must not touch.
        self.word_chars: frozenset[W] = word_chars

    def apply(self, found: list[W], text: W | None = None) -> list[W] | None:
        """The words `found` with the spelling rules they trigger applied word by word, as
        `words` would give them. A pair of neighbouring words ("log in") counts only with the
        right character between them, which `text` (lower case, apostrophes dropped) shows;
        None without `text`, or when some such neighbours are joined right and some not."""
        firsts, pairs = self.firsts, self.pairs
        starts = [
            index
            for index in range(len(found) - 1)
            if found[index] in firsts and (found[index], found[index + 1]) in pairs
        ]
        triggers = self.triggers
        rules = {rule for word in self.trigger_words.intersection(found) for rule in triggers[word]}
        joins: set[int] = set()
        if starts:
            if text is None:
                return None
            for pair in {(found[index], found[index + 1]) for index in starts}:
                rule, forms, _ = pairs[pair]
                if rule not in rules:
                    continue
                joined = 0
                for form in forms:
                    joined += self._joined(text, form)
                if joined == 0:
                    continue
                here = [index for index in starts if (found[index], found[index + 1]) == pair]
                if joined != len(here):
                    return None  # which of them are joined only the rules' regexes can tell
                joins.update(here)
        out: list[W] = []
        index = 0
        while index < len(found):
            word = found[index]
            if index in joins:
                out.extend(pairs[(word, found[index + 1])][2])
                index += 2
                continue
            spelling = self.one_word.get(word)
            if spelling is not None and spelling[0] in rules:
                out.extend(spelling[1])
            else:
                out.append(word)
            index += 1
        return out

    def _joined(self, text: W, pair: W) -> int:
        """How often `pair` stands in `text` as whole words."""
        count = 0
        end = len(pair)
        at = text.find(pair)
        while at >= 0:
            before = text[at - 1 : at] if at else text[:0]
            after = text[at + end : at + end + 1]
            if before not in self.word_chars and after not in self.word_chars:
                count += 1
            at = text.find(pair, at + 1)
        return count


_WORD_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"
# A pair -> its rule, the texts that join it ("log in", "log-in"), and what it becomes.
_JOINED = {
    pair: (rule, tuple(pair[0] + between + pair[1] for between in separators), out)
    for pair, (rule, separators, out) in _PAIRS.items()
}
_RULES: Final = _WordRules(_ONE_WORD, _JOINED, _TRIGGERS, frozenset(_WORD_CHARS))
_RULES_BYTES: Final = _WordRules(
    {k.encode(): (rule, tuple(w.encode() for w in repl)) for k, (rule, repl) in _ONE_WORD.items()},
    {
        (a.encode(), b.encode()): (
            rule,
            tuple(form.encode() for form in forms),
            tuple(w.encode() for w in out),
        )
        for (a, b), (rule, forms, out) in _JOINED.items()
    },
    {k.encode(): v for k, v in _TRIGGERS.items()},
    frozenset(c.encode() for c in _WORD_CHARS),
)
SPELLING_TRIGGERS_BYTES: Final = _RULES_BYTES.trigger_words


def respelled(found: list[str], text: str | None = None) -> list[str] | None:
    """The words `found` (of the ASCII text `text`, apostrophes dropped) respelled word by word,
    or None when only the rules' regexes can tell (see _WordRules.apply)."""
    return _RULES.apply(found, text)


def respelled_bytes(found: list[bytes], text: bytes | None = None) -> list[bytes] | None:
    """`respelled` for words as bytes."""
    return _RULES_BYTES.apply(found, text)


def _respell(lowered: str, found: list[str]) -> str:
    """Apply the spelling rules that the words `found` in `lowered` trigger."""
    rules: set[int] = set()
    for word in SPELLING_TRIGGERS.intersection(found):
        rules.update(_TRIGGERS[word])
    for index in sorted(rules):
        pattern, repl = _SPELLING_RES[index]
        lowered = pattern.sub(repl, lowered)
    return lowered


def normalise_words(lowered: str) -> str:
    """Spell contractions and common variants one way (input must be lower case)."""
    lowered = lowered.replace("'", "")
    return _respell(lowered, _WORD.findall(lowered))


def words(text: str) -> list[str]:
    """Lower-case words of `text` with contractions spelt out, stopwords kept."""
    lowered = text.lower().replace("'", "")
    found = _WORD.findall(lowered)
    if SPELLING_TRIGGERS.isdisjoint(found):
        return found  # nothing to respell: the words as they stand
    if lowered.isascii():
        spelled = respelled(found, lowered)
        if spelled is not None:
            return spelled
    return _WORD.findall(_respell(lowered, found))


def significant_words(text: str, *, keep_numbers: bool = False) -> list[str]:
    """`words` without stopwords (and without bare numbers unless asked to keep them)."""
    return [w for w in words(text) if w not in STOPWORDS and (keep_numbers or not w.isdigit())]


def typo_variants(word: str) -> set[str]:
    """Spellings one slip away from `word`: a letter dropped, doubled or swapped, a plural."""
    found = {word + "s", word + "es"}
    for i in range(len(word)):
        found.add(word[:i] + word[i + 1 :])
        found.add(word[:i] + word[i] + word[i:])
        if i + 1 < len(word):
            found.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
    found.discard(word)
    return found


# For the batch pass: lower-case ASCII bytes with punctuation and control characters turned
# into spaces (apostrophes dropped, underscores kept so SSH_FX_NO_SUCH_FILE stays one word), NUL
# (which separates messages) and newline kept: split, they give the words `words` finds.
_BYTE_TABLE = bytearray(range(256))
_CONTROL_BYTES = bytes([*range(1, 9), *range(14, 32), 127])
for _c in b'!"#$%&()*+,-./:;<=>?@[\\]^`{|}~\t\r\x0b\x0c' + _CONTROL_BYTES:
    _BYTE_TABLE[_c] = 0x20
WORD_BYTES_TABLE: Final = bytes(_BYTE_TABLE)


def regex_reversed(pattern: str) -> str:
    """The source of a regex that matches the reverse of what `pattern` matches.

    `$` becomes a start anchor and `^` an end anchor, so an end-anchored pattern searched in a
    text becomes a pattern matched once at the start of the reversed text. Alternatives are
    factored as `regex_factored` does.
    """
    return _rewrite(pattern, backwards=True)


def regex_factored(pattern: str) -> str:
    """`pattern` with the common leading atoms of its alternatives factored out ("ab|ac" as
    "a(?:b|c)"), so the regex engine tries one branch per first character instead of every
    alternative. It matches the same texts; groups no longer capture.
    """
    return _rewrite(pattern, backwards=False)


_LOOKAROUNDS = ("(?=", "(?!", "(?<=", "(?<!")


def _rewrite(pattern: str, *, backwards: bool) -> str:
    """Parse `pattern` into atoms and write it back factored, reversed if `backwards`.

    Handles literals, escapes, classes, groups (captures become plain groups), alternation,
    quantifiers and the anchors ^ and $, and lookarounds when not reversed; other group kinds
    raise ValueError.
    """
    pos = 0

    def sequence() -> list[str]:
        nonlocal pos
        items: list[str] = []
        while pos < len(pattern) and pattern[pos] not in "|)":
            char = pattern[pos]
            if char == "\\":
                atom = pattern[pos : pos + 2]
                if backwards and atom[1:] in ("A", "Z"):
                    atom = "\\Z" if atom == "\\A" else "\\A"
                pos += 2
            elif char == "[":
                end = pos + 1
                if end < len(pattern) and pattern[end] == "^":
                    end += 1
                if end < len(pattern) and pattern[end] == "]":
                    end += 1
                while pattern[end] != "]":
                    end += 2 if pattern[end] == "\\" else 1
                atom = pattern[pos : end + 1]
                pos = end + 1
            elif char == "(":
                opening = "(?:"
                if pattern.startswith("(?:", pos):
                    pos += 3
                elif not backwards and pattern.startswith(_LOOKAROUNDS, pos):
                    # A lookaround stays where it is when the pattern is not reversed.
                    opening = next(o for o in _LOOKAROUNDS if pattern.startswith(o, pos))
                    pos += len(opening)
                elif pattern.startswith("(?", pos):
                    raise ValueError(f"unsupported group at {pos} in {pattern!r}")
                else:
                    pos += 1
                branches = [sequence()]
                while pattern[pos] == "|":
                    pos += 1
                    branches.append(sequence())
                pos += 1  # the closing parenthesis
                atom = opening + _factor(branches) + ")"
            elif char in "^$" and backwards:
                atom = "\\Z" if char == "^" else "\\A"
                pos += 1
            elif char in "?*+{":
                raise ValueError(f"quantifier without an atom at {pos} in {pattern!r}")
            else:
                atom = char
                pos += 1
            # A quantifier belongs to the atom before it, and stays with it.
            if pos < len(pattern) and pattern[pos] in "?*+{":
                end = pattern.index("}", pos) + 1 if pattern[pos] == "{" else pos + 1
                if end < len(pattern) and pattern[end] == "?":
                    end += 1
                atom += pattern[pos:end]
                pos = end
            items.append(atom)
        if backwards:
            items.reverse()
        return items

    branches = [sequence()]
    while pos < len(pattern) and pattern[pos] == "|":
        pos += 1
        branches.append(sequence())
    if pos != len(pattern):
        raise ValueError(f"unbalanced parenthesis at {pos} in {pattern!r}")
    return _factor(branches)


def _factor(branches: list[list[str]]) -> str:
    """Alternatives with their common leading atoms factored out ("ab|ac" as "a(?:b|c)"), so
    the regex engine tries one branch per first character instead of every alternative."""
    heads: dict[str, list[list[str]]] = {}
    empty = False
    for branch in branches:
        if branch:
            heads.setdefault(branch[0], []).append(branch[1:])
        else:
            empty = True
    alternatives = [
        head + "".join(tails[0]) if len(tails) == 1 else f"{head}(?:{_factor(tails)})"
        for head, tails in heads.items()
    ]
    if empty:
        alternatives.append("")
    return "|".join(alternatives)


def regex_literals(pattern: str) -> frozenset[str] | None:
    """Strings of which every match of `pattern` contains at least one ("disabled|locked" gives
    both; "requires? ssl" gives "require" or " ssl"), or None when there is no such set.

    A substring test with these rules a pattern out before the regex engine tries it at every
    position of a text. Lookarounds, classes, escapes other than escaped punctuation, and
    optional atoms contribute nothing; an unsupported construct gives None.
    """
    try:
        needed, end = _literals_of_alternation(pattern, 0)
    except (IndexError, ValueError):
        return None
    return needed if end == len(pattern) else None


def _literals_of_alternation(pattern: str, pos: int) -> tuple[frozenset[str] | None, int]:
    """The literals of the alternatives from `pos` up to an unmatched ")" or the end."""
    branches: list[frozenset[str] | None] = []
    while True:
        needed, pos = _literals_of_sequence(pattern, pos)
        branches.append(needed)
        if pos < len(pattern) and pattern[pos] == "|":
            pos += 1
            continue
        if any(branch is None for branch in branches):
            return None, pos
        return frozenset().union(*(b for b in branches if b is not None)), pos


def _literals_of_sequence(pattern: str, pos: int) -> tuple[frozenset[str] | None, int]:
    """The best literals of one alternative: a run of plain characters or a required group."""
    found: list[frozenset[str]] = []
    run: list[str] = []

    def end_run() -> None:
        if run:
            found.append(frozenset(["".join(run)]))
            run.clear()

    while pos < len(pattern) and pattern[pos] not in "|)":
        char = pattern[pos]
        needed: frozenset[str] | None = None
        literal: str | None = None
        if char == "\\":
            escaped = pattern[pos + 1]
            literal = escaped if not escaped.isalnum() else None
            pos += 2
        elif char == "[":
            end = pos + 1
            if pattern[end] == "^":
                end += 1
            if pattern[end] == "]":
                end += 1
            while pattern[end] != "]":
                end += 2 if pattern[end] == "\\" else 1
            pos = end + 1
        elif char == "(":
            lookaround = pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), pos)
            if pattern.startswith("(?:", pos):
                pos += 3
            elif lookaround:
                pos += 4 if pattern[pos + 2] == "<" else 3
            elif pattern.startswith("(?", pos):
                raise ValueError(f"unsupported group at {pos}")
            else:
                pos += 1
            needed, pos = _literals_of_alternation(pattern, pos)
            if pattern[pos] != ")":
                raise ValueError(f"unbalanced group at {pos}")
            pos += 1
            if lookaround:
                needed = None  # it consumes nothing: what it holds need not be in the match
        elif char in "?*+{":
            raise ValueError(f"quantifier without an atom at {pos}")
        else:
            literal = char if char not in ".^$" else None
            pos += 1
        optional = False
        if pos < len(pattern) and pattern[pos] in "?*+{":
            if pattern[pos] == "{":
                close = pattern.index("}", pos)
                optional = pattern[pos + 1 : close].partition(",")[0].strip() in ("", "0")
                pos = close + 1
            else:
                optional = pattern[pos] in "?*"
                pos += 1
            if pos < len(pattern) and pattern[pos] in "?+":
                pos += 1  # lazy or possessive: the same atoms
            if literal is not None:
                end_run()  # a repeated character is no longer part of a fixed run
                literal = None
                needed = None if optional else needed
            elif optional:
                needed = None
        if literal is not None:
            run.append(literal)
            continue
        end_run()
        if needed is not None:
            found.append(needed)
    end_run()
    if not found:
        return None, pos
    return max(found, key=lambda strings: (min(map(len, strings)), -len(strings))), pos
