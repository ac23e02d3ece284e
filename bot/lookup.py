"""Answer an explicit question: `/ftpcode 553`, `ftpcode lookup sftp 4`, `ftpcode "... text"`.

Exact forms (an id, a protocol and code, a symbolic name, a bare number) are resolved from
the knowledge base alone, without building the scanner, so `ftpcode 553` starts fast.
Anything else is read like a chat message, and failing that, matched fuzzily against every
entry's titles, phrases and server texts.
"""

from __future__ import annotations

import re

from bot.knowledge import KnowledgeBase, load
from bot.models import Entry, Match

_PROTOCOL_ALIASES = {
    "ftp": "ftp",
    "ftps": "ftp",
    "sftp": "sftp",
    "winsock": "winsock",
    "socket": "winsock",
    "wsa": "winsock",
    "http": "http",
    "https": "http",
    "curl": "curl",
    "ssh": "ssh",
    "tls": "tls",
    "ssl": "tls",
}
_ID_FORM = re.compile(r"^([a-z]+)\s*[/ :]\s*(-?[a-z0-9][a-z0-9-]*)$")
_NUMBER_FORM = re.compile(r"^[#(]?(-?\d{1,5})[)]?\??$")
_NUMBER_IN_TEXT = re.compile(r"(?<![\w.,:/-])(\d{3}|1[01]\d{3})(?![\w.,:/])")
FUZZY_CUTOFF = 72.0
MAX_RESULTS = 5


def _match(entry: Entry, confidence: float, evidence: str) -> Match:
    return Match(
        entry.protocol, entry.code, entry.id, entry.title, entry.retry, confidence, evidence
    )


def exact(kb: KnowledgeBase, query: str) -> list[Match]:
    """Matches for a query that names a code exactly; [] when it does not."""
    text = " ".join(query.split())
    lowered = text.lower()
    form = _ID_FORM.match(lowered)
    if form:
        protocol = _PROTOCOL_ALIASES.get(form.group(1))
        if protocol is not None and (entry := kb.get(f"{protocol}/{form.group(2)}")):
            return [_match(entry, 1.0, text)]
    name_id = kb.by_name.get(text) or kb.by_name.get(text.upper()) or _name_ignoring_case(kb, text)
    if name_id is not None:
        return [_match(kb.entries[name_id], 1.0, text)]
    number = _NUMBER_FORM.match(lowered)
    if number:
        return _readings(kb, number.group(1), text)
    return []


def _name_ignoring_case(kb: KnowledgeBase, text: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.]{2,60}", text):
        return None
    folded = text.lower()
    for name, entry_id in kb.by_name.items():
        if name.lower() == folded:
            return entry_id
    return None


def _readings(kb: KnowledgeBase, number: str, evidence: str) -> list[Match]:
    """Every entry a bare number can name, in the contract's order of preference."""
    value = int(number)
    order: list[str] = []
    if len(number) == 3 and not number.startswith("-"):
        order += ["ftp", "http"]
    if -1 <= value <= 31:
        order += ["sftp"]
    if 10004 <= value <= 11004:
        order += ["winsock"]
    order += ["curl"] if 0 <= value <= 99 else []
    matches: list[Match] = []
    for protocol in order:
        entry = kb.get(f"{protocol}/{int(number)}" if protocol != "ftp" else f"ftp/{number}")
        if entry is not None and all(m.id != entry.id for m in matches):
            matches.append(_match(entry, 1.0 if not matches else 0.6, evidence))
    return matches


def lookup(query: str) -> list[Match]:
    """Every reading of an explicit question, best first; [] when nothing is known."""
    query = query.strip()
    if not query:
        return []
    kb = load()
    found = exact(kb, query)
    if found:
        return found
    from bot.detect import detector

    scanned = detector().scan_many([query], threshold=0.5, informational=True)[0]
    if scanned:
        return scanned[:MAX_RESULTS]
    # A person who asks about "553 something" means 553: its readings before any guess.
    named: list[Match] = []
    for number in _NUMBER_IN_TEXT.findall(query):
        for match in _readings(kb, number, query)[:1]:
            if all(m.id != match.id for m in named):
                match.confidence = 0.9
                named.append(match)
    guesses = [m for m in fuzzy(kb, query) if all(m.id != n.id for n in named)]
    return (named + guesses)[:MAX_RESULTS]


def fuzzy(kb: KnowledgeBase, query: str) -> list[Match]:
    """Entries whose titles, phrases or server texts read like the query (rapidfuzz)."""
    from rapidfuzz import fuzz, process, utils

    choices: list[str] = []
    owners: list[str] = []
    for entry in kb.entries.values():
        texts = [entry.title, *entry.phrases, *entry.context_phrases]
        texts += [t.text for t in entry.server_texts]
        texts += [v.title for v in entry.variants]
        for text in texts:
            choices.append(text)
            owners.append(entry.id)
    results = process.extract(
        query,
        choices,
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        limit=MAX_RESULTS * 4,
        score_cutoff=FUZZY_CUTOFF,
    )
    matches: list[Match] = []
    for choice, score, index in results:
        entry = kb.entries[owners[index]]
        if any(m.id == entry.id for m in matches):
            continue
        matches.append(_match(entry, round(score / 100 * 0.9, 2), choice))
        if len(matches) == MAX_RESULTS:
            break
    return matches


def suggestions(query: str, limit: int = 3) -> list[str]:
    """Ids that look like what the user may have meant, for "did you mean"."""
    from rapidfuzz import fuzz, process

    kb = load()
    ids = list(kb.entries)
    return [c for c, _, _ in process.extract(query.lower(), ids, scorer=fuzz.ratio, limit=limit)]
