"""Recognise reply codes and error texts in chat messages (no Slack here).

`scan_many` is the hot path. It joins a batch of messages and runs a handful of compiled
regular expressions over the whole batch; Python code runs only for the spots those find
(a number, a symbolic name, a word that anchors a known error phrase), so ordinary chat
costs almost nothing.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bot import text as textmod
from bot.context import judge_number
from bot.knowledge import KnowledgeBase, knowledge_dir, load
from bot.models import Entry, Match, Verdict

SCAN_THRESHOLD = 0.7

MAX_MATCHES = 6
# Slack caps a message at 40,000 characters; longer input is read up to that point.
MAX_MESSAGE_CHARS = 40_000
EVIDENCE_CHARS = 160

# Numbers shaped like FTP/HTTP reply codes or Winsock errors. The pattern starts with a
# character class so the regex engine scans fast; what may stand before it is checked after.
_NUMBER: Final = re.compile(r"[1-6]\d\d(?:\d\d)?(?!\w|[.,:/]\d)")
_NOT_BEFORE_NUMBER: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.,:/\\-")
# What a known word calls for (`Detector.word_bits`): the checks, the clean-ups a phrase match
# needs first, and from bit _FACT_SHIFT up the context facts the word makes hold.
_PHRASE: Final = 1
_NAME: Final = 2
_SPECIAL: Final = 4
_TYPO: Final = 8
_SPELLING: Final = 16
_CHECKS: Final = _PHRASE | _NAME | _SPECIAL
_FACT_SHIFT: Final = 5
_SPECIAL_WORDS: Final = (b"curl", b"status", b"code", b"errno", b"winerror", b"sftp")
# Each pattern below starts with a literal and checks the word boundary (\b) before it by a
# lookbehind, so that the regex engine skips ahead to that literal instead of trying a boundary
# at every position.
_CURL: Final = re.compile(
    r"curl(?<!\wcurl)(?:(?:\.exe)?\b(?::\s*|\s+(?:error|exit(?:ed)?|exited\s+with|returned|"
    r"failed\s+with|fails\s+with|code|status|rc)(?:\s+(?:code|status|error|with))*"
    r"\s*[:=#]?\s*)\(?(\d{1,2})\)?(?!\d)"
    r"|\b[^\n]{0,60}?\bexit\s+(?:code|status)\s*[:=]?\s*(\d{1,2})(?!\d)"
    r"|\s+(?:returns?|returned|gives?|gave|exits?\s+with|exited\s+with|fails?\s+with)"
    r"\s+(?:code\s+|status\s+|error\s+)?(\d{1,2})(?![\d.,:%]))"
)
_SFTP_STATUS: Final = re.compile(
    r"(?:s(?<!\ws)(?:ftp\s+(?:status|error|code|failure|status\s+code|error\s+code)?"
    r"|tatus\s+code|ftp\s+status|sh_fx\w*|tatus)|e(?<!\we)rror\s+code|f(?<!\wf)x\s+code)"
    r"\s*[:=#]?\s*\(?(-?\d{1,2})\)?(?![\d.])"
)
_ERRNO: Final = re.compile(r"(?:e(?<!\we)rrno|w(?<!\ww)inerror)\s*[:=]?\s*(-?\d{1,5})\b")
# Each special form ends in a number: a message without a digit holds none.
_DIGIT: Final = re.compile(r"\d")
_HTTP_BEFORE: Final = re.compile(r"\bhttps?(?:\s+(?:status|error|code))*\s*[:/]?\s*$")
_NOT_SFTP_BEFORE: Final = re.compile(r"\b(?:exit|exited|process|http|https)\b[^\n]{0,20}$")
_SPELLING_TRIGGERS: Final = textmod.SPELLING_TRIGGERS_BYTES
# Words too common in replies to vouch for a code on their own.
_WEAK_WORDS: Final = frozenset(b"not no ok okay server file files user error failed".split())
_COMMON_WORDS: Final = frozenset(w.encode() for w in textmod.COMMON_WORDS)
_STOPWORDS: Final = frozenset(w.encode() for w in textmod.STOPWORDS)
_REPLY_PROTOCOLS: Final = frozenset({"ftp", "sftp", "http"})
_FAMILY_PROTOCOLS: Final = frozenset({"ftp", "sftp", "http", "ssh"})
_TIERS: Final = {"ftp": 0, "sftp": 0, "http": 0, "ssh": 1, "tls": 1, "winsock": 1, "curl": 2}


# Lower-case ASCII bytes with every byte that is not a word character (\w) turned into a space:
# splitting such text gives exactly the words that regex word boundaries (\b) see.
_TOKEN_TABLE: Final = bytes(
    c if chr(c).isalnum() or c == 0x5F or c >= 0x80 else 0x20 for c in range(256)
)
_WORD_RE: Final = re.compile(r"\w+")


# The context facts, one bit each (`_Msg.fact`).
_SFTP: Final = 1
_FTP: Final = 1 << 1
_FTP_ONLY_BIT: Final = 1 << 2
_SSH_ONLY_BIT: Final = 1 << 3
_FILE_TRANSFER: Final = 1 << 4
_MFT: Final = 1 << 5
_WEB: Final = 1 << 6
_WEB_APP: Final = 1 << 7
_TROUBLE_BIT: Final = 1 << 8
_QUESTION_BIT: Final = 1 << 9


class _Fact:
    """Whether a message holds one of `words` as a whole word, or a form that a regex of `forms`
    finds; each form's regex runs only when one of its literals occurs in the message (a form
    without a regex holds whenever a literal does). Each fact is one bit of `_Msg.fact`."""

    __slots__ = ("bit", "forms", "words")

    def __init__(self, bit: int, words: str, *forms: tuple[str, str | None]) -> None:
        self.bit = bit
        self.words = frozenset(w.encode() for w in words.split())
        self.forms = tuple(
            (tuple(literals.split()), re.compile(pattern) if pattern else None)
            for literals, pattern in forms
        )

    def formed(self, lower: str) -> bool:
        """Whether one of the fact's multi-word forms occurs in the (lower-case) text."""
        for literals, pattern in self.forms:
            for literal in literals:
                if literal in lower:
                    if pattern is None or pattern.search(lower) is not None:
                        return True
                    break
        return False


