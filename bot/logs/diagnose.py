"""Decide, for one session, which event explains the outcome, and say why in one paragraph.

Rules (CONTRACT.md): a failure the session never got past is the diagnosis; replies to a
client's automatic probes (AUTH TLS, FEAT, OPTS, SIZE, MDTM, ...) are not, when the session
went on; a failure the client recovered from is the diagnosis with ok true when nothing else
failed; a clean run is diagnosed by its last transfer or file-action success. A server's
reply code or the underlying socket or TLS error beats a client's wrapper exit code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot import render
from bot.detect import detector
from bot.knowledge import KnowledgeBase
from bot.logs.model import Diagnosis, LogEvent, Session
from bot.models import Entry

# Commands clients send on their own to learn what the server supports.
PROBES = frozenset(
    {"AUTH", "FEAT", "OPTS", "SIZE", "MDTM", "SYST", "CLNT", "HELP", "LANG", "SITE", "HOST"}
    | {"STAT", "LSTAT", "REALPATH"}  # SFTP clients look before they upload
)
# Data-connection set-up commands: EPSV/EPRT refusals are retried with PASV/PORT.
PASSIVE = frozenset({"EPSV", "PASV", "LPSV"})
ACTIVE = frozenset({"PORT", "EPRT", "LPRT"})
FALLBACKS = frozenset({"EPSV", "EPRT"})
# Success that answers what the user wanted: a transfer or a file action.
RESULT_SUCCESS = frozenset({"ftp/226", "ftp/250", "ftp/257", "sftp/0"})
LOGIN_SUCCESS = "ftp/230"
# Steps inside an operation (an SFTP close, an FTP TYPE or PASV before RETR): a success they
# lead to answers the command that began the operation, not them.
INNER_STEPS = frozenset(
    {"CLOSE", "READ", "WRITE", "FSTAT", "READDIR", "TYPE", "MODE", "STRU", "REST", "NOOP"}
    | PASSIVE
    | ACTIVE
)
# A successful login gets the session past failures of these commands only.
LOGIN_COMMANDS = frozenset({"USER", "PASS", "ACCT", "AUTH", "PBSZ", "PROT", "CCC"})
# Replies that are not progress: the server closing the session.
CLOSING = frozenset({"ftp/221"})
# Evidence priority: server replies, then the SSH or TLS failure, then the socket error
# (a timeout reading an SSH banner is explained by the banner), then client wrappers.
_TIER = {"ftp": 0, "sftp": 0, "http": 0, "ssh": 1, "tls": 1, "winsock": 2, "curl": 3}
PASV_ADDRESS = re.compile(r"\((\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),\d{1,3},\d{1,3}\)")


@dataclass(slots=True)
class SessionState:
    kb: KnowledgeBase
    first_line: int
    last_line: int = 0
    last_command: str | None = None
    last_command_line: int = 0
    operation_line: int = 0  # where the current operation (RETR, STOR, open, ...) began
    operation: str = ""
    last_argument: str = ""
    data_commands: list[str] = field(default_factory=list)
    failures: list[LogEvent] = field(default_factory=list)  # not (yet) got past
    probe_failures: list[LogEvent] = field(default_factory=list)
    # Informational replies in a worrying variant (227 with a private address): the cause of
    # a data-connection failure that follows them, and nothing when none follows.
    warnings: list[LogEvent] = field(default_factory=list)
    recovered: LogEvent | None = None
    recovered_by: LogEvent | None = None
    # Probe failures the session made progress after (harmless), by identity.
    probes_passed: list[LogEvent] = field(default_factory=list)
    # Where each IPv4 address first appeared in the input: a 227 that names an address the
    # client already talks to is not a warning.
    addresses: dict[str, int] = field(default_factory=dict)
    success: LogEvent | None = None
    login: LogEvent | None = None
    last_event: LogEvent | None = None
    last_progress: LogEvent | None = None  # the last event that is not the closing 221
    count: int = 0
    # Log lines replayed in bulk whose events are made only if the session is diagnosed
    # (bot.logs.analyse); what decides whether it failed is applied already.
    replay_later: tuple[object, ...] | None = None

    def has_events(self) -> bool:
        return self.count > 0

    def command(self, verb: str, line: int, argument: str = "") -> None:
        """The client sent `verb` (with `argument`) on `line`."""
        self.last_command, self.last_command_line = verb, line
        self.last_argument = argument
        if verb not in INNER_STEPS and verb not in PROBES:
            self.operation_line, self.operation = line, f"{verb} {argument}".strip()
        if verb in PASSIVE or verb in ACTIVE:
            self.data_commands.append(verb)
            if verb not in FALLBACKS:
                self.forgive_fallbacks()

    def forgive_fallbacks(self) -> None:
        """EPSV/EPRT failures are behind us once the client falls back and goes on."""
        self._forgive(lambda e: e.command in FALLBACKS, None)

    def event(
        self,
        entry: Entry,
        line: int,
        text: str,
        variant: str | None,
        outcome: str,
        reply_text: str,
    ) -> LogEvent | None:
        """Record one event; None when it repeats the previous event (a wrapper echo)."""
        if variant is None and entry.variants:
            variant = _variant_of(entry.id, reply_text or text)
        chosen = entry.variant(variant)
        retry = chosen.retry if chosen else entry.retry
        warning = False
        probe = False
        if not outcome and retry == "n/a" and entry.retry != "n/a":
            # A harmless variant of an error (550 to a SIZE probe): a probe failure, which is
            # the diagnosis, with the code's own verdict, only if the session stops there.
            outcome, probe, retry = "error", True, entry.retry
        if not outcome:
            if entry.id in RESULT_SUCCESS or entry.id == LOGIN_SUCCESS:
                outcome = "success"
            elif retry != "n/a" and entry.retry == "n/a":
                warning = not self._known_address(text, line)
                if not warning:
                    variant, chosen, retry = None, None, entry.retry
            elif retry != "n/a":
                outcome = "error"
        command = self.last_command if entry.protocol in ("ftp", "sftp") else None
        event = LogEvent(
            line,
            entry.protocol,
            entry.code,
            entry.id,
            text,
            chosen.title if chosen else entry.title,
            retry,
            variant,
            command,
            self.last_argument if command else "",
            self.operation,
            outcome,
        )
        previous = self.last_event
        if previous is not None and previous.id == event.id and previous.line == line:
            return None
        self._advance(event)
        if warning:
            self.warnings.append(event)
        elif outcome == "error":
            if probe or command in PROBES:
                self.probe_failures.append(event)
            else:
                self.failures.append(event)
        elif outcome == "success":
            # A success gets the session past failures from before the command it answers,
            # not past a failed write to the very file whose close is logged as a success.
            started = self.operation_line
            if entry.id == LOGIN_SUCCESS:
                self._forgive(lambda e: e.command in LOGIN_COMMANDS, event)
                self.login = event
            else:
                self._forgive(lambda e: not started or e.line < started, event)
                self.success = event
        return event

    def _advance(self, event: LogEvent) -> None:
        """The session moved on by `event`: count it, remember it as the latest."""
        self.count += 1
        self.last_event = event
        if event.id not in CLOSING:
            self.last_progress = event
            if event.outcome != "error" and event.protocol != "curl":
                # Any reply that is not a failure is progress: earlier probes were harmless.
                self.probes_passed = list(self.probe_failures)

    def _unpassed_probes(self) -> list[LogEvent]:
        """Probe failures the session made no progress after."""
        return [p for p in self.probe_failures if p not in self.probes_passed]

    def plain(self, entry: Entry, line: int, text: str) -> None:
        """Record a reply that is informational in every variant, the lean way."""
        self._advance(
            LogEvent(line, entry.protocol, entry.code, entry.id, text, entry.title, "n/a")
        )

    def failed(self) -> bool:
        """Whether this session's diagnosis will say it failed (the first branch of diagnose)."""
        return bool(self.failures or self._unpassed_probes())

    def quiet(self) -> bool:
        """Nothing has gone wrong in this session yet (no failure, probe failure or warning)."""
        return not (self.failures or self.probe_failures or self.warnings)

    def note_success(self, entry: Entry, line: int, text: str) -> None:
        """Record a success in a quiet session, the lean way (nothing to forgive)."""
        event = success_event(entry, line, text, self.last_command)
        self._advance(event)
        if entry.id == LOGIN_SUCCESS:
            self.login = event
        else:
            self.success = event

    def _known_address(self, text: str, line: int) -> bool:
        """Whether a 227's address already appeared before it (so the client can reach it)."""
        found = PASV_ADDRESS.search(text)
        if found is None:
            return False
        address = ".".join(found.groups())
        seen = self.addresses.get(address)
        return seen is not None and seen < line

    def _forgive(self, which: Callable[[LogEvent], bool], by: LogEvent | None) -> None:
        """Move failures the session got past to `recovered`."""
        kept = [e for e in self.failures if not which(e)]
        passed = [e for e in self.failures if which(e)]
        if passed:
            self.recovered = passed[-1]
            self.recovered_by = by
        self.failures = kept

    # -- the verdict ---------------------------------------------------------------------

    def close(self) -> Session:
        return Session(self.first_line, max(self.last_line, self.first_line), self.diagnose())

    def diagnose(self) -> Diagnosis | None:
        # A probe failure the session never got past explains the outcome only when nothing
        # but a client's wrapper code failed after it (SIZE -> 550, then curl (78)).
        unpassed = self._unpassed_probes()
        real = [e for e in self.failures if e.protocol != "curl"]
        failures = (
            self.failures
            if real or not unpassed
            else sorted(self.failures + unpassed, key=lambda e: e.line)
        )
        if failures:
            best_tier = min(_TIER.get(e.protocol, 1) for e in failures)
            event = next(e for e in failures if _TIER.get(e.protocol, 1) == best_tier)
            cause = self._warning_before(event)
            if cause is not None:
                return self._diagnosis(cause, ok=False, consequence=event)
            return self._diagnosis(event, ok=False)
        if self.recovered is not None:
            return self._diagnosis(self.recovered, ok=True)
        for candidate in (self.success, self.last_progress, self.last_event):
            if candidate is not None:
                return self._diagnosis(candidate, ok=True)
        return None

    def _warning_before(self, failure: LogEvent) -> LogEvent | None:
        """A worrying informational reply that explains a data-connection failure after it."""
        if not _is_data_failure(failure):
            return None
        earlier = [w for w in self.warnings if w.line <= failure.line]
        return earlier[-1] if earlier else None

    def _diagnosis(
        self, event: LogEvent, *, ok: bool, consequence: LogEvent | None = None
    ) -> Diagnosis:
        entry = self.kb.entries[event.id]
        variant = entry.variant(event.variant)
        meaning = variant.meaning if variant else entry.meaning
        notes = self._notes(event, ok)
        if consequence is not None:
            notes.insert(0, render.log_note_consequence(consequence))
        retry = "n/a" if event.outcome == "success" else event.retry
        if not ok and retry == "no" and event.variant == "permission-denied":
            name = _filtered_name(event.argument)
            if name:  # the user can rename it: CONTRACT.md's exception to "permission denied"
                retry = "after-fix"
                notes.append(render.log_note_filtered_name(name))
        if not ok and event.id in UPLOAD_BREAKS and _is_upload(event.operation):
            retry = "after-fix"  # a server that drops an upload usually could not store it
            notes.append(render.LOG_NOTE_UPLOAD_BROKEN)
        explanation = render.log_explanation(event, meaning, ok=ok, notes=notes)
        return Diagnosis(
            protocol=event.protocol,
            code=event.code,
            id=event.id,
            title=event.title,
            retry=retry,
            ok=ok,
            line=event.line,
            explanation=explanation,
            variant=event.variant,
        )

    def _notes(self, event: LogEvent, ok: bool) -> list[str]:
        """What the sequence around the event adds: probes, fallbacks, recovery, wrappers."""
        notes: list[str] = []
        ignored = [p for p in self.probe_failures if p is not event]
        if ignored:
            notes.append(render.log_note_probe(ignored[0]))
        data = self.data_commands
        if _is_data_failure(event) and not ok:
            if any(c in PASSIVE for c in data) and "EPSV" in data and "PASV" in data:
                notes.append(render.LOG_NOTE_PASSIVE_BLOCKED)
            elif data and data[-1] in ACTIVE:
                notes.append(render.LOG_NOTE_ACTIVE_MODE)
        if ok and event.outcome == "error" and self.recovered_by is not None:
            notes.append(render.log_note_recovered(self.recovered_by))
        wrappers = [e for e in self.failures if e.protocol == "curl" and e is not event]
        if wrappers and not ok:
            notes.append(render.log_note_wrapper(wrappers[-1]))
        return notes


