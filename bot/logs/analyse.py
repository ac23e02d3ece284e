"""Read a transcript or log, find its events, split it into sessions and diagnose each.

The formats are data (knowledge/logs/*.toml). Each chunk of the input is scanned by the
detected formats' compiled patterns with `finditer` over the whole chunk, so Python runs
only for lines that hold a reply, a command, a known message or an error word.
"""

from __future__ import annotations

import bisect
import gc
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from operator import itemgetter, methodcaller
from pathlib import Path
from typing import BinaryIO

from bot.detect import detector
from bot.knowledge import KnowledgeBase, load
from bot.logs import reader, secrets
from bot.logs.diagnose import (
    ACTIVE,
    FALLBACKS,
    INNER_STEPS,
    LOGIN_SUCCESS,
    PASSIVE,
    PASV_ADDRESS,
    PROBES,
    RESULT_SUCCESS,
    SessionState,
    success_event,
)
from bot.logs.formats import LogFormat, load_formats
from bot.logs.model import LogEvent, LogReport, Secret, Session
from bot.models import Entry, Match

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
# Lines that may hold an error in words (no code): worth a look by the chat scanner.
# Searched in the lower-cased text of the lines no rule understood; the line around a hit is
# cut out afterwards. The words (refused, reset, timed out, denied, unable, cannot, can't,
# couldn't, could not, fail, error, exception, unreachable, no route, not known, resolve,
# certificate, handshake, host key, identification, negotiate, wrong version, protocol
# version, forcibly, aborted, broken pipe, eof, closed by) are grouped by first letter: the
# engine tries one branch per letter at each position instead of one per word.
_ERROR_WORDS = re.compile(
    r"a(?:borted)|b(?:roken pipe)|c(?:annot|an't|ouldn't|ould not|ertificate|losed by)|"
    r"d(?:enied)|e(?:rror|xception|of)|f(?:ail|orcibly)|h(?:andshake|ost key)|"
    r"i(?:dentification)|n(?:o route|ot known|egotiate)|p(?:rotocol version)|"
    r"r(?:efused|eset|esolve)|t(?:imed? ?out)|u(?:nable|nreachable)|w(?:rong version)"
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
    reply_separators: bool = False  # whether a reply pattern has a (?P<sep>...) group
    # Reply codes whose variant a message rule can name (an IIS sub-status); empty for most.
    variant_codes: frozenset[str] = frozenset()


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
    rules.reply_separators = any("sep" in p.groupindex for p in rules.replies)
    rules.variant_codes = frozenset(
        entry_id.removeprefix("ftp/")
        for _, entry_id, _, variant in rules.messages
        if variant is not None and entry_id.startswith("ftp/")
    )
    rules.starts.append(_SHELL_START)
    return rules


# The order in which things found on one line are handled.
_START, _COMMAND, _REPLY, _MESSAGE, _SCANNED = range(5)
# A hit: something a pattern found in a chunk, as a plain tuple that sorts in handling order:
# (line, order, position, sequence, match, extra). The sequence number keeps the order in
# which the patterns found things when all else is equal; extra is a message rule's
# (id, outcome, variant), the chat scanner's Match, or for a reply, the message rule that
# names its variant (_Named).
_HitTuple = tuple[int, int, int, int, "re.Match[str] | None", object]
_MessageInfo = tuple[str, str, str | None]  # a message rule's id, outcome and variant
# A message rule that names the variant of the reply on its line, and the rule's match.
_Named = tuple[_MessageInfo, "re.Match[str]"]
_NEWLINE = re.compile("\n")
_match_start = re.Match.start
_match_end = re.Match.end
_COMMAND_GROUP = itemgetter("command")
_CODE_END = methodcaller("end", "code")
_ONE_MORE = (1).__add__


@dataclass(slots=True)
class _Backlog:
    """A chunk's commands, plain replies and quiet successes in order, with how far each has
    been replayed. Past the event cap these are not hits: they are replayed in bulk before
    each hit, and only what the session's state keeps of them is materialised."""

    commands: list[re.Match[str]]
    verbs: list[str]  # each command's verb in upper case
    plain: list[re.Match[str]]
    successes: list[re.Match[str]]
    command_at: list[int]
    plain_at: list[int]
    success_at: list[int]
    line_of: Callable[[int], int]
    c: int = 0
    p: int = 0
    s: int = 0


_CLOSING_CODES = frozenset({"221"})
_SUCCESSES = RESULT_SUCCESS | {LOGIN_SUCCESS}
_LOGIN_CODE = LOGIN_SUCCESS.split("/", 1)[1]
_DATA_COMMANDS = PASSIVE | ACTIVE
_NOT_OPERATIONS = INNER_STEPS | PROBES


def _may_prompt(chunk: str) -> bool:
    """Whether the chunk holds "$ ", "# ", "% " or "> " (a shell prompt needs one of them)."""
    for mark in "$#%>":
        at = chunk.find(mark)  # one character: a fast scan
        tries = 0
        while at >= 0:
            if chunk.startswith(" ", at + 1):
                return True
            tries += 1
            if tries > 4096:
                return mark + " " in chunk
            at = chunk.find(mark, at + 1)
    return False


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
        self.last_failed_state: SessionState | None = None  # past SESSION_CAP, not yet closed
        self.last_session: Session | None = None
        self.last_quiet: SessionState | None = None  # the last session, when not yet diagnosed
        self.state = SessionState(kb, first_line=1)
        self.line_offset = 0  # lines before the current chunk
        self.open_reply: str | None = None  # code of a multi-line reply still open
        self.pending: tuple[int, str, str, str | None, str] | None = None
        self.event_cap = event_cap
        self.events_full = event_cap <= 0
        self.plain_ids = plain_ids(kb)
        # A reply whose variant a message rule names stays a hit past the event cap.
        self.plain_codes = (
            frozenset(entry_id.split("/", 1)[1] for entry_id in self.plain_ids)
            - rules.variant_codes
        )
        self.success_codes = frozenset(
            entry_id.split("/", 1)[1]
            for entry_id in _SUCCESSES
            if entry_id.startswith("ftp/") and entry_id in kb.entries
        )
        self._backlog: _Backlog | None = None
        self._replies_said: dict[tuple[int, str], tuple[Entry, str]] = {}
        self.last_line = 0

    # -- per chunk ---------------------------------------------------------------------

    def feed(self, chunk: str) -> None:
        newlines = list(map(_match_start, _NEWLINE.finditer(chunk)))
        base = self.line_offset + 1
        find_line = bisect.bisect_left

        def line_of(position: int) -> int:
            return base + find_line(newlines, position)

        rfind = chunk.rfind

        def line_keys(matches: list[re.Match[str]]) -> list[int]:
            """Where the line of each match begins, as the position of the newline before it
            (-1 on the first line): a key for the line that is quicker to find than its number."""
            return list(map(rfind, repeat("\n"), repeat(0), map(_match_start, matches)))

        # Past the report's event cap, commands, plain informational replies and successes
        # in quiet sessions are not handled one by one: they are replayed in bulk before each
        # event that matters.
        bulk = self.events_full
        rules = self.rules
        starts: list[re.Match[str]] = []
        for pattern in rules.starts:
            if pattern is _SHELL_START and not _may_prompt(chunk):
                continue  # no prompt character in the chunk: no shell prompt line either
            starts += pattern.finditer(chunk)
        commands: list[re.Match[str]] = []
        for pattern in rules.commands:
            commands += pattern.finditer(chunk)
        # Replies that are hits, with the order in which the patterns found them.
        replies: list[tuple[int, re.Match[str]]] = []
        plain: list[re.Match[str]] = []
        quiet: list[tuple[int, re.Match[str]]] = []  # successes that may be replayed in bulk
        plain_codes, success_codes = self.plain_codes, self.success_codes
        found = 0
        for pattern in rules.replies:
            matches = list(pattern.finditer(chunk))
            if bulk:
                to_plain, to_quiet, to_replies = plain.append, quiet.append, replies.append
                for k, m in enumerate(matches, found):
                    code = m["code"]
                    if code in plain_codes:
                        to_plain(m)
                    elif code in success_codes:
                        to_quiet((k, m))
                    else:
                        to_replies((k, m))
            else:
                replies += enumerate(matches, found)
            found += len(matches)
        messages: list[tuple[re.Match[str], _MessageInfo]] = []
        for pattern, entry_id, outcome, variant in rules.messages:
            info = (entry_id, outcome, variant)
            messages += [(m, info) for m in pattern.finditer(chunk)]

        start_keys = line_keys(starts)
        hits: list[_HitTuple] = [
            (key, _START, m.start(), i, m, None)
            for i, (key, m) in enumerate(zip(start_keys, starts, strict=True))
        ]
        message_keys = line_keys([m for m, _ in messages])
        message_hits: list[_HitTuple] = [
            (key, _MESSAGE, m.start(), i, m, info)
            for i, (key, (m, info)) in enumerate(zip(message_keys, messages, strict=True))
        ]
        successes: list[re.Match[str]] = []
        # Lines a rule understood, session starts included (a shell prompt's
        # "--connect-timeout" is an option, not an error), are not scanned again for error
        # words.
        handled = set(start_keys)
        handled.update(message_keys)
        if quiet:
            # A success stays a hit when it closes or opens a multi-line reply, or when
            # a session start or a message shares its line (they are handled before it).
            successes = [m for _, m in quiet]
            quiet_keys = line_keys(successes)
            if rules.reply_separators:
                separators = [_separator(m) for m in successes]
            else:
                separators = [chunk[end : end + 1] for end in map(_CODE_END, successes)]
            if separators.count(" ") != len(separators) or not handled.isdisjoint(quiet_keys):
                successes = []
                for key, separator, (i, m) in zip(quiet_keys, separators, quiet, strict=True):
                    if separator != " " or key in handled:
                        replies.append((i, m))
                    else:
                        successes.append(m)
            if len(rules.replies) > 1:
                successes.sort(key=_match_start)
            handled.update(quiet_keys)
        reply_matches = [m for _, m in replies]
        reply_keys = line_keys(reply_matches)
        reply_hits: list[_HitTuple] = [
            (key, _REPLY, m.start(), i, m, None)
            for key, (i, m) in zip(reply_keys, replies, strict=True)
        ]
        if rules.variant_codes and messages:
            # A message rule that names the variant of the reply on its own line gives that
            # reply its variant, and is no event of its own: the line is one event.
            named = _replies_named(messages, message_keys, reply_matches, reply_keys)
            for index, n in named.items():
                message, info = messages[n]
                reply_hits[index] = (*reply_hits[index][:5], (info, message))
            if named:
                taken = set(named.values())
                message_hits = [hit for hit in message_hits if hit[3] not in taken]
        hits += message_hits
        hits += reply_hits
        handled.update(reply_keys)
        command_keys = line_keys(commands)
        handled.update(command_keys)
        if bulk:
            if len(rules.commands) > 1:
                commands.sort(key=_match_start)
            if len(rules.replies) > 1:
                plain.sort(key=_match_start)
            handled.update(line_keys(plain))
            try:
                verbs = list(map(str.upper, map(_COMMAND_GROUP, commands)))
            except TypeError:  # a command pattern whose verb group may not take part
                verbs = [(m["command"] or "").upper() for m in commands]
            self._backlog = _Backlog(
                commands,
                verbs,
                plain,
                successes,
                # Each list of positions ends with one past the chunk: a window never reaches it.
                [*map(_match_start, commands), len(chunk) + 2],
                [*map(_match_start, plain), len(chunk) + 2],
                [*map(_match_start, successes), len(chunk) + 2],
                line_of,
            )
        else:
            hits += [
                (key, _COMMAND, m.start(), i, m, None)
                for i, (key, m) in enumerate(zip(command_keys, commands, strict=True))
            ]
        for pattern in rules.ignores:
            handled.update(line_keys(list(pattern.finditer(chunk))))
        self._note_addresses(chunk, starts, start_keys, reply_matches, line_of)
        scanned = self._scan_error_lines(_error_lines(chunk, newlines, handled))
        hits += [
            (rfind("\n", 0, position), _SCANNED, position, i, None, match)
            for i, (position, match) in enumerate(scanned)
        ]
        self._find_secrets(chunk, line_of)
        hits.sort()
        past_cap = len(self.sessions) >= SESSION_CAP
        for _, order, position, _, match, extra in hits:
            if bulk:
                # Before a session start past the session cap, what the ending session's
                # state would keep is made only if that session is ever diagnosed.
                self._replay(position, later=order == _START and past_cap)
            line = base + find_line(newlines, position)
            if order == _REPLY:
                self._reply(line, match, extra)  # type: ignore[arg-type]
            elif order == _START:
                self._new_session(line)
            elif order == _COMMAND:
                self._command(match, line)  # type: ignore[arg-type]
            elif order == _MESSAGE:
                entry_id, outcome, variant = extra  # type: ignore[misc]
                self._flush_pending()
                # A server line that only describes a reply ("FAIL LOGIN") waits: when the
                # reply itself follows, the reply is the event.
                self.pending = (line, entry_id, _whole_line(match), variant, outcome)  # type: ignore[arg-type]
            else:
                scanned_match: Match = extra  # type: ignore[assignment]
                self._event(
                    line,
                    scanned_match.id,
                    scanned_match.evidence,
                    variant=scanned_match.variant,
                )
        if bulk:
            self._replay(len(chunk) + 1)
            self._backlog = None
        self.line_offset += len(newlines)
        self.last_line = self.line_offset + (0 if chunk.endswith("\n") else 1)

    def _replay(self, position: int, *, later: bool = False) -> None:
        """Feed the state the backlog that stands before `position`.

        One by one while a line waits to be matched with its reply, a multi-line reply is
        open or the session has gone wrong; otherwise in bulk: only the state that the
        items leave behind is computed, and only the events it keeps are made.
        """
        backlog = self._backlog
        if backlog is None:
            return
        command_at, plain_at, success_at = backlog.command_at, backlog.plain_at, backlog.success_at
        if (
            command_at[backlog.c] >= position
            and plain_at[backlog.p] >= position
            and success_at[backlog.s] >= position
        ):
            return  # nothing stands before it
        c_end = bisect.bisect_left(command_at, position, backlog.c)
        p_end = bisect.bisect_left(plain_at, position, backlog.p)
        s_end = bisect.bisect_left(success_at, position, backlog.s)
        while True:
            c, p, s = backlog.c, backlog.p, backlog.s
            if c == c_end and p == p_end and s == s_end:
                return
            if s < s_end:
                if self.open_reply is None and self.pending is None and self.state.quiet():
                    break
            elif self.pending is None or c == c_end:
                break
            # The next item by position; at one position a success (formerly handled as
            # a hit there) goes first, then a command, then a plain reply.
            next_s = success_at[s] if s < s_end else position
            next_c = command_at[c] if c < c_end else position
            next_p = plain_at[p] if p < p_end else position
            if s < s_end and next_s <= next_c and next_s <= next_p:
                match = backlog.successes[s]
                backlog.s = s + 1
                self._reply(backlog.line_of(next_s), match)
            elif c < c_end and next_c <= next_p:
                match = backlog.commands[c]
                backlog.c = c + 1
                self._command(match, backlog.line_of(next_c))
            else:
                match = backlog.plain[p]
                backlog.p = p + 1
                self.events_total += 1
                self._plain(match, backlog.line_of(next_p))
        backlog.c, backlog.p, backlog.s = c_end, p_end, s_end
        self.events_total += (p_end - p) + (s_end - s)
        state = self.state
        span = (backlog, c, c_end, p, p_end, s, s_end)
        if later and self.pending is None and (state.count or p < p_end or s < s_end):
            # The session ends here: whether it failed is all that is needed now.
            if p < p_end or s < s_end:
                state.count += 1
            if not FALLBACKS.issuperset(
                verb for verb in backlog.verbs[c:c_end] if verb in _DATA_COMMANDS
            ):
                state.forgive_fallbacks()
            if s < s_end or any(
                backlog.plain[index]["code"] not in _CLOSING_CODES for index in range(p, p_end)
            ):
                state.probes_passed = list(state.probe_failures)
            state.replay_later = span
        else:
            self._replay_bulk(state, span)

    def _settle(self, state: SessionState) -> None:
        """Make what a session's state keeps of a replay put off at its end."""
        if state.replay_later is not None:
            span, state.replay_later = state.replay_later, None
            self._replay_bulk(state, span)  # type: ignore[arg-type]

    def _replay_bulk(
        self, state: SessionState, span: tuple[_Backlog, int, int, int, int, int, int]
    ) -> None:
        """Replay a window of the backlog onto `state` at once (no pending line, no open
        reply, and no success unless the session is quiet): what matters is what the state
        keeps. The window's events are already counted."""
        backlog, c, c_end, p, p_end, s, s_end = span
        line_of = backlog.line_of
        commands = backlog.commands
        # Commands: the last one is what a reply answers; the last that begins an operation
        # is the operation; data-connection commands are all kept.
        before = state.last_command
        verbs = backlog.verbs
        if c < c_end:
            window = verbs[c:c_end]
            if not _DATA_COMMANDS.isdisjoint(window):
                data = [verb for verb in window if verb in _DATA_COMMANDS]
                state.data_commands += data
                if not FALLBACKS.issuperset(data):
                    state.forgive_fallbacks()
            last = commands[c_end - 1]
            line, argument = line_of(last.start()), _argument(last)
            state.last_command, state.last_command_line = window[-1], line
            state.last_argument = argument
            for index in range(c_end - 1, c - 1, -1):
                if verbs[index] not in _NOT_OPERATIONS:
                    if index != c_end - 1:
                        match = commands[index]
                        line, argument = line_of(match.start()), _argument(match)
                    state.operation_line = line
                    state.operation = f"{verbs[index]} {argument}".strip()
                    break
        if p == p_end and s == s_end:
            return
        # Successes (quiet session): the last transfer or file-action success and the last
        # login are kept, each with the command it answers.
        last_success: LogEvent | None = None
        success_at = -1
        if s < s_end:
            success_at = backlog.success_at[s_end - 1]
            command_at = backlog.command_at
            done = set()
            for index in range(s_end - 1, s - 1, -1):
                match = backlog.successes[index]
                is_login = match["code"] == _LOGIN_CODE
                if is_login in done:
                    continue
                done.add(is_login)
                at = backlog.success_at[index]
                answered = bisect.bisect_left(command_at, at, c, c_end) - 1
                command = verbs[answered] if answered >= c else before
                event = self._success_event(match, line_of(at), command)
                if is_login:
                    state.login = event
                else:
                    state.success = event
                if last_success is None:
                    last_success = event
                if len(done) == 2:
                    break
        # Plain replies: the last one, and the last that is not the server closing.
        plain_event: LogEvent | None = None
        progress: LogEvent | None = None
        if p < p_end and backlog.plain_at[p_end - 1] >= success_at:
            match = backlog.plain[p_end - 1]
            plain_event = self._plain_event(match, line_of(match.start()))
            index = p_end - 1
            while index >= p and backlog.plain[index]["code"] in _CLOSING_CODES:
                index -= 1
            if index == p_end - 1:
                progress = plain_event
            elif index >= p and backlog.plain_at[index] >= success_at:
                match = backlog.plain[index]
                progress = self._plain_event(match, line_of(match.start()))
        if plain_event is not None:
            state.last_event = plain_event
        else:
            state.last_event = last_success
        if progress is None:
            progress = last_success
        if progress is not None:
            state.last_progress = progress
            state.probes_passed = list(state.probe_failures)
        state.count += 1

    def _said(self, match: re.Match[str]) -> tuple[Entry, str]:
        """A reply's entry and event text ("226 Transfer complete."), remembered by the
        matched text: a big log says the same few things over and over."""
        key = (id(match.re), match.group())
        said = self._replies_said.get(key)
        if said is None:
            if len(self._replies_said) >= 4096:
                self._replies_said.clear()
            code = match["code"]
            text = (_group(match, "text") or "").strip()
            said = (self.kb.entries[f"ftp/{code}"], f"{code} {text}".strip()[:300])
            self._replies_said[key] = said
        return said

    def _plain_event(self, match: re.Match[str], line: int) -> LogEvent:
        """The event a plain informational reply records (SessionState.plain)."""
        entry, text = self._said(match)
        return LogEvent(line, entry.protocol, entry.code, entry.id, text, entry.title, "n/a")

    def _plain(self, match: re.Match[str], line: int) -> None:
        """One plain informational reply, the lean way."""
        entry, text = self._said(match)
        self.state.plain(entry, line, text)

    def _success_event(self, match: re.Match[str], line: int, command: str | None) -> LogEvent:
        """The event a success in a quiet session records (SessionState.note_success)."""
        entry, text = self._said(match)
        return success_event(entry, line, text, command)

    def _scan_error_lines(self, lines: list[tuple[int, str]]) -> list[tuple[int, Match]]:
        """(position, match) for what the chat scanner finds on lines with error words."""
        if not lines:
            return []
        found = detector().scan_many([text for _, text in lines], threshold=0.7)
        return [
            (position, match)
            for (position, _), matches in zip(lines, found, strict=True)
            for match in matches
        ]

    def _note_addresses(
        self,
        chunk: str,
        starts: list[re.Match[str]],
        start_keys: list[int],
        replies: list[re.Match[str]],
        line_of: Callable[[int], int],
    ) -> None:
        """Remember the addresses a 227 will be judged by: those on session-start lines, and
        a 227's own address when the text before it in this chunk already shows it."""
        known = self.state.addresses
        if starts:
            # The start lines joined, for one pass: no address spans a newline.
            ends = list(map(chunk.find, repeat("\n"), map(_match_end, starts)))
            if -1 in ends:  # the last line of the input, without its newline
                lines = list(map(_whole_line, starts))
            else:
                lines = list(map(chunk.__getitem__, map(slice, map(_ONE_MORE, start_keys), ends)))
            offsets = list(accumulate(map(_ONE_MORE, map(len, lines)), initial=0))
            for found in _IPV4.finditer("\n".join(lines)):
                address = found.group()
                if address not in known:
                    index = bisect.bisect_right(offsets, found.start()) - 1
                    known[address] = line_of(starts[index].start())
        for match in replies:
            if match["code"] != "227":
                continue
            named = PASV_ADDRESS.search(match.group(0))
            if named is None:
                continue
            address = ".".join(named.groups())
            seen = chunk.rfind(address, 0, match.start())
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

    def _command(self, match: re.Match[str], line: int) -> None:
        self._flush_pending()  # what was pending answered the previous command
        self.state.command((match["command"] or "").upper(), line, _argument(match))

    def _reply(self, line: int, match: re.Match[str], named: _Named | None = None) -> None:
        code = match["code"]
        text = (_group(match, "text") or "").strip()
        separator = _separator(match)
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
        if named is not None:
            # The event quotes the whole line: what chose the variant (a sub-status) is not
            # in the reply's text.
            (_, outcome, variant), named_match = named
            self._event(line, entry_id, _whole_line(named_match), variant=variant, outcome=outcome)
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
            if len(self.sessions) >= SESSION_CAP:
                # Not listed: diagnosed only if it turns out to be the last session, or the
                # last that failed.
                self.sessions_total += 1
                self.last_session, self.last_quiet = None, self.state
                if self.state.failed():
                    self.last_failed, self.last_failed_state = None, self.state
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
        if self.last_failed_state is not None:
            self._settle(self.last_failed_state)
            self.last_failed = self.last_failed_state.close()
        self.state.last_line = max(self.state.first_line, self.last_line)
        if self.state.has_events() or not self.sessions_total:
            self._keep(self.state.close())
        if self.last_session is None and self.last_quiet is not None:
            self._settle(self.last_quiet)
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


def _error_lines(chunk: str, newlines: list[int], handled: set[int]) -> list[tuple[int, str]]:
    """(start, text) of each line with an error word that no format rule has handled
    (`handled` holds the position of the newline before each handled line, -1 for the first).

    Only the lines no rule understood are searched, joined into one text for one pass.
    """
    left = [row for row, key in enumerate([-1, *newlines]) if key not in handled]
    if not left:
        return []
    ends = [*newlines, len(chunk)]
    starts = [ends[row - 1] + 1 if row else 0 for row in left]
    texts = [chunk[start : ends[row]] for start, row in zip(starts, left, strict=True)]
    raw = "\n".join(texts)
    joined = raw.lower()
    if len(joined) != len(raw):
        joined = raw  # a few letters change length in lower case: search the text as written
    starts_in_joined = list(accumulate((len(text) + 1 for text in texts[:-1]), initial=0))
    found: list[tuple[int, str]] = []
    taken = -1
    for hit in _ERROR_WORDS.finditer(joined):
        index = bisect.bisect_right(starts_in_joined, hit.start()) - 1
        if index == taken:
            continue  # another hit on a line already taken
        taken = index
        found.append((starts[index], texts[index]))
    return found


def _replies_named(
    messages: list[tuple[re.Match[str], _MessageInfo]],
    message_keys: list[int],
    replies: list[re.Match[str]],
    reply_keys: list[int],
) -> dict[int, int]:
    """{reply index: message index} for each message rule that names the variant of a reply
    with its code on the reply's own line (the IIS log's sc-substatus)."""
    wanted = {
        (key, info[0]): n
        for n, (key, (_, info)) in enumerate(zip(message_keys, messages, strict=True))
        if info[2] is not None
    }
    named: dict[int, int] = {}
    if wanted:
        lines = {key for key, _ in wanted}
        for index, key in enumerate(reply_keys):
            if key in lines:
                found = wanted.pop((key, "ftp/" + replies[index]["code"]), None)
                if found is not None:
                    named[index] = found
    return named


def _group(match: re.Match[str], name: str) -> str | None:
    """The named group's text; None when the pattern has no such group or it took no part."""
    return match[name] if name in match.re.groupindex else None


def _argument(match: re.Match[str]) -> str:
    """A command's argument."""
    return (_group(match, "arg") or "").strip()


def _separator(match: re.Match[str]) -> str:
    """The character after a reply's code: "-" continues a multi-line reply."""
    separator = _group(match, "sep")
    if separator is None:
        end = match.end("code")
        separator = match.string[end : end + 1]
    return separator


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
    # The analysis makes hundreds of thousands of short-lived objects and no reference
    # cycles: the cycle collector would only walk them again and again (about a tenth of
    # the time on a big log). It is switched off meanwhile, and back on as it was.
    collecting = gc.isenabled()
    gc.disable()
    try:
        if first:
            analyser.feed(first)
        for piece in iterator:
            analyser.feed(piece)
        return analyser.finish(name, [f.tool for f in formats])
    finally:
        if collecting:
            gc.enable()


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