# Context facts. Each is a set of whole words, looked up in the message's word set, plus the
# few forms that are not one word ("web client", "pure-ftpd"), tried by regex only when a
# literal they must contain occurs in the message. `_Fact` documents the regex it stands for.
_SFTP_CONTEXT: Final = _Fact(
    _SFTP,
    "sftp ssh scp winscp paramiko pysftp jsch sshj openssh eft globalscape",
    ("ssh_fx", r"\bssh_fx"),
)
# Words that say the message is about file transfer, strongly (a protocol or product) or weakly.
_FTP_CONTEXT: Final = _Fact(
    _FTP,
    "ftp ftps sftp ssh scp winscp filezilla vsftpd proftpd pureftpd lftp cuteftp ftplib "
    "ftpwebrequest eft mft globalscape paramiko pysftp curl tnftp passive pasv epsv pyftpdlib "
    "jsch sshj openssh moveit goanywhere axway cerberus ws_ftp coreftp cyberduck transmit rclone "
    "webdav",
    ("pure-ftpd serv-u", r"\b(?:pure-ftpd|serv-u)\b"),
)
# Words that name one protocol family only: an FTP entry's generic phrases ("no such file")
# count beside FTP words, an SFTP entry's beside SSH words. ("ftp>" and "iis ftp" hold "ftp".)
_FTP_ONLY: Final = _Fact(
    _FTP_ONLY_BIT,
    "ftp ftps vsftpd proftpd pureftpd lftp cuteftp ftplib ftpwebrequest tnftp passive pasv epsv "
    "pyftpdlib ws_ftp coreftp stor retr",
    ("pure-ftpd serv-u", r"\b(?:pure-ftpd|serv-u)\b"),
)
# ("sftp-server" and "internal-sftp" hold "sftp".)
_SSH_ONLY: Final = _Fact(
    _SSH_ONLY_BIT,
    "sftp ssh scp paramiko pysftp jsch sshj openssh",
    ("ssh_fx", r"\bssh_fx"),
    ("/-31)", r"\(\d+/-31\)"),
)
_WEAK_FT_CONTEXT: Final = _Fact(
    _FILE_TRANSFER,
    "upload uploads uploading uploaded download downloads downloading transfer transfers "
    "transferring file files directory listing put get mput mget",
)
# Managed-file-transfer web front ends: the only place an HTTP code is ours to explain.
_MFT_CONTEXT: Final = _Fact(
    _MFT,
    "eft mft globalscape webdav webclient wtc dropzone moveit goanywhere axway kiteworks "
    "sharefile cerberus workspace workspaces",
    (
        "web transfer file drop serv-u",
        r"\b(?:web\s*client|web\s+transfer|transfer\s+(?:portal|site|server|client)|"
        r"file\s+(?:portal|share|drop)|drop\s*zone|serv-u|files\.com)\b",
    ),
)
_WEB_CONTEXT: Final = _Fact(
    _WEB,
    "http https webclient webdav wtc browser portal dropzone workspace workspaces",
    ("web drop", r"\b(?:web\s*client|web\s+transfer|web\s+ui|web\s+interface|drop\s*zone)\b"),
)
# Web apps and services whose HTTP errors are not ours to answer.
_WEB_APP_CONTEXT: Final = _Fact(
    _WEB_APP,
    "api apis page pages website dashboard dashboards grafana kibana jenkins endpoint nginx "
    "loadbalancer lb alb elb frontend backend app apps checkout pod pods k8s kubernetes ingress "
    "cdn cloudflare prometheus gitlab github jira confluence sso okta vault argo argocd helm "
    "docker registry elasticsearch istio lambda gateway graphql webhook webhooks microservice "
    "microservices swagger react django rails flask wordpress cms",
    ("load front-end", r"\b(?:load\s*balancer|front-end)\b"),
)
# Words that say something went wrong, needed before a generic phrase ("timed out") counts.
_TROUBLE: Final = _Fact(
    _TROUBLE_BIT,
    "error errors err fail fails failed failing failure getting got get gets keep keeps says "
    "said saying shows showing unable not wont cant cannot broken issue problem help why stuck "
    "again exception denied refused aborted dies died dropping drops dropped intermittent "
    "randomly anyone idea ideas traceback raise raised",
    ("?", None),
    ("!", None),
    ("'t", r"\b(?:won't|can't)\b"),
    ("out", r"\b(?:times|timing|timed)\s+out\b"),
    ("error exception", r"\w(?:error|exception)\b"),
    (":", r"\w\.\w+:"),
)
# A question: "?", a message that starts like one, or a question's words anywhere.
_QUESTION: Final = _Fact(
    _QUESTION_BIT,
    "explain",
    ("?", None),
    (
        "what meaning anyone",
        r"\b(?:what\s+(?:does|do|is|are)|what's|meaning\s+of|anyone\s+(?:seen|know))\b",
    ),
)
_QUESTION_START: Final = frozenset(
    w.encode() for w in "what whats why how is does do can could explain meaning".split()
)


_FACTS: Final = (
    _SFTP_CONTEXT,
    _FTP_CONTEXT,
    _FTP_ONLY,
    _SSH_ONLY,
    _WEAK_FT_CONTEXT,
    _MFT_CONTEXT,
    _WEB_CONTEXT,
    _WEB_APP_CONTEXT,
    _TROUBLE,
    _QUESTION,
)
# Word -> the bits of the facts it makes hold.
_FACT_BITS: Final[dict[bytes, int]] = {}
for _fact_of in _FACTS:
    for _word in _fact_of.words:
        _FACT_BITS[_word] = _FACT_BITS.get(_word, 0) | _fact_of.bit