# The variant a reply text selects, by (entry id, text): a big log repeats the same few
# texts. Bounded; rebuilt when the detector is.
_VARIANTS: dict[tuple[str, str], str | None] = {}
_VARIANTS_OF: list[object] = [None]


def _variant_of(entry_id: str, text: str) -> str | None:
    found = detector()
    if _VARIANTS_OF[0] is not found or len(_VARIANTS) >= 4096:
        _VARIANTS.clear()
        _VARIANTS_OF[0] = found
    key = (entry_id, text)
    if key in _VARIANTS:
        return _VARIANTS[key]
    variant = _VARIANTS[key] = found.variant_of(entry_id, text)
    return variant


def success_event(entry: Entry, line: int, text: str, command: str | None) -> LogEvent:
    """The event of a success reply (`entry`) that answers `command`."""
    return LogEvent(
        line,
        entry.protocol,
        entry.code,
        entry.id,
        text,
        entry.title,
        "n/a",
        command=command,
        outcome="success",
    )


def _is_data_failure(event: LogEvent) -> bool:
    """Failures that a data connection which cannot be opened produces."""
    return event.id in ("ftp/425", "ftp/426", "winsock/10060", "winsock/10061") or (
        event.protocol == "curl" and event.code in ("7", "28", "19", "30")
    )


# Replies and socket errors with which a server drops an upload it cannot store.
UPLOAD_BREAKS = frozenset({"ftp/426", "winsock/10054", "winsock/10053"})
_UPLOADS = re.compile(r"^(?:STOR|STOU|APPE|PUT)\b|^OPEN\b.*\bWRITE\b", re.IGNORECASE)
# File names that servers commonly refuse by rule (executables, scripts, dot files).
_FILTERED = re.compile(
    r"(?:^|/)(\.[^/]+|[^/]+\.(?:exe|bat|cmd|com|scr|pif|vbs|js|jse|ps1|msi|dll|php\d?|phtml|"
    r"asp|aspx|jsp|cgi|pl|sh|htaccess))$",
    re.IGNORECASE,
)


def _filtered_name(argument: str) -> str:
    """The file name in a command argument if servers commonly filter such names, else ""."""
    found = _FILTERED.search(argument.strip().strip('"'))
    return found.group(1) if found else ""


def _is_upload(operation: str) -> bool:
    return _UPLOADS.search(operation) is not None
