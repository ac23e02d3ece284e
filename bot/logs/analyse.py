"""Read a transcript or log, find its events, split it into sessions and diagnose each.

The formats are data (knowledge/logs/*.toml). Each chunk of the input is scanned by the
detected formats' compiled patterns with `finditer` over the whole chunk, so Python runs
only for lines that hold a reply, a command, a known message or an error word.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, NamedTuple

from bot.detect import detector
from bot.knowledge import KnowledgeBase, load
from bot.logs import reader, secrets
from bot.logs.diagnose import LOGIN_SUCCESS, PASV_ADDRESS, RESULT_SUCCESS, SessionState
from bot.logs.formats import LogFormat, load_formats
from bot.logs.model import LogEvent, LogReport, Secret, Session
from bot.models import Match

EVENT_CAP = 10_000
SESSION_CAP = 500
# A server's description line and the reply it describes sit this close together.
PENDING_LINES = 3
DETECT_LINES = 400
_NEGATED_CLASS = re.compile(r"\[\^(?!\\n)")
# A reply line in a transcript we have no format for: "220 ...", "< 220 ...", "Response: 220".
_GENERIC_REPLY = re.compile(
    r"^(?:[^\n]*\r)?[ \t]*(?:[<>][ \t]?|Response:[ \t]*|Reply:[ \t]*)?"
    r"(?P<code>[1-6]\d\d)(?P<sep>[ -])(?P<text>[^\n\r]*)$",
    re.MULTILINE,
)
# A shell prompt running a file-transfer client starts a new session.
_SHELL_START = re.compile(
    r"^(?:[\w.@~:/-]*[$#%>] |PS [^>\n]*> )(?:sudo )?(?:curl|lftp|ftp|sftp|tnftp|ncftp|ssh|scp|"
    r"python3?|winscp(?:\.com)?|psftp|pftp|nc|telnet|openssl)\b",
    re.MULTILINE,
)
_PROMPT_HINTS = ("$ ", "# ", "% ", "> ", "PS ")
# Lines that may hold an error in words (no code): worth a look by the chat scanner.
# Searched in lower-cased text without anchors, so the engine's literal scan does the work;
# the line around a hit is cut out afterwards.
_ERROR_WORDS = re.compile(
    r"refused|reset|timed? ?out|denied|unable|cannot|can't|couldn't|could not|fail|error|"
    r"exception|unreachable|no route|not known|resolve|certificate|handshake|host key|"
    r"identification|negotiate|wrong version|protocol version|forcibly|aborted|broken pipe|"
    r"eof|closed by"
)
_CONTINUATION = "-"
_IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")


@dataclass(slots=True)
class _Rules:
    """The detected formats' patterns, made safe for scanning a whole chunk at once."""

    replies: list[re.Pattern[str]] = field(default_factory=list)
    commands: list[re.Pattern[str]] = field(default_factory=list)
    messages: list[tuple[re.Pattern[str], str, str, str | None]] = field(default_factory=list)
    starts: list[re.Pattern[str]] = field(default_factory=list)
    ignores: list[re.Pattern[str]] = field(default_factory=list)