_FACT_WORDS: Final = frozenset(_FACT_BITS)
_FACT_BY_BIT: Final = {fact.bit: fact for fact in _FACTS}


class _Cand:
    """A candidate answer: what the scanner found and where. Only the candidates that survive
    `_finish` become `Match` objects, with their evidence."""

    __slots__ = (
        "_evidence",
        "_line",
        "asked",
        "confidence",
        "end",
        "from_phrase",
        "id",
        "position",
        "protocol",
        "reply_text",
        "start",
        "variant",
    )

    def __init__(
        self,
        entry_id: str,
        protocol: str,
        confidence: float,
        start: int,
        end: int,
        asked: bool,
        reply_text: str,
        variant: str | None,
        from_phrase: bool,
    ) -> None:
        self.id = entry_id
        self.protocol = protocol
        self.confidence = confidence
        self.start = start
        self.end = end
        self.position = start + 1 if from_phrase else start
        self.asked = asked
        self.reply_text = reply_text
        self.variant = variant
        self.from_phrase = from_phrase
        self._line: tuple[int, str] | None = None
        self._evidence: str | None = None

    def line(self, text: str) -> tuple[int, str]:
        """Where the candidate's line starts in `text`, and the line."""
        found = self._line
        if found is None:
            line_start = text.rfind("\n", 0, self.start) + 1
            line_end = text.find("\n", self.end)
            line = text[line_start : line_end if line_end >= 0 else len(text)]
            found = self._line = (line_start, line)
        return found

    def evidence(self, text: str) -> str:
        """The words of the input that triggered the candidate (see `_evidence`)."""
        found = self._evidence
        if found is None:
            line_start, line = self.line(text)
            found = self._evidence = _evidence(text, line_start, line, self.start)
        return found

    def probe(self, text: str) -> str:
        """The text a variant's pattern is tried on: the reply's own words, or the line."""
        return self.reply_text or self.line(text)[1]


class _Msg:
    """One message being scanned: its text, its lower-case form, its words, what it says about
    its context (each fact worked out at most once), and the candidates found in it."""

    __slots__ = ("found", "holds", "known", "lower", "text", "word_facts", "words")

    def __init__(self, text: str, lower: str, words: list[bytes], bits: int) -> None:
        self.text = text
        self.lower = lower
        # The words of the batch's bytes pass (punctuation made spaces, apostrophes dropped),
        # and the facts that the known ones among them make hold.
        self.words = words
        self.word_facts = bits >> _FACT_SHIFT
        self.found: list[_Cand] = []
        # Bits of the facts worked out so far, and of those that hold; -1 before the words.
        self.known = -1
        self.holds = 0

    def fact(self, bit: int) -> bool:
        """Whether the fact with this bit holds for the message (`_FTP`, `_QUESTION_BIT` ...)."""
        known = self.known
        if known < 0:
            if bit == _QUESTION_BIT and "?" in self.lower:
                return True  # a question mark says it without reading the words
            known = self._read_words()
        if known & bit:
            return (self.holds & bit) != 0
        self.known = known | bit
        if _FACT_BY_BIT[bit].formed(self.lower):
            self.holds |= bit
            return True
        return False

    def _read_words(self) -> int:
        """Set the bits of every fact that one of the message's whole words makes hold."""
        lower = self.lower
        if "'" not in lower and lower.isascii():
            # Without an apostrophe the word pass saw these very words.
            words = self.words
            holds = self.word_facts
        else:
            if lower.isascii():
                words = lower.encode("ascii").translate(_TOKEN_TABLE).split()
            else:
                words = [word.encode() for word in _WORD_RE.findall(lower)]
            holds = 0
            bits = _FACT_BITS
            for word in _FACT_WORDS.intersection(words):
                holds |= bits[word]
        # A message that starts like a question: "what ...", "is it ...", "how do I ...".
        if words and words[0] in _QUESTION_START and lower.lstrip().startswith(words[0].decode()):
            holds |= _QUESTION_BIT
        self.holds = self.known = holds
        return holds

    def family(self, protocol: str) -> bool:
        """Whether the message names the protocol family that `protocol` belongs to."""
        if protocol == "ftp":
            return self.fact(_FTP_ONLY_BIT) or (self.fact(_FTP) and not self.fact(_SSH_ONLY_BIT))
        if protocol in ("sftp", "ssh"):
            return self.fact(_SSH_ONLY_BIT) or (self.fact(_FTP) and not self.fact(_FTP_ONLY_BIT))
        return self.fact(_FTP)


@dataclass(frozen=True, slots=True)
class _Phrase:
    entry_id: str
    variant: str | None
    words: frozenset[str]
    order: tuple[str, ...]
    needs_context: bool
    locate: str
    protocol: str
    # The words as the scanner compares them: bytes.
    bwords: frozenset[bytes]
    border: tuple[bytes, ...]
    # The confidence a hit starts from (more words, more sure), and how many words the phrase
    # may spread over before it counts as scattered.
    base: float
    spread: int


