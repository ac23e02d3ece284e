"""Credentials pasted in clear text: find them, say where, and keep them out of every output.

Masked values (`PASS ****`, `PASS (hidden)`, `PASS <password>`) and the anonymous-FTP
convention (`PASS ftp@example.com`) are not secrets.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

MASK = "****"

# Each pattern's group "value" is the secret. Every pattern starts with a literal so that the
# regex engine can skip through megabytes of log quickly; case-insensitive ones run on
# lower-cased text (the secret itself is then read from the original at the same place).
_EXACT: list[tuple[str, re.Pattern[str]]] = [
    ("password", re.compile(r"PASS[ \t]+(?P<value>[^\s'\"\\]+)")),
    ("password", re.compile(r"-(?:u|-user)[ \t]+['\"]?[^\s:'\"]+:(?P<value>[^\s'\"]+)")),
    ("password", re.compile(r"sshpass[ \t]+-p[ \t]*['\"]?(?P<value>[^\s'\"]+)")),
    ("password", re.compile(r"://[^\s/:@]+:(?P<value>[^\s/@]+)@[^\s/]")),
    ("private-key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?P<value>)")),
    ("token", re.compile(r"(?P<value>xox[abposr]-[A-Za-z0-9-]{10,})")),
    ("token", re.compile(r"(?P<value>AKIA[0-9A-Z]{16})\b")),
]
_FOLDED: list[tuple[str, re.Pattern[str]]] = [
    (
        "password",
        re.compile(
            r"p(?:assword|asswd|ass|wd|w)(?:[ \t]*=[ \t]*|[ \t]+)['\"]?(?P<value>[^\s'\"]+)"
        ),
    ),
    (
        "password",
        # (password|passwd|pwd), written so that the regex engine skips to each "p" quickly
        re.compile(r"p(?:assword|asswd|wd)[ \t]*[=:][ \t]*['\"]?(?P<value>[^\s'\",;)]+)"),
    ),
    (
        "authorization",
        re.compile(r"authorization:[ \t]*(?:basic|bearer|digest)?[ \t]*(?P<value>[^\s]+)"),
    ),
]
# The password-option pattern starts with a literal "p" so that the engine can skip through
# a log quickly; the "-", "--" or "/" in front of it is checked afterwards.
_OPTION = _FOLDED[0][1]
# What may stand just before "PASS" for it to be the FTP command.
_BEFORE_PASS = frozenset(" \t\n>*'\"(:,]")
_MASKED = re.compile(
    r"^(?:\*+|x{3,}|X{3,}|\(hidden\)|<[^>]*>|\[[^\]]*\]|\{[^}]*\}|\$\{?\w+\}?|%\w+%|"
    r"hidden|redacted|masked|secret\*+|\.\.\.)$",
    re.I,
)
_ANONYMOUS = re.compile(r"^(?:[\w.+-]*@[\w.-]*|anonymous|guest|ftp|-?wget@|mozilla@)$", re.I)


@dataclass(frozen=True, slots=True)
class Found:
    offset: int  # where the value starts in the text given to `find`
    kind: str
    value: str


def _is_secret(kind: str, value: str) -> bool:
    if kind == "private-key":
        return True
    known = _VERDICTS.get((kind, value))
    if known is not None:
        return known  # a log repeats its masked values ("PASS <password>") on every login
    if len(_VERDICTS) >= 1024:
        _VERDICTS.clear()
    verdict = _VERDICTS[kind, value] = not (
        not value or _MASKED.match(value) or (kind == "password" and _ANONYMOUS.match(value))
    )
    return verdict


_VERDICTS: dict[tuple[str, str], bool] = {}


def _any_at(text: str, marks: str, test: Callable[[int], bool]) -> bool:
    """Whether `test` holds at an occurrence of one of the characters `marks` in `text`.

    The characters are found with a one-character scan, which is much faster than a regex
    pass; when they are too many to try one by one, the answer is True (look with the regex).
    """
    tries = 0
    for mark in marks:
        at = text.find(mark)
        while at >= 0:
            if test(at):
                return True
            tries += 1
            if tries > _MAX_TRIES:
                return True
            at = text.find(mark, at + 1)
    return False


_MAX_TRIES = 4096


# For each pattern, in the order of _EXACT then _FOLDED: a test that is True whenever the
# pattern can match (None: always look). The tests look for a rare character first, so that
# a log without such credentials costs a few fast scans instead of a regex pass per pattern.
_GATES: list[Callable[[str], bool] | None] = [
    None,  # PASS: in every FTP log
    lambda t: _any_at(t, "-", lambda i: t.startswith("-u", i)),
    lambda t: _any_at(t, "-", lambda i: t.startswith("-p", i)) and "sshpass" in t,
    lambda t: "@" in t,
    lambda t: _any_at(t, "-", lambda i: t.startswith("-----BEGIN ", i)),
    lambda t: _any_at(t, "-", lambda i: i >= 4 and t.startswith("xox", i - 4)),
    lambda t: _any_at(t, "K", lambda i: i >= 1 and t.startswith("AKIA", i - 1)),
    # -p, -pw, --password, /password ... (the option pattern checks the "-" or "/")
    lambda t: _any_at(t, "-/", lambda i: t.startswith(("p", "P"), i + 1)),
    None,  # "password" is in every FTP server's reply to USER
    lambda t: _any_at(t, "zZ", lambda i: i >= 7 and t[i - 7 : i + 7].lower() == "authorization:"),
]


def find(text: str) -> list[Found]:
    """Clear-text credentials in `text`, in order of appearance."""
    found: dict[int, Found] = {}
    folded: str | None = None
    for index, ((kind, pattern), gate) in enumerate(zip(_EXACT + _FOLDED, _GATES, strict=True)):
        if gate is not None and not gate(text):
            continue
        haystack = text
        if index >= len(_EXACT):
            if folded is None:
                folded = text.lower()
                if len(folded) != len(text):
                    folded = text  # a few letters change length in lower case
            haystack = folded
        for match in pattern.finditer(haystack):
            start, end = match.span("value")
            if (
                pattern is _EXACT[0][1]
                and match.start()
                and (text[match.start() - 1] not in _BEFORE_PASS)
            ):
                continue  # "PASS" inside a word, not the command
            if pattern is _OPTION and text[match.start() - 1 : match.start()] not in ("-", "/"):
                continue  # a password option is written -pw, --password or /password
            value = text[start:end]
            if _is_secret(kind, value):
                found.setdefault(start, Found(start, kind, value))
    return [found[k] for k in sorted(found)]


def scrub(text: str, values: set[str]) -> str:
    """`text` with every known secret value replaced by a mask."""
    for value in sorted(values, key=len, reverse=True):
        if value and value in text:
            text = text.replace(value, MASK)
    return text