def _chunk_safe(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The pattern in MULTILINE mode, its negated classes kept from crossing a newline."""
    source = _NEGATED_CLASS.sub(r"[^\\n", pattern.pattern)
    return re.compile(source, pattern.flags | re.MULTILINE)


def detect_formats(head: str, formats: list[LogFormat]) -> list[LogFormat]:
    """The formats whose marker lines appear in the first lines of the input."""
    lines = head.split("\n", DETECT_LINES)[:DETECT_LINES]
    sample = "\n".join(lines)
    needed = 1 if sum(1 for line in lines if line.strip()) < 20 else 2
    return [
        fmt
        for fmt in formats
        if sum(
            1 for _ in zip(range(needed), _chunk_safe(fmt.detect).finditer(sample), strict=False)
        )
        >= needed
    ]


def _compile_rules(formats: list[LogFormat]) -> _Rules:
    rules = _Rules()
    for fmt in formats:
        rules.replies += [_chunk_safe(p) for p in fmt.replies]
        rules.commands += [_chunk_safe(p) for p in fmt.commands]
        rules.messages += [
            (_chunk_safe(m.pattern), m.id, m.outcome, m.variant) for m in fmt.messages
        ]
        rules.starts += [_chunk_safe(p) for p in fmt.session_starts]
        rules.ignores += [_chunk_safe(p) for p in fmt.ignores]
    if not formats:
        rules.replies.append(_GENERIC_REPLY)
    rules.starts.append(_SHELL_START)
    return rules


# The order in which things found on one line are handled.
_START, _COMMAND, _REPLY, _MESSAGE, _SCANNED = range(5)


class _Hit(NamedTuple):
    """Something a pattern found in a chunk (a tuple: cheap to make by the thousand)."""

    position: int
    order: int
    match: re.Match[str] | None = None
    message: tuple[str, str, str | None] | None = None  # (id, outcome, variant)
    scanned: Match | None = None


@dataclass(slots=True)
class _Backlog:
    """A chunk's commands and plain replies, in order, with how far they have been replayed."""

    commands: list[re.Match[str]]
    plain: list[re.Match[str]]
    line_of: Callable[[int], int]
    c: int = 0
    p: int = 0


_CLOSING_CODES = frozenset({"221"})
_SUCCESSES = RESULT_SUCCESS | {LOGIN_SUCCESS}


class _Analyser:
    """Feeds chunks through the rules; keeps bounded state."""

    def __init__(self, kb: KnowledgeBase, rules: _Rules, event_cap: int = EVENT_CAP) -> None:
        self.kb = kb
        self.rules = rules
        self.events: list[LogEvent] = []
        self.events_total = 0
        self.secrets: list[Secret] = []
        self.secret_values: set[str] = set()
        self.sessions: list[Session] = []  # the first SESSION_CAP, for the report
        self.sessions_total = 0
        self.last_failed: Session | None = None
        self.last_session: Session | None = None
        self.last_quiet: SessionState | None = None  # the last session, when not yet diagnosed
        self.state = SessionState(kb, first_line=1)
        self.line_offset = 0  # lines before the current chunk
        self.open_reply: str | None = None  # code of a multi-line reply still open
        self.pending: tuple[int, str, str, str | None, str] | None = None
        self.event_cap = event_cap
        self.events_full = event_cap <= 0
        self.plain_ids = plain_ids(kb)
        self.plain_codes = frozenset(entry_id.split("/", 1)[1] for entry_id in self.plain_ids)
        self._backlog: _Backlog | None = None
        self.last_line = 0

    # -- per chunk ---------------------------------------------------------------------

    def feed(self, chunk: str) -> None:
        newlines = [m.start() for m in re.finditer("\n", chunk)] if "\n" in chunk else []

        def line_of(position: int) -> int:
            return self.line_offset + bisect.bisect_right(newlines, position - 1) + 1

        # Past the report's event cap, commands and plain informational replies are not
        # handled one by one: they are replayed in bulk before each event that matters.
        bulk = self.events_full
        hits: list[_Hit] = []
        for pattern in self.rules.starts:
            if pattern is _SHELL_START and not any(hint in chunk for hint in _PROMPT_HINTS):
                continue  # no prompt character in the chunk: no shell prompt line either
            hits += [_Hit(m.start(), _START, m) for m in pattern.finditer(chunk)]
        commands: list[re.Match[str]] = []
        for pattern in self.rules.commands:
            if bulk:
                commands += pattern.finditer(chunk)
            else:
                hits += [_Hit(m.start(), _COMMAND, m) for m in pattern.finditer(chunk)]
        plain: list[re.Match[str]] = []
        plain_codes = self.plain_codes
        for pattern in self.rules.replies:
            for m in pattern.finditer(chunk):
                if bulk and m.group("code") in plain_codes:
                    plain.append(m)
                else:
                    hits.append(_Hit(m.start(), _REPLY, m))
        for pattern, entry_id, outcome, variant in self.rules.messages:
            hits += [
                _Hit(m.start(), _MESSAGE, m, (entry_id, outcome, variant))
                for m in pattern.finditer(chunk)
            ]
        lines = [line_of(hit.position) for hit in hits]
        # Lines a rule understood, session starts included (a shell prompt's "--connect-timeout"
        # is an option, not an error), are not scanned again for error words.
        handled_lines = set(lines)
        if bulk:
            commands.sort(key=lambda m: m.start())
            plain.sort(key=lambda m: m.start())
            base, find_line = self.line_offset + 1, bisect.bisect_right
            handled_lines.update(base + find_line(newlines, m.start() - 1) for m in commands)
            handled_lines.update(base + find_line(newlines, m.start() - 1) for m in plain)
            self._backlog = _Backlog(commands, plain, line_of)
        for pattern in self.rules.ignores:
            handled_lines.update(line_of(m.start()) for m in pattern.finditer(chunk))
        self._note_addresses(chunk, hits, line_of)
        first_line = self.line_offset + 1
        self._scan_error_lines(_error_lines(chunk, newlines, first_line, handled_lines), hits)
        self._find_secrets(chunk, line_of)
        ordered = sorted(
            zip(lines + [line_of(h.position) for h in hits[len(lines) :]], hits, strict=True),
            key=lambda pair: (pair[0], pair[1].order, pair[1].position),
        )
        for line, hit in ordered:
            if bulk:
                self._replay(hit.position)
            self._handle(line, hit)
        if bulk:
            self._replay(len(chunk) + 1)
            self._backlog = None
        self.line_offset += len(newlines)
        self.last_line = self.line_offset + (0 if chunk.endswith("\n") else 1)

    def _replay(self, position: int) -> None:
        """Feed the state the commands and plain replies that stand before `position`.

        Commands go in one by one (their order decides what a failure answers); of the plain
        replies only the count and the last ones matter, so only those become events.
        """
        backlog = self._backlog
        if backlog is None:
            return
        commands, plain, line_of = backlog.commands, backlog.plain, backlog.line_of
        last_plain: re.Match[str] | None = None
        last_progress: re.Match[str] | None = None
        while True:
            next_command = commands[backlog.c].start() if backlog.c < len(commands) else position
            next_plain = plain[backlog.p].start() if backlog.p < len(plain) else position
            if min(next_command, next_plain) >= position:
                break
            if next_command <= next_plain:
                if last_plain is not None:  # replies before this command are behind it
                    self._plain_event(last_progress, last_plain, line_of)
                    last_plain = last_progress = None
                match = commands[backlog.c]
                backlog.c += 1
                self._command(match, line_of(match.start()))
            else:
                match = plain[backlog.p]
                backlog.p += 1
                self.events_total += 1
                last_plain = match
                if match.group("code") not in _CLOSING_CODES:
                    last_progress = match
        if last_plain is not None:
            self._plain_event(last_progress, last_plain, line_of)

    def _plain_event(
        self,
        progress: re.Match[str] | None,
        last: re.Match[str],
        line_of: Callable[[int], int],
    ) -> None:
        """Record the last progress reply and the last reply of a run of plain replies."""
        for match in (progress, last) if progress is not last else (last,):
            if match is None:
                continue
            code = match.group("code")
            text = (match.groupdict().get("text") or "").strip()
            entry = self.kb.entries[f"ftp/{code}"]
            self.state.plain(entry, line_of(match.start()), f"{code} {text}".strip()[:300])

    def _scan_error_lines(self, lines: list[tuple[int, str]], hits: list[_Hit]) -> None:
        if not lines:
            return
        found = detector().scan_many([text for _, text in lines], threshold=0.7)
        for (position, _), matches in zip(lines, found, strict=True):
            hits += [_Hit(position, _SCANNED, scanned=match) for match in matches]

    def _note_addresses(self, chunk: str, hits: list[_Hit], line_of: Callable[[int], int]) -> None:
        """Remember the addresses a 227 will be judged by: those on session-start lines, and
        a 227's own address when the text before it in this chunk already shows it."""
        known = self.state.addresses
        for hit in hits:
            if hit.match is None:
                continue
            if hit.order == _START:
                for address in _IPV4.findall(_whole_line(hit.match)):
                    known.setdefault(address, line_of(hit.position))
            elif hit.order == _REPLY and hit.match.group("code") == "227":
                named = PASV_ADDRESS.search(hit.match.group(0))
                if named is None:
                    continue
                address = ".".join(named.groups())
                seen = chunk.rfind(address, 0, hit.position)
                if seen >= 0 and address not in known:
                    known[address] = line_of(seen)

    def _find_secrets(self, chunk: str, line_of: Callable[[int], int]) -> None:
        for found in secrets.find(chunk):
            line = line_of(found.offset)
            if not self.secrets or self.secrets[-1].line != line:
                self.secrets.append(Secret(line, found.kind))
            if found.value:
                self.secret_values.add(found.value)

    # -- per event ----------------------------------------------------------------------

    def _handle(self, line: int, hit: _Hit) -> None:
        if hit.order == _START:
            self._new_session(line)
        elif hit.order == _COMMAND and hit.match is not None:
            self._command(hit.match, line)
        elif hit.order == _REPLY and hit.match is not None:
            self._reply(line, hit.match)
        elif hit.order == _MESSAGE and hit.match is not None and hit.message is not None:
            entry_id, outcome, variant = hit.message
            self._flush_pending()
            # A server line that only describes a reply ("FAIL LOGIN") waits: when the reply
            # itself follows, the reply is the event.
            self.pending = (line, entry_id, _whole_line(hit.match), variant, outcome)
        elif hit.scanned is not None:
            found = hit.scanned
            self._event(line, found.id, found.evidence, variant=found.variant)

    def _command(self, match: re.Match[str], line: int) -> None:
        self._flush_pending()  # what was pending answered the previous command
        groups = match.groupdict()
        verb = (groups.get("command") or "").upper()
        self.state.command(verb, line, (groups.get("arg") or "").strip())

    def _reply(self, line: int, match: re.Match[str]) -> None:
        code = match.group("code")
        groups = match.groupdict()
        text = (groups.get("text") or "").strip()
        separator = groups.get("sep")
        if separator is None:
            end = match.end("code")
            separator = match.string[end : end + 1]
        if self.open_reply is not None:
            if code == self.open_reply and separator == " ":
                self.open_reply = None  # the last line of a multi-line reply
            if code == self.open_reply or separator == " ":
                return
        if separator == _CONTINUATION:
            self.open_reply = code
        entry_id = f"ftp/{code}"
        if self.pending is not None and self.pending[1] == entry_id:
            self.pending = None  # the line that described this reply: the reply is the event
        self._flush_pending()
        if entry_id not in self.kb.entries:
            return
        self._event(line, entry_id, f"{code} {text}".strip(), reply_text=text)

    def _flush_pending(self) -> None:
        if self.pending is not None:
            line, entry_id, text, variant, outcome = self.pending
            self.pending = None
            previous = self.state.last_event
            if (
                previous is not None
                and previous.id == entry_id
                and previous.outcome == outcome
                and (line - previous.line <= PENDING_LINES)
            ):
                return  # it describes the reply just before it
            self._event(line, entry_id, text, variant=variant, outcome=outcome)

    def _event(
        self,
        line: int,
        entry_id: str,
        text: str,
        *,
        variant: str | None = None,
        outcome: str = "",
        reply_text: str = "",
    ) -> None:
        entry = self.kb.entries.get(entry_id)
        if entry is None:
            return
        if self.events_full and not (variant or outcome):
            # Past the report's event cap, a plain informational reply only moves the session
            # along, and so does a success in a session where nothing has gone wrong: no event
            # object for the report, no variant, no classification.
            if entry_id in self.plain_ids:
                self.state.plain(entry, line, text.strip()[:300])
                self.events_total += 1
                return
            if entry_id in _SUCCESSES and self.state.quiet():
                self.state.note_success(entry, line, text.strip()[:300])
                self.events_total += 1
                return
        event = self.state.event(entry, line, text.strip()[:300], variant, outcome, reply_text)
        if event is None:
            return
        self.events_total += 1
        if not self.events_full:
            self.events.append(event)
            self.events_full = len(self.events) >= self.event_cap

    def _new_session(self, line: int) -> None:
        self._flush_pending()
        if self.state.has_events():
            self.state.last_line = max(self.state.first_line, line - 1)
            if len(self.sessions) >= SESSION_CAP and not self.state.failed():
                # Not listed and not failed: only needed if it turns out to be the last session.
                self.sessions_total += 1
                self.last_session, self.last_quiet = None, self.state
            else:
                self._keep(self.state.close())
            addresses = self.state.addresses
            self.state = SessionState(self.kb, first_line=line)
            self.state.addresses = addresses

    def _keep(self, session: Session) -> None:
        self.last_quiet = None
        self.sessions_total += 1
        self.last_session = session
        if session.diagnosis is not None and not session.diagnosis.ok:
            self.last_failed = session
        if len(self.sessions) < SESSION_CAP:
            self.sessions.append(session)

    def finish(self, name: str, formats: list[str]) -> LogReport:
        self._flush_pending()
        self.state.last_line = max(self.state.first_line, self.last_line)
        if self.state.has_events() or not self.sessions_total:
            self._keep(self.state.close())
        if self.last_session is None and self.last_quiet is not None:
            self.last_session = self.last_quiet.close()
        chosen = self.last_failed or self.last_session
        diagnosis = chosen.diagnosis if chosen else None
        report = LogReport(
            file=name,
            diagnosis=diagnosis,
            events=self.events,
            secrets=self.secrets,
            sessions=self.sessions,
            formats=formats,
            lines=self.last_line,
            events_total=self.events_total,
            sessions_total=self.sessions_total,
        )
        if self.secret_values:
            _scrub_report(report, self.secret_values)
        return report


def plain_ids(kb: KnowledgeBase) -> frozenset[str]:
    """FTP replies that never fail, succeed or warn: informational in every variant."""
    return frozenset(
        entry.id
        for entry in kb.entries.values()
        if entry.protocol == "ftp"
        and entry.retry == "n/a"
        and all(v.retry == "n/a" for v in entry.variants)
        and entry.id not in RESULT_SUCCESS
        and entry.id != LOGIN_SUCCESS
    )


def _error_lines(
    chunk: str, newlines: list[int], first_line: int, handled: set[int]
) -> list[tuple[int, str]]:
    """(start, text) of each line with an error word that no format rule has handled.

    Only the lines no rule understood are searched, joined into one text for one pass.
    """
    lines = chunk.split("\n")
    left = [i for i in range(len(lines)) if first_line + i not in handled]
    if not left:
        return []
    raw = "\n".join(lines[i] for i in left)
    joined = raw.lower()
    if len(joined) != len(raw):
        joined = raw  # a few letters change length in lower case: search the text as written
    starts_in_joined = []
    offset = 0
    for i in left:
        starts_in_joined.append(offset)
        offset += len(lines[i]) + 1
    found: list[tuple[int, str]] = []
    taken = -1
    for hit in _ERROR_WORDS.finditer(joined):
        index = bisect.bisect_right(starts_in_joined, hit.start()) - 1
        if index == taken:
            continue  # another hit on a line already taken
        taken = index
        line = left[index]
        start = newlines[line - 1] + 1 if line else 0
        found.append((start, lines[line]))
    return found


def _whole_line(match: re.Match[str]) -> str:
    text = match.string
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    return text[start : end if end >= 0 else len(text)]


def _scrub_report(report: LogReport, values: set[str]) -> None:
    """No output ever repeats a secret from the input."""
    for event in report.events:
        event.text = secrets.scrub(event.text, values)
    for session in report.sessions:
        if session.diagnosis is not None:
            session.diagnosis.explanation = secrets.scrub(session.diagnosis.explanation, values)


def analyse_chunks(pieces: Iterable[str], name: str, *, event_cap: int = EVENT_CAP) -> LogReport:
    """The report for text arriving in pieces that end on line boundaries.

    `event_cap` is how many events the report lists; past it, events are only counted and
    the lines that cannot change a diagnosis are handled in bulk.
    """
    kb = load()
    iterator: Iterator[str] = iter(pieces)
    first = next(iterator, "")
    formats = detect_formats(first, load_formats())
    analyser = _Analyser(kb, _compile_rules(formats), event_cap)
    if first:
        analyser.feed(first)
    for piece in iterator:
        analyser.feed(piece)
    return analyser.finish(name, [f.tool for f in formats])


def analyse_stream(stream: BinaryIO, name: str) -> LogReport:
    """The report for a byte stream (gzip, UTF-16 and Slack-mangled text accepted)."""
    return analyse_chunks(reader.chunks(reader.open_stream(stream)), name)


def analyse_file(path: str | Path) -> LogReport:
    """The report for a file on disk; OSError when it cannot be read."""
    with open(path, "rb") as handle:
        return analyse_stream(handle, str(path))


def analyse_bytes(data: bytes, name: str = "-") -> LogReport:
    """The report for an in-memory upload or paste."""
    import io

    return analyse_stream(io.BytesIO(data), name)


def analyse_text(text: str, name: str = "-") -> LogReport:
    """The report for a paste that is already text."""
    return analyse_bytes(text.encode("utf-8"), name)


__all__ = ["analyse_bytes", "analyse_chunks", "analyse_file", "analyse_stream", "analyse_text"]