class Detector:
    """Everything compiled from the knowledge base that scanning needs."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.phrases: list[_Phrase] = []
        self.anchors: dict[bytes, list[int]] = {}
        self.vocab: dict[str, frozenset[str]] = {}
        self.vocab_bytes: dict[str, frozenset[bytes]] = {}
        self.variant_res: dict[str, list[tuple[re.Pattern[str], str]]] = {}
        # Per variant pattern, strings one of which any text it fits holds (None: not known).
        self.variant_literals: dict[str, list[tuple[str, ...] | None]] = {}
        self.errno_linux: dict[str, str] = {}
        self.errno_sftp: dict[str, str] = {}
        self.names: dict[str, tuple[str, str]] = {}  # lower-case name -> (name, entry id)
        self.typo: dict[str, str] = {}
        self.typo_bytes: dict[bytes, bytes] = {}
        self.typo_keys: frozenset[bytes] = frozenset()
        # Every word the word pass looks for, with what it calls for (the `_PHRASE` ... bits).
        self.word_bits: dict[bytes, int] = {}
        self.reachable: dict[bytes, set[int]] = {}  # gate word -> phrases it may start
        self.raw_need: list[frozenset[bytes]] = []
        self._load_errno()
        for entry in kb.entries.values():
            self._add_entry(entry)
        self._build_gate()
        self.anchor_keys = frozenset(self.anchors)
        # A three-digit number -> its FTP and HTTP entry ids, None where there is no entry.
        self.three_digit: dict[str, tuple[str | None, str | None]] = {
            str(n): (
                f"ftp/{n}" if f"ftp/{n}" in kb.entries else None,
                f"http/{n}" if f"http/{n}" in kb.entries else None,
            )
            for n in range(100, 700)
        }
        # The numbers _NUMBER finds that some entry reads: FTP or HTTP codes, Winsock errors.
        self.codes = frozenset(
            [n for n, ids in self.three_digit.items() if ids != (None, None)]
            + [e.code for e in kb.entries.values() if e.protocol == "winsock" and len(e.code) == 5]
        )
        # Anchor -> the phrases anchored on it, each with its other words (rarest first).
        self.anchored = {
            anchor: tuple(
                (self.phrases[i], tuple(sorted(self.phrases[i].bwords - {anchor}, key=_rarity)))
                for i in indexes
            )
            for anchor, indexes in self.anchors.items()
        }
        # What a Match copies from its entry, and from each variant (a key that names no
        # variant reads as the entry itself).
        self.answer: dict[str, tuple[str, str, str, Verdict]] = {}
        self.variant_answer: dict[tuple[str, str], tuple[str, str, str, Verdict]] = {}
        for entry in kb.entries.values():
            self.answer[entry.id] = (entry.protocol, entry.code, entry.title, entry.retry)
            for variant in entry.variants:
                self.variant_answer.setdefault(
                    (entry.id, variant.key),
                    (entry.protocol, entry.code, variant.title, variant.retry),
                )
        # Entries that are not errors ("n/a" retry): answered only when asked.
        self.no_retry = frozenset(e.id for e in kb.entries.values() if e.retry == "n/a")

    def _load_errno(self) -> None:
        path = knowledge_dir() / "errno.toml"
        names = dict(self.kb.by_name)
        if path.exists():
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            known = self.kb.entries
            self.errno_linux = {k: v for k, v in data.get("linux", {}).items() if v in known}
            self.errno_sftp = {k: v for k, v in data.get("sftp", {}).items() if v in known}
            for name, entry_id in data.get("names", {}).items():
                if entry_id in known:
                    names.setdefault(name, entry_id)
        self.names = {name.lower(): (name, entry_id) for name, entry_id in names.items()}

    def _add_entry(self, entry: Entry) -> None:
        def add(texts: Sequence[str], variant: str | None, needs_context: bool) -> None:
            for phrase in texts:
                order = tuple(textmod.significant_words(phrase, keep_numbers=True))
                if len(set(order)) >= 2:
                    locate = next((w for w in textmod.words(phrase) if len(w) >= 3), order[0])
                    words = frozenset(order)
                    size = len(words)
                    base = 0.82 if size == 2 else 0.88 if size == 3 else 0.92
                    self.phrases.append(
                        _Phrase(
                            entry.id,
                            variant,
                            words,
                            order,
                            needs_context,
                            locate,
                            entry.protocol,
                            frozenset(w.encode() for w in words),
                            tuple(w.encode() for w in order),
                            base,
                            2 * size + 1,
                        )
                    )

        add(entry.phrases, None, False)
        add(entry.context_phrases, None, True)
        vocab_texts = [entry.title, *entry.phrases, *entry.context_phrases]
        vocab_texts += [t.text for t in entry.server_texts]
        for variant in entry.variants:
            add(variant.phrases, variant.key, False)
            add(variant.context_phrases, variant.key, True)
            vocab_texts += [variant.title, *variant.phrases, *variant.context_phrases]
            # The literal words of a variant's pattern are words its replies use.
            vocab_texts.append(" ".join(re.findall(r"(?<!\\)\b[a-z]{3,}", variant.when.lower())))
        vocab: set[str] = set()
        for chunk in vocab_texts:
            vocab.update(textmod.significant_words(chunk))
        self.vocab[entry.id] = frozenset(vocab)
        self.vocab_bytes[entry.id] = frozenset(w.encode() for w in vocab)
        if entry.variants:
            # Case-insensitive by lower-casing both sides: re.IGNORECASE is several times slower.
            lowered = [_lower_pattern(v.when) for v in entry.variants]
            self.variant_res[entry.id] = [
                (re.compile(_factored(pattern)), v.key)
                for pattern, v in zip(lowered, entry.variants, strict=True)
            ]
            self.variant_literals[entry.id] = [_literals(pattern) for pattern in lowered]

    def _build_gate(self) -> None:
        """Anchor each phrase on its rarest word, and fill `word_bits`: what each word the word
        pass meets calls for (checks, clean-ups, context facts)."""
        known = set().union(*self.vocab.values()) if self.vocab else set()
        frequency: dict[str, int] = {}
        for phrase in self.phrases:
            known.update(phrase.words)
            for word in phrase.words:
                frequency[word] = frequency.get(word, 0) + 1
        for word in sorted(known):
            if len(word) >= 5 and not word.isdigit():
                for variant in textmod.typo_variants(word):
                    if variant not in known and variant not in textmod.STOPWORDS:
                        self.typo.setdefault(variant, word)
        spelled_by: dict[str, list[str]] = {}
        for variant, word in self.typo.items():
            spelled_by.setdefault(word, []).append(variant)
        for index, phrase in enumerate(self.phrases):
            anchor = min(
                phrase.order,
                key=lambda w: (
                    w.isdigit(),
                    w in textmod.COMMON_WORDS,
                    w in textmod.SPELLING_SOURCES,
                    frequency[w],
                    -len(w),
                ),
            )
            self.anchors.setdefault(anchor.encode(), []).append(index)
            # A message may spell the anchor another way ("file name" for "filename").
            sources = textmod.SPELLING_SOURCES.get(anchor, frozenset())
            for spelling in (anchor, *spelled_by.get(anchor, ()), *sources):
                key = spelling.encode()
                self._mark(key, _PHRASE)
                self.reachable.setdefault(key, set()).add(index)
            # What the raw words must hold for this phrase to have a chance: its words that no
            # spelling rule writes (those may hide in "can't", "timeout", "file name").
            self.raw_need.append(
                frozenset(w.encode() for w in phrase.words if w not in textmod.SPELLING_SOURCES)
            )
        self.typo_bytes = {k.encode(): v.encode() for k, v in self.typo.items()}
        self.typo_keys = frozenset(self.typo_bytes)
        for lowered in self.names:
            self._mark(lowered.encode(), _NAME)
        for key in _SPECIAL_WORDS:
            self._mark(key, _SPECIAL)
        for typo in self.typo_keys:
            self._mark(typo, _TYPO)
        for trigger in _SPELLING_TRIGGERS:
            self._mark(trigger, _SPELLING)
        for fact_word, facts in _FACT_BITS.items():
            self._mark(fact_word, facts << _FACT_SHIFT)

    def _mark(self, word: bytes, bits: int) -> None:
        """Add `bits` to what the word pass learns from `word`."""
        self.word_bits[word] = self.word_bits.get(word, 0) | bits

    # -- scanning -------------------------------------------------------------------------

    def scan(self, message: str) -> list[Match]:
        """What the bot would answer for one chat message, best first."""
        return self.scan_many([message])[0]

    def scan_many(
        self,
        messages: Sequence[str],
        threshold: float = SCAN_THRESHOLD,
        *,
        informational: bool = False,
    ) -> list[list[Match]]:
        """`scan` for a batch of messages, sharing the regular-expression passes.

        `informational=True` keeps success and intermediate codes that were not asked about
        (a person looking a code up always wants it; a channel only when asked).
        """
        # A scan makes no reference cycles: what it drops is freed at once, and the collector,
        # which would walk every object of the knowledge base, has nothing to find.
        collecting = gc.isenabled()
        gc.disable()
        try:
            texts = list(messages)
            if texts and max(map(len, texts)) > MAX_MESSAGE_CHARS:
                texts = [m[:MAX_MESSAGE_CHARS] for m in texts]
            if any("\x00" in m for m in texts):  # NUL separates messages
                texts = [m.replace("\x00", " ") for m in texts]
            prepared, joined = textmod.prepare_joined(texts)
            # Lowering ASCII is a table lookup per character, and the rest much slower: one
            # message with an accent should not make the whole batch take the slow way.
            lower = (
                joined.lower()
                if joined.isascii()
                else "\x00".join([text.lower() for text in prepared])
            )
            if len(lower) != len(joined):  # a few Unicode letters change length when lowered
                return [self._scan_batch([p], threshold, informational)[0] for p in prepared]
            return self._scan_batch(prepared, threshold, informational, joined, lower)
        finally:
            if collecting:
                gc.enable()

    def _scan_batch(
        self,
        prepared: list[str],
        threshold: float,
        informational: bool,
        joined: str | None = None,
        lower: str | None = None,
    ) -> list[list[Match]]:
        if joined is None or lower is None:
            joined = "\x00".join(prepared)
            lower = joined.lower()
        # Where each message starts in the joined text (one NUL after each).
        starts = list(itertools.accumulate([len(text) + 1 for text in prepared], initial=0))
        msgs: list[_Msg | None] = [None] * len(prepared)

        data = lower.encode("utf-8", "surrogatepass").translate(textmod.WORD_BYTES_TABLE, b"'")
        split, bits_of = _word_pass(data, self.word_bits)
        codes = self.codes
        for hit in _NUMBER.finditer(lower):
            at = hit.start()
            if at and lower[at - 1] in _NOT_BEFORE_NUMBER:
                continue
            if hit.group() not in codes:
                continue  # no entry reads this number: no context can make it an answer
            index = bisect.bisect_right(starts, at) - 1
            base = starts[index]
            msg = msgs[index]
            if msg is None:
                text = prepared[index]
                msg = _Msg(text, lower[base : base + len(text)], split[index], bits_of[index])
                msgs[index] = msg
            self._judge_code(msg, at - base, hit.end() - base)
        for index, part in enumerate(data.split(b"\x00")):
            bits = bits_of[index]
            if not bits & _CHECKS:
                continue
            msg = msgs[index]
            if msg is None:
                base = starts[index]
                text = prepared[index]
                msg = _Msg(text, lower[base : base + len(text)], split[index], bits)
                msgs[index] = msg
            self._check_words(msg, bits, part.isascii())
        return [
            self._finish(msg, threshold, informational) if msg is not None and msg.found else []
            for msg in msgs
        ]

    def _check_words(self, msg: _Msg, bits: int, ascii_only: bool) -> None:
        """What the message's known words call for (`bits`): names, special forms, phrases."""
        words = msg.words
        if bits & _NAME:
            self._match_names(msg, [w for w in words if self.word_bits.get(w, 0) & _NAME])
        if bits & _SPECIAL:
            self._special_forms(msg)
        if not bits & _PHRASE:
            return
        spelled: list[bytes] | None = None
        if ascii_only:
            # These raw words are the message's words as `textmod.words` gives them, once the
            # spelling rules they trigger are applied.
            spelled = (
                textmod.respelled_bytes(words, msg.lower.replace("'", "").encode())
                if bits & _SPELLING
                else words
            )
        if spelled is not None:
            # The word pass saw whether the raw words hold a typo, not respelt ones.
            self._match_phrases(msg, spelled, typos=spelled is not words or bits & _TYPO != 0)
        elif self._phrase_possible(words):
            self._match_phrases(msg, [w.encode() for w in textmod.words(msg.lower)], typos=True)

    def _phrase_possible(self, words: list[bytes]) -> bool:
        """Cheap test on raw words: could any phrase that a gate word starts be complete?"""
        typo = self.typo_bytes
        present = {typo.get(w, w) for w in words}
        need = self.raw_need
        reachable = self.reachable
        return any(need[index] <= present for word in words for index in reachable.get(word, ()))

    def _match_names(self, msg: _Msg, hits: list[bytes]) -> None:
        message, lower = msg.text, msg.lower
        for word in hits:
            known = self.names.get(word.decode())
            if known is None:
                continue
            name, entry_id = known
            exact = message.find(name)
            if exact < 0 and (not name.isupper() or lower.find(word.decode()) < 0):
                continue  # CamelCase names (.NET's TimedOut) must be written exactly
            if entry_id.startswith("sftp/") and name not in self.kb.by_name and not msg.fact(_SFTP):
                continue  # a bare ENOENT is about SFTP only when the message is
            start = exact if exact >= 0 else lower.find(word.decode())
            self._add(msg, entry_id, 0.95, start, start + len(name), asked=True)

    def _special_forms(self, msg: _Msg) -> None:
        """curl's exit codes, SFTP status numbers and errno values, in one message."""
        lower = msg.lower
        if _DIGIT.search(lower) is None:
            return
        if "curl" in lower:
            for hit in _CURL.finditer(lower):
                code = hit.group(1) or hit.group(2) or hit.group(3)
                if self.kb.has("curl", code):
                    self._add(msg, f"curl/{code}", 0.95, hit.start(), hit.end(), asked=True)
        if "status" in lower or "code" in lower or "sftp" in lower or "ssh_fx" in lower:
            for hit in _SFTP_STATUS.finditer(lower):
                code = hit.group(1)
                said = hit.group(0)
                explicit = "sftp" in said or "ssh_fx" in said or "=" in said
                if not self.kb.has("sftp", code) or not (explicit or msg.fact(_SFTP)):
                    continue
                if _NOT_SFTP_BEFORE.search(lower, max(0, hit.start() - 30), hit.start()):
                    continue
                entry = self.kb.entries[f"sftp/{code}"]
                asked = entry.retry != "n/a" or "?" in lower or "mean" in lower
                self._add(msg, entry.id, 0.9, hit.start(), hit.end(), asked=asked)
        if "errno" in lower or "winerror" in lower:
            for hit in _ERRNO.finditer(lower):
                number = hit.group(1)
                entry_id = self.errno_linux.get(number)
                if entry_id is None and number.startswith("1") and self.kb.has("winsock", number):
                    entry_id = f"winsock/{number}"
                if entry_id is None and msg.fact(_SFTP):
                    entry_id = self.errno_sftp.get(number) or (
                        "sftp/4" if self.kb.has("sftp", "4") and len(number) <= 3 else None
                    )
                if entry_id is not None:
                    self._add(msg, entry_id, 0.93, hit.start(), hit.end(), asked=True)

    def _judge_code(self, msg: _Msg, start: int, end: int) -> None:
        lower = msg.lower
        number = lower[start:end]
        verdict = judge_number(lower, start, end)
        if verdict is None:
            return
        if len(number) == 5:
            entry_id = f"winsock/{number}"
            if entry_id not in self.kb.entries or verdict.confidence == 0:
                return
            confidence = verdict.confidence or 0.9
            self._add(
                msg, entry_id, confidence, start, end, asked=True, reply_text=verdict.reply_text
            )
            return
        chosen = self._three_digit_id(number, msg, start, verdict.asked)
        if chosen is None and verdict.reply_line and self.kb.has("ftp", number):
            # A line that reads like the code's own reply text is FTP whatever surrounds it.
            chosen = f"ftp/{number}"
            if not self._reply_words_confidence(chosen, verdict.reply_text, strict=True):
                return
        if chosen is None:
            return
        entry_id = chosen
        confidence = verdict.confidence
        if verdict.reply_line and confidence == 0.0:
            confidence = self._reply_words_confidence(
                entry_id, verdict.reply_text, strict=verdict.mid_line
            )
        if confidence == 0.0:
            return
        asked = verdict.asked or verdict.ask_before or msg.fact(_QUESTION_BIT)
        self._add(msg, entry_id, confidence, start, end, asked=asked, reply_text=verdict.reply_text)

    def _three_digit_id(self, number: str, msg: _Msg, start: int, asked: bool) -> str | None:
        """ftp/N or http/N for a three-digit code, or None when the context says neither."""
        ftp_id, http_id = self.three_digit.get(number, (None, None))
        if ftp_id is None and http_id is None:
            return None
        before = msg.lower[max(0, start - 14) : start]
        explicit_http = _HTTP_BEFORE.search(before) if "http" in before else None
        if http_id is not None:
            if msg.fact(_MFT) or (msg.fact(_WEB) and msg.fact(_FTP)):
                return http_id
            if explicit_http and msg.fact(_FILE_TRANSFER) and not msg.fact(_WEB_APP):
                return http_id
        if ftp_id is None or explicit_http:
            return None
        if not asked and msg.fact(_WEB_APP) and not msg.fact(_FTP):
            return None
        return ftp_id

    def _reply_words_confidence(self, entry_id: str, reply_text: str, *, strict: bool) -> float:
        """How much a bare "550 some words" line reads like that code's real reply text.

        The first few words after the code must be the reply's own words; `strict` (a code in
        mid-sentence) asks for two of them.
        """
        # Six words fit in 80 characters; normalising a whole long line would be wasted work.
        words = [self.typo_bytes.get(w, w) for w in _significant(_words_of(reply_text[:80]))[:6]]
        if not words:
            return 0.0
        vocab = self.vocab_bytes[entry_id]
        shared = [w for w in words if w in vocab]
        telling = [w for w in shared if w not in _WEAK_WORDS]
        distinctive = [w for w in telling if w not in _COMMON_WORDS]
        if strict:
            return 0.85 if len(shared) >= 2 and distinctive else 0.0
        if (len(shared) >= 2 and telling) or distinctive:
            return 0.9
        return 0.0

    def _match_phrases(self, msg: _Msg, words: list[bytes], *, typos: bool) -> None:
        """Known error texts in the message, tolerating typos, word order and filler.

        `words` are the message's words as `textmod.words` gives them, as bytes; `typos` False
        when the word pass found none of them misspelt.
        """
        if not typos or self.typo_keys.isdisjoint(words):
            canon = words
        else:
            typo = self.typo_bytes
            canon = [typo.get(w, w) for w in words]
        present = set(canon)
        found = self.anchor_keys.intersection(present)
        if not found:
            return
        hits: list[tuple[_Phrase, float]] = []
        where: dict[bytes, list[int]] | None = None
        once = len(present) == len(canon)  # no word twice: a word's place is its index
        anchored = self.anchored
        for anchor in found:
            for phrase, others in anchored[anchor]:
                if not all(word in present for word in others):
                    continue
                if phrase.needs_context and not (
                    msg.fact(_TROUBLE_BIT) and msg.family(phrase.protocol)
                ):
                    continue
                if once:
                    places = [canon.index(word) for word in phrase.border]
                else:
                    if where is None:
                        where = {}
                        for i, word in enumerate(canon):
                            if word in where:
                                where[word].append(i)
                            else:
                                where[word] = [i]
                    places = _places(where, phrase.border, anchor)
                confidence = phrase.base
                lowest = highest = previous = places[0]
                in_order = True
                for place in places:
                    lowest = min(lowest, place)
                    highest = max(highest, place)
                    in_order = in_order and place >= previous
                    previous = place
                if highest - lowest + 1 > phrase.spread:
                    confidence -= 0.2
                if not in_order:
                    confidence -= 0.06
                if phrase.needs_context:
                    confidence -= 0.04
                hits.append((phrase, confidence))
        if not hits:
            return
        lower = msg.lower
        asked = msg.fact(_QUESTION_BIT)
        several = len(hits) > 1
        for phrase, confidence in hits:
            if several and any(
                other.entry_id != phrase.entry_id and phrase.words < other.words
                for other, _ in hits
            ):
                continue  # "connection reset by peer" inside a longer SSH banner error
            start = max(0, lower.find(phrase.locate[:4]))
            msg.found.append(
                _Cand(
                    phrase.entry_id,
                    phrase.protocol,
                    confidence,
                    start,
                    start + len(phrase.locate),
                    asked,
                    "",
                    phrase.variant,
                    True,
                )
            )

    # -- assembling ---------------------------------------------------------------------

    def _add(
        self,
        msg: _Msg,
        entry_id: str,
        confidence: float,
        start: int,
        end: int,
        *,
        asked: bool,
        reply_text: str = "",
        variant: str | None = None,
        from_phrase: bool = False,
    ) -> None:
        msg.found.append(
            _Cand(
                entry_id,
                self.kb.entries[entry_id].protocol,
                confidence,
                start,
                end,
                asked,
                reply_text,
                variant,
                from_phrase,
            )
        )

    def variant_of(self, entry_id: str, text: str) -> str | None:
        """The variant of an entry that a reply text selects (first listed that fits)."""
        return self._first_variant(entry_id, [text.lower()])

    def _first_variant(self, entry_id: str, probes: list[str]) -> str | None:
        """The first listed variant of the entry whose pattern fits one of the (lower-case)
        probes, or None."""
        patterns = self.variant_res.get(entry_id)
        if not patterns:
            return None
        literals = self.variant_literals[entry_id]
        for (pattern, key), needed in zip(patterns, literals, strict=True):
            for probe in probes:
                # A substring test first: most replies hold none of a pattern's literals, and
                # the regex engine would try the pattern at every position to find that out.
                if needed is not None and not any(literal in probe for literal in needed):
                    continue
                if pattern.search(probe):
                    return key
        return None

    def _resolve_variant(self, msg: _Msg, cand: _Cand, kept: list[_Cand]) -> None:
        """Pick the variant whose pattern fits the reply text (the first listed that fits)."""
        if cand.variant is not None or cand.id not in self.variant_res:
            return
        text = msg.text
        probes = [cand.probe(text).lower()]
        if len(kept) > 1:
            for other in kept:
                if other.id == cand.id and other is not cand:
                    probe = other.probe(text).lower()
                    if probe not in probes:
                        probes.append(probe)
        cand.variant = self._first_variant(cand.id, probes)

    def _finish(self, msg: _Msg, threshold: float, informational: bool) -> list[Match]:
        """Drop weak and unasked matches, merge repeats, order best first, cap the list."""
        found = msg.found
        if len(found) == 1:  # the common case: one candidate, nothing to merge or order
            cand = found[0]
            if cand.confidence >= threshold and (
                cand.asked or informational or cand.id not in self.no_retry
            ):
                return [self._match(msg, cand, found)]
            return []
        no_retry = self.no_retry
        kept = [
            c
            for c in found
            if c.confidence >= threshold and (c.asked or informational or c.id not in no_retry)
        ]
        if not kept:
            return []
        text = msg.text
        if len(kept) == 1:
            return [self._match(msg, kept[0], kept)]
        # Text after a server reply's code is that reply's own text ("550 Permission denied"),
        # not a second error; text under a client's wrapper code is the cause, and stays.
        replies = [c for c in kept if not c.from_phrase and c.protocol in _REPLY_PROTOCOLS]
        best: dict[str, _Cand] = {}
        for cand in kept:
            if (
                cand.from_phrase
                and replies
                and cand.id not in best
                and any(
                    (reply.position < cand.position or _other_family(cand.protocol, reply.protocol))
                    and reply.evidence(text) == cand.evidence(text)
                    for reply in replies
                )
            ):
                continue
            current = best.get(cand.id)
            if current is None or _better(cand, current):
                if current is not None and cand.variant is None:
                    cand.variant = current.variant
                best[cand.id] = cand
            elif current.variant is None and cand.variant is not None:
                current.variant = cand.variant
        # Best first: codes before client wrappers, surer first, then in reading order (the
        # index keeps the order of equals, as a stable sort would).
        chosen = list(best.values())
        ranked = sorted(
            [
                (_TIERS.get(c.protocol, 1), -round(c.confidence, 1), c.position, index)
                for index, c in enumerate(chosen)
            ]
        )[:MAX_MATCHES]
        return [self._match(msg, chosen[rank[3]], kept) for rank in ranked]

    def _match(self, msg: _Msg, cand: _Cand, kept: list[_Cand]) -> Match:
        """The answer a kept candidate gives, its variant resolved."""
        if cand.variant is None and cand.id in self.variant_res:
            self._resolve_variant(msg, cand, kept)
        variant = cand.variant
        protocol, code, title, retry = (
            self.answer[cand.id]
            if variant is None
            else self.variant_answer.get((cand.id, variant)) or self.answer[cand.id]
        )
        text = msg.text
        return Match(
            protocol,
            code,
            cand.id,
            title,
            retry,
            cand.confidence,
            cand.evidence(text),
            variant,
            cand.position,
            cand.from_phrase,
            cand.asked,
            cand.reply_text or cand.line(text)[1],
        )


