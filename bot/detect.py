"""Recognise reply codes and error texts in chat messages (no Slack here).

`scan_many` is the hot path. It joins a batch of messages and runs a handful of compiled
regular expressions over the whole batch; Python code runs only for the spots those find
(a number, a symbolic name, a word that anchors a known error phrase), so ordinary chat
costs almost nothing.
"""

from __future__ import annotations

import bisect
import functools
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass

from bot import text as textmod
from bot.context import is_question, judge_number
from bot.knowledge import KnowledgeBase, knowledge_dir, load
from bot.models import Entry, Match

SCAN_THRESHOLD = 0.7

MAX_MATCHES = 6
# Slack caps a message at 40,000 characters; longer input is read up to that point.
MAX_MESSAGE_CHARS = 40_000
EVIDENCE_CHARS = 160

# Numbers shaped like FTP/HTTP reply codes or Winsock errors. The pattern starts with a
# character class so the regex engine scans fast; what may stand before it is checked after.
_NUMBER = re.compile(r"[1-6]\d\d(?:\d\d)?(?!\w|[.,:/]\d)")
_NOT_BEFORE_NUMBER = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.,:/\\-")
# Word-gate kinds: what a word that the gate lets through asks the scanner to look at.
_PHRASE, _NAME, _SPECIAL = 1, 2, 4
_SPECIAL_WORDS = (b"curl", b"status", b"code", b"errno", b"winerror", b"sftp")
_CURL = re.compile(
    r"\bcurl(?:\.exe)?\b(?::\s*|\s+(?:error|exit(?:ed)?|exited\s+with|returned|"
    r"failed\s+with|fails\s+with|code|status|rc)(?:\s+(?:code|status|error|with))*"
    r"\s*[:=#]?\s*)\(?(\d{1,2})\)?(?!\d)"
    r"|\bcurl\b[^\n]{0,60}?\bexit\s+(?:code|status)\s*[:=]?\s*(\d{1,2})(?!\d)"
    r"|\bcurl\s+(?:returns?|returned|gives?|gave|exits?\s+with|exited\s+with|fails?\s+with)"
    r"\s+(?:code\s+|status\s+|error\s+)?(\d{1,2})(?![\d.,:%])"
)
_SFTP_STATUS = re.compile(
    r"\b(?:sftp\s+(?:status|error|code|failure|status\s+code|error\s+code)?|status\s+code"
    r"|error\s+code|sftp\s+status|ssh_fx\w*|fx\s+code|status)\s*[:=#]?\s*\(?(-?\d{1,2})\)?"
    r"(?![\d.])"
)
_ERRNO = re.compile(r"\b(?:errno|winerror)\s*[:=]?\s*(-?\d{1,5})\b")
_HTTP_BEFORE = re.compile(r"\bhttps?(?:\s+(?:status|error|code))*\s*[:/]?\s*$")
_NOT_SFTP_BEFORE = re.compile(r"\b(?:exit|exited|process|http|https)\b[^\n]{0,20}$")
_SFTP_CONTEXT = re.compile(
    r"\b(?:sftp|ssh|scp|winscp|paramiko|pysftp|jsch|sshj|ssh\.net|openssh|eft|globalscape|"
    r"internal-sftp|sftp-server|ssh_fx\w*)\b"
)
# Words that say the message is about file transfer, strongly (a protocol or product) or weakly.
_FTP_CONTEXT = re.compile(
    r"\b(?:ftps?|sftp|ssh|scp|winscp|filezilla|vsftpd|proftpd|pure-?ftpd|lftp|cuteftp|ftplib|"
    r"ftpwebrequest|serv-u|eft|mft|globalscape|paramiko|pysftp|curl|tnftp|passive|pasv|epsv|"
    r"pyftpdlib|jsch|sshj|openssh|moveit|goanywhere|axway|cerberus|ws_ftp|coreftp|cyberduck|"
    r"transmit|rclone|webdav)\b"
)
# Words that name one protocol family only: an FTP entry's generic phrases ("no such file")
# count beside FTP words, an SFTP entry's beside SSH words.
_FTP_ONLY = re.compile(
    r"\b(?:ftps?|vsftpd|proftpd|pure-?ftpd|lftp|cuteftp|ftplib|ftpwebrequest|serv-u|tnftp|"
    r"passive|pasv|epsv|pyftpdlib|ws_ftp|coreftp|stor|retr|ftp>|iis\s+ftp)\b"
)
_SSH_ONLY = re.compile(
    r"\b(?:sftp|ssh|scp|paramiko|pysftp|jsch|sshj|openssh|ssh_fx\w*|sftp-server|"
    r"internal-sftp)\b|\(\d+/-31\)"
)
_WEAK_FT_CONTEXT = re.compile(
    r"\b(?:upload|uploads|uploading|uploaded|download|downloads|downloading|transfer|transfers|"
    r"transferring|file|files|directory|listing|put|get|mput|mget)\b"
)
# Managed-file-transfer web front ends: the only place an HTTP code is ours to explain.
_MFT_CONTEXT = re.compile(
    r"\b(?:eft|mft|globalscape|webdav|web\s*client|wtc|web\s+transfer|transfer\s+(?:portal|site|"
    r"server|client)|file\s+(?:portal|share|drop)|drop\s*zone|moveit|goanywhere|axway|kiteworks|"
    r"sharefile|cerberus|serv-u|files\.com|workspaces?)\b"
)
_WEB_CONTEXT = re.compile(
    r"\b(?:https?|web\s*client|webdav|web\s+transfer|wtc|browser|portal|web\s+ui|"
    r"web\s+interface|drop\s*zone|workspaces?)\b"
)
# Web apps and services whose HTTP errors are not ours to answer.
_WEB_APP_CONTEXT = re.compile(
    r"\b(?:api|apis|page|pages|website|dashboard|dashboards|grafana|kibana|jenkins|endpoint|"
    r"nginx|load\s*balancer|lb|alb|elb|frontend|front-end|backend|app|apps|checkout|pod|pods|k8s|"
    r"kubernetes|ingress|cdn|cloudflare|prometheus|gitlab|github|jira|confluence|sso|okta|vault|"
    r"argo|argocd|helm|docker|registry|elasticsearch|istio|lambda|gateway|graphql|webhook|"
    r"webhooks|microservice|microservices|swagger|react|django|rails|flask|wordpress|cms)\b"
)
# Words that say something went wrong, needed before a generic phrase ("timed out") counts.
_TROUBLE = re.compile(
    r"(?:\b(?:error|errors|err|fail|fails|failed|failing|failure|getting|got|get|gets|keeps?|"
    r"says|said|saying|shows|showing|unable|not|won'?t|can'?t|cannot|broken|issue|problem|help|"
    r"why|stuck|again|exception|denied|refused|aborted|dies|died|dropping|drops|dropped|"
    r"intermittent|randomly|anyone|ideas?|traceback|raised?|times\s+out|timing\s+out|"
    r"timed\s+out)\b|[?!]|\w(?:error|exception)\b|"
    r"\b\w+\.\w+:)"
)
# Words too common in replies to vouch for a code on their own.
_WEAK_WORDS = frozenset("not no ok okay server file files user error failed".split())
_REPLY_PROTOCOLS = frozenset({"ftp", "sftp", "http"})
_FAMILY_PROTOCOLS = frozenset({"ftp", "sftp", "http", "ssh"})
_TIERS = {"ftp": 0, "sftp": 0, "http": 0, "ssh": 1, "tls": 1, "winsock": 1, "curl": 2}