def _word_pass(data: bytes, word_bits: dict[bytes, int]) -> tuple[list[list[bytes]], list[int]]:
    """Each message's words in the batch `data` (NUL between messages), read once, and what
    its known words say: the OR of their `word_bits` (checks called for, facts made to hold).
    One split serves the batch, the NULs made words of their own."""
    split: list[list[bytes]] = []
    bits_of: list[int] = []
    flat = data.replace(b"\x00", b" \x00 ").split()
    flat.append(b"\x00")
    begin = 0
    bits = 0
    for at, word in enumerate(flat):
        if word == b"\x00":
            split.append(flat[begin:at])
            bits_of.append(bits)
            begin = at + 1
            bits = 0
            continue
        known = word_bits.get(word)
        if known is not None:
            bits |= known
    return split, bits_of


def _words_of(text: str) -> list[bytes]:
    """`textmod.words(text)` as bytes, without the regex passes when no spelling rule applies."""
    if text.isascii():
        raw = text.lower().encode("ascii")
        words = raw.translate(textmod.WORD_BYTES_TABLE, b"'").split()
        if _SPELLING_TRIGGERS.isdisjoint(words):
            return words
        spelled = textmod.respelled_bytes(words, raw.replace(b"'", b""))
        if spelled is not None:
            return spelled
    return [w.encode() for w in textmod.words(text)]


def _significant(words: list[bytes]) -> list[bytes]:
    """`textmod.significant_words` of these words: stopwords and bare numbers left out."""
    return [w for w in words if w not in _STOPWORDS and not w.isdigit()]


def _factored(pattern: str) -> str:
    """`pattern` with its alternatives factored (`textmod.regex_factored`), if it can be."""
    try:
        return textmod.regex_factored(pattern)
    except ValueError:
        return pattern


def _literals(pattern: str) -> tuple[str, ...] | None:
    """`textmod.regex_literals` of a pattern, as a tuple to test in order."""
    found = textmod.regex_literals(pattern)
    return None if found is None else tuple(sorted(found))


def _lower_pattern(pattern: str) -> str:
    """A pattern's letters in lower case, escapes (\\S, \\W, \\D, \\B) left as written."""
    return re.sub(r"(\\.)|([A-Z])", lambda m: m.group(1) or m.group(2).lower(), pattern)


def _rarity(word: bytes) -> tuple[bool, int, bytes]:
    """Sort key that puts the words a message is least likely to hold first: uncommon, long."""
    return (word in _COMMON_WORDS, -len(word), word)


def _places(where: dict[bytes, list[int]], order: tuple[bytes, ...], anchor: bytes) -> list[int]:
    """Where each phrase word sits, taking each word's occurrence nearest the anchor."""
    pivot = where[anchor][0]
    places = []
    for word in order:
        seen = where[word]
        place = seen[0]
        if len(seen) > 1:  # the nearest to the anchor; of two as near, the first
            for i in seen:
                if abs(i - pivot) < abs(place - pivot):
                    place = i
        places.append(place)
    return places