def _fact(pattern: re.Pattern[str]) -> functools.cached_property[bool]:
    """A message fact: whether `pattern` occurs in it, worked out once."""

    def compute(facts: _Facts) -> bool:
        return pattern.search(facts.lower) is not None

    return functools.cached_property(compute)


class _Facts:
    """What a message says about its context, each worked out at most once per message."""

    def __init__(self, lower: str) -> None:
        self.lower = lower

    ftp = _fact(_FTP_CONTEXT)
    ftp_only = _fact(_FTP_ONLY)
    ssh_only = _fact(_SSH_ONLY)
    sftp = _fact(_SFTP_CONTEXT)
    web_app = _fact(_WEB_APP_CONTEXT)
    mft = _fact(_MFT_CONTEXT)
    web = _fact(_WEB_CONTEXT)
    file_transfer = _fact(_WEAK_FT_CONTEXT)
    trouble = _fact(_TROUBLE)

    @functools.cached_property
    def question(self) -> bool:
        return is_question(self.lower)

    def family(self, protocol: str) -> bool:
        """Whether the message names the protocol family that `protocol` belongs to."""
        if protocol == "ftp":
            return self.ftp_only or (self.ftp and not self.ssh_only)
        if protocol in ("sftp", "ssh"):
            return self.ssh_only or (self.ftp and not self.ftp_only)
        return self.ftp