def _other_family(protocol: str, reply_protocol: str) -> bool:
    """A protocol-level phrase beside another protocol's reply code is that reply's text."""
    return protocol in _FAMILY_PROTOCOLS and protocol != reply_protocol


def _better(candidate: _Cand, current: _Cand) -> bool:
    if candidate.confidence != current.confidence:
        return candidate.confidence > current.confidence
    return candidate.position < current.position


def _evidence(message: str, line_start: int, line: str, start: int) -> str:
    """The words of the input that triggered a match: its line, trimmed to a readable size."""
    if len(line.strip()) <= EVIDENCE_CHARS:
        return line.strip()
    offset = max(0, start - line_start - EVIDENCE_CHARS // 3)
    piece = message[line_start + offset : line_start + offset + EVIDENCE_CHARS].strip()
    return ("…" if offset else "") + piece + "…"


_DETECTOR: Detector | None = None


def detector() -> Detector:
    """The process-wide detector, built on first use."""
    global _DETECTOR
    if _DETECTOR is None:
        _DETECTOR = Detector(load())
    return _DETECTOR


def scan(message: str) -> list[Match]:
    """What the bot would answer for one chat message, best first."""
    return detector().scan(message)


def scan_many(messages: Sequence[str]) -> list[list[Match]]:
    """`scan` for many messages at once."""
    return detector().scan_many(messages)