@functools.lru_cache(maxsize=1024)
def _facts(lower: str) -> _Facts:
    """The facts of a message; the scanner passes one string object per message, so repeat
    look-ups hit the cache without rehashing, and clears the cache after each batch."""
    return _Facts(lower)


@dataclass(frozen=True, slots=True)
class _Phrase:
    entry_id: str
    variant: str | None
    words: frozenset[str]
    order: tuple[str, ...]
    needs_context: bool
    locate: str


class Detector:
    """Everything compiled from the knowledge base that scanning needs."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.phrases: list[_Phrase] = []
        self.anchors: dict[str, list[int]] = {}
        self.vocab: dict[str, frozenset[str]] = {}
        self.variant_res: dict[str, list[tuple[re.Pattern[str], str]]] = {}
        self.errno_linux: dict[str, str] = {}
        self.errno_sftp: dict[str, str] = {}
        self.names: dict[str, tuple[str, str]] = {}  # lower-case name -> (name, entry id)
        self.typo: dict[str, str] = {}
        self.typo_bytes: dict[bytes, bytes] = {}
        self.gate: dict[bytes, int] = {}
        self.reachable: dict[bytes, set[int]] = {}  # gate word -> phrases it may start
        self.raw_need: list[frozenset[bytes]] = []
        self._load_errno()
        for entry in kb.entries.values():
            self._add_entry(entry)
        self._build_gate()
        self.anchor_keys = frozenset(self.anchors)
        self.gate_keys = frozenset(self.gate)

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
                    self.phrases.append(
                        _Phrase(entry.id, variant, frozenset(order), order, needs_context, locate)
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
        if entry.variants:
            # Case-insensitive by lower-casing both sides: re.IGNORECASE is several times slower.
            self.variant_res[entry.id] = [
                (re.compile(_lower_pattern(v.when)), v.key) for v in entry.variants
            ]

    def _build_gate(self) -> None:
        """Anchor each phrase on its rarest word; let through the words that need a look."""
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
            self.anchors.setdefault(anchor, []).append(index)
            # A message may spell the anchor another way ("file name" for "filename").
            sources = textmod.SPELLING_SOURCES.get(anchor, frozenset())
            for spelling in (anchor, *spelled_by.get(anchor, ()), *sources):
                key = spelling.encode()
                self.gate[key] = self.gate.get(key, 0) | _PHRASE
                self.reachable.setdefault(key, set()).add(index)
            # What the raw words must hold for this phrase to have a chance: its words that no
            # spelling rule writes (those may hide in "can't", "timeout", "file name").
            self.raw_need.append(
                frozenset(w.encode() for w in phrase.words if w not in textmod.SPELLING_SOURCES)
            )
        self.typo_bytes = {k.encode(): v.encode() for k, v in self.typo.items()}
        for lowered in self.names:
            key = lowered.encode()
            self.gate[key] = self.gate.get(key, 0) | _NAME
        for key in _SPECIAL_WORDS:
            self.gate[key] = self.gate.get(key, 0) | _SPECIAL

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
        prepared = [textmod.prepare(m[:MAX_MESSAGE_CHARS].replace("\x00", " ")) for m in messages]
        joined = "\x00".join(prepared)
        lower = joined.lower()
        if len(lower) != len(joined):  # a few Unicode letters change length when lowered
            return [self._scan_batch([p], threshold, informational)[0] for p in prepared]
        return self._scan_batch(prepared, threshold, informational, joined, lower)

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
        starts = [0]
        for message in prepared[:-1]:
            starts.append(starts[-1] + len(message) + 1)
        found: list[list[Match] | None] = [None] * len(prepared)
        lowers: dict[int, str] = {}

        def lower_of(index: int) -> str:
            text = lowers.get(index)
            if text is None:
                base = starts[index]
                text = lowers[index] = lower[base : base + len(prepared[index])]
            return text

        def bucket(index: int) -> list[Match]:
            current = found[index]
            if current is None:
                current = found[index] = []
            return current

        for hit in _NUMBER.finditer(lower):
            at = hit.start()
            if at and lower[at - 1] in _NOT_BEFORE_NUMBER:
                continue
            number = hit.group()
            if len(number) == 5 and number[1] not in "01":
                continue
            index = bisect.bisect_right(starts, at) - 1
            base = starts[index]
            self._judge_code(
                prepared[index], lower_of(index), at - base, hit.end() - base, bucket(index)
            )
        data = lower.encode("utf-8", "surrogatepass").translate(textmod.WORD_BYTES_TABLE, b"'")
        gate_keys, gate = self.gate_keys, self.gate
        for index, part in enumerate(data.split(b"\x00")):
            words = part.split()
            if gate_keys.isdisjoint(words):
                continue
            kinds = 0
            hits = gate_keys.intersection(words)
            for word in hits:
                kinds |= gate[word]
            message = prepared[index]
            message_lower = lower_of(index)
            if kinds & _NAME:
                self._match_names(message, message_lower, hits, bucket(index))
            if kinds & _SPECIAL:
                self._special_forms(message, message_lower, bucket(index))
            if kinds & _PHRASE and self._phrase_possible(words, hits):
                self._match_phrases(message, message_lower, bucket(index))
        results = [self._finish(m, threshold, informational) if m else [] for m in found]
        _facts.cache_clear()  # facts serve one batch; kept longer they would hold its text
        return results

    def _phrase_possible(self, words: list[bytes], hits: frozenset[bytes]) -> bool:
        """Cheap test on raw words: could any phrase that the gate words start be complete?"""
        typo = self.typo_bytes
        present = {typo.get(w, w) for w in words}
        need = self.raw_need
        reachable = self.reachable
        return any(need[index] <= present for word in hits for index in reachable.get(word, ()))

    def _match_names(
        self, message: str, lower: str, hits: frozenset[bytes], matches: list[Match]
    ) -> None:
        for word in hits:
            known = self.names.get(word.decode())
            if known is None:
                continue
            name, entry_id = known
            exact = message.find(name)
            if exact < 0 and (not name.isupper() or lower.find(word.decode()) < 0):
                continue  # CamelCase names (.NET's TimedOut) must be written exactly
            if (
                entry_id.startswith("sftp/")
                and name not in self.kb.by_name
                and not _facts(lower).sftp
            ):
                continue  # a bare ENOENT is about SFTP only when the message is
            start = exact if exact >= 0 else lower.find(word.decode())
            self._add(matches, entry_id, 0.95, message, start, start + len(name), asked=True)

    def _special_forms(self, message: str, lower: str, matches: list[Match]) -> None:
        """curl's exit codes, SFTP status numbers and errno values, in one message."""
        for hit in _CURL.finditer(lower):
            code = hit.group(1) or hit.group(2) or hit.group(3)
            if self.kb.has("curl", code):
                self._add(
                    matches, f"curl/{code}", 0.95, message, hit.start(), hit.end(), asked=True
                )
        for hit in _SFTP_STATUS.finditer(lower):
            code = hit.group(1)
            said = hit.group(0)
            explicit = "sftp" in said or "ssh_fx" in said or "=" in said
            if not self.kb.has("sftp", code) or not (explicit or _facts(lower).sftp):
                continue
            if _NOT_SFTP_BEFORE.search(lower, max(0, hit.start() - 30), hit.start()):
                continue
            entry = self.kb.entries[f"sftp/{code}"]
            asked = entry.retry != "n/a" or "?" in lower or "mean" in lower
            self._add(matches, entry.id, 0.9, message, hit.start(), hit.end(), asked=asked)
        for hit in _ERRNO.finditer(lower):
            number = hit.group(1)
            entry_id = self.errno_linux.get(number)
            if entry_id is None and number.startswith("1") and self.kb.has("winsock", number):
                entry_id = f"winsock/{number}"
            if entry_id is None and _facts(lower).sftp:
                entry_id = self.errno_sftp.get(number) or (
                    "sftp/4" if self.kb.has("sftp", "4") and len(number) <= 3 else None
                )
            if entry_id is not None:
                self._add(matches, entry_id, 0.93, message, hit.start(), hit.end(), asked=True)

    def _judge_code(
        self, message: str, lower: str, start: int, end: int, matches: list[Match]
    ) -> None:
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
                matches,
                entry_id,
                confidence,
                message,
                start,
                end,
                asked=True,
                reply_text=verdict.reply_text,
            )
            return
        chosen = self._three_digit_id(number, lower, start, verdict.asked)
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
        asked = verdict.asked or verdict.ask_before or _facts(lower).question
        self._add(
            matches,
            entry_id,
            confidence,
            message,
            start,
            end,
            asked=asked,
            reply_text=verdict.reply_text,
        )

    def _three_digit_id(self, number: str, lower: str, start: int, asked: bool) -> str | None:
        """ftp/N or http/N for a three-digit code, or None when the context says neither."""
        ftp_id, http_id = f"ftp/{number}", f"http/{number}"
        has_ftp, has_http = ftp_id in self.kb.entries, http_id in self.kb.entries
        facts = _facts(lower)
        strong, web_app = facts.ftp, facts.web_app
        before = lower[max(0, start - 14) : start]
        explicit_http = _HTTP_BEFORE.search(before) if "http" in before else None
        if has_http:
            mft, weak = facts.mft, facts.file_transfer
            if mft or (facts.web and strong):
                return http_id
            if explicit_http and weak and not web_app:
                return http_id
        if not has_ftp or explicit_http:
            return None
        if web_app and not strong and not asked:
            return None
        return ftp_id

    def _reply_words_confidence(self, entry_id: str, reply_text: str, *, strict: bool) -> float:
        """How much a bare "550 some words" line reads like that code's real reply text.

        The first few words after the code must be the reply's own words; `strict` (a code in
        mid-sentence) asks for two of them.
        """
        typo = self.typo
        # Six words fit in 80 characters; normalising a whole long line would be wasted work.
        words = [typo.get(w, w) for w in textmod.significant_words(reply_text[:80])[:6]]
        if not words:
            return 0.0
        vocab = self.vocab[entry_id]
        shared = [w for w in words if w in vocab]
        telling = [w for w in shared if w not in _WEAK_WORDS]
        distinctive = [w for w in telling if w not in textmod.COMMON_WORDS]
        if strict:
            return 0.85 if len(shared) >= 2 and distinctive else 0.0
        if (len(shared) >= 2 and telling) or distinctive:
            return 0.9
        return 0.0

    def _match_phrases(self, message: str, lower: str, matches: list[Match]) -> None:
        """Known error texts in the message, tolerating typos, word order and filler."""
        typo = self.typo
        canon = [typo.get(w, w) for w in textmod.words(lower)]
        present = set(canon)
        hits: list[tuple[_Phrase, float]] = []
        where: dict[str, list[int]] | None = None
        for anchor in self.anchor_keys.intersection(present):
            for index in self.anchors[anchor]:
                phrase = self.phrases[index]
                if not present.issuperset(phrase.words):
                    continue
                if phrase.needs_context:
                    facts = _facts(lower)
                    protocol = phrase.entry_id.split("/", 1)[0]
                    if not (facts.trouble and facts.family(protocol)):
                        continue
                if where is None:
                    where = {}
                    for i, word in enumerate(canon):
                        where.setdefault(word, []).append(i)
                places = _places(where, phrase.order, anchor)
                size = len(phrase.words)
                confidence = 0.82 if size == 2 else 0.88 if size == 3 else 0.92
                if max(places) - min(places) + 1 > 2 * size + 1:
                    confidence -= 0.2
                if places != sorted(places):
                    confidence -= 0.06
                if phrase.needs_context:
                    confidence -= 0.04
                hits.append((phrase, confidence))
        for phrase, confidence in hits:
            if any(
                other.entry_id != phrase.entry_id and phrase.words < other.words
                for other, _ in hits
            ):
                continue  # "connection reset by peer" inside a longer SSH banner error
            start = max(0, lower.find(phrase.locate[:4]))
            self._add(
                matches,
                phrase.entry_id,
                confidence,
                message,
                start,
                start + len(phrase.locate),
                asked=_facts(lower).question,
                variant=phrase.variant,
                from_phrase=True,
            )

    # -- assembling ---------------------------------------------------------------------

    def _add(
        self,
        matches: list[Match],
        entry_id: str,
        confidence: float,
        message: str,
        start: int,
        end: int,
        *,
        asked: bool,
        reply_text: str = "",
        variant: str | None = None,
        from_phrase: bool = False,
    ) -> None:
        entry = self.kb.entries[entry_id]
        line_start = message.rfind("\n", 0, start) + 1
        line_end = message.find("\n", end)
        line = message[line_start : line_end if line_end >= 0 else len(message)]
        chosen = entry.variant(variant)
        matches.append(
            Match(
                entry.protocol,
                entry.code,
                entry.id,
                chosen.title if chosen else entry.title,
                chosen.retry if chosen else entry.retry,
                confidence,
                _evidence(message, line_start, line, start),
                variant,
                position=start + 1 if from_phrase else start,
                from_phrase=from_phrase,
                asked=asked,
                probe=reply_text or line,
            )
        )

    def variant_of(self, entry_id: str, text: str) -> str | None:
        """The variant of an entry that a reply text selects (first listed that fits)."""
        lowered = text.lower()
        for pattern, key in self.variant_res.get(entry_id, ()):
            if pattern.search(lowered):
                return key
        return None

    def _resolve_variant(self, match: Match, others: list[Match]) -> None:
        """Pick the variant whose pattern fits the reply text."""
        entry = self.kb.entries[match.id]
        patterns = self.variant_res.get(match.id)
        if match.variant is None and patterns:
            probes = {match.probe.lower(), *(m.probe.lower() for m in others if m.id == match.id)}
            for pattern, key in patterns:  # the first variant listed that fits wins
                if any(pattern.search(probe) for probe in probes):
                    match.variant = key
                    break
        variant = entry.variant(match.variant)
        if variant is not None:
            match.title, match.retry = variant.title, variant.retry

    def _finish(self, matches: list[Match], threshold: float, informational: bool) -> list[Match]:
        """Drop weak and unasked matches, merge repeats, order best first, cap the list."""
        entries = self.kb.entries
        kept = [
            m
            for m in matches
            if m.confidence >= threshold
            and (m.asked or informational or entries[m.id].retry != "n/a")
        ]
        # Text after a server reply's code is that reply's own text ("550 Permission denied"),
        # not a second error; text under a client's wrapper code is the cause, and stays.
        replies = [
            (m.position, m.evidence, m.protocol)
            for m in kept
            if not m.from_phrase and m.protocol in _REPLY_PROTOCOLS
        ]
        best: dict[str, Match] = {}
        for match in kept:
            if (
                match.from_phrase
                and match.id not in best
                and any(
                    line == match.evidence
                    and (position < match.position or _other_family(match, protocol))
                    for position, line, protocol in replies
                )
            ):
                continue
            current = best.get(match.id)
            if current is None or _better(match, current):
                if current is not None and match.variant is None:
                    match.variant = current.variant
                best[match.id] = match
            elif current.variant is None and match.variant is not None:
                current.variant = match.variant
        for match in best.values():
            self._resolve_variant(match, kept)
        ordered = sorted(
            best.values(),
            key=lambda m: (_TIERS.get(m.protocol, 1), -round(m.confidence, 1), m.position),
        )
        return ordered[:MAX_MATCHES]


def _lower_pattern(pattern: str) -> str:
    """A pattern's letters in lower case, escapes (\\S, \\W, \\D, \\B) left as written."""
    return re.sub(r"(\\.)|([A-Z])", lambda m: m.group(1) or m.group(2).lower(), pattern)


def _places(where: dict[str, list[int]], order: tuple[str, ...], anchor: str) -> list[int]:
    """Where each phrase word sits, taking each word's occurrence nearest the anchor."""
    pivot = where[anchor][0]
    return [min(where[word], key=lambda i: abs(i - pivot)) for word in order]


def _other_family(phrase: Match, reply_protocol: str) -> bool:
    """A protocol-level phrase beside another protocol's reply code is that reply's text."""
    return phrase.protocol in _FAMILY_PROTOCOLS and phrase.protocol != reply_protocol


def _better(candidate: Match, current: Match) -> bool:
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
