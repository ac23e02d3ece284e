"""What the bot answers, decided without Slack: questions, chat messages, logs, commands.

The Slack listeners and the offline console both call these functions, so the console
shows exactly what the bot would decide. Wording stays in bot.render, layout in bot.blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from bot.logs import secrets
from bot.logs.model import LogReport
from bot.models import Match

# A paste with this many non-empty lines, of which at least LOG_MIN_EVENTS hold replies or
# errors, is read as a log rather than as a chat message.
LOG_MIN_LINES = 3
LOG_MIN_EVENTS = 2
DEFAULT_MUTE = timedelta(hours=1)
MAX_MUTE = timedelta(days=30)
_DURATION = re.compile(r"^(\d{1,4})\s*(m|min|mins|minutes?|h|hr|hrs|hours?|d|days?)$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}

CommandKind = Literal["usage", "mute", "unmute", "query"]


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed `/ftpcode` text."""

    kind: CommandKind
    query: str = ""
    mute_for: timedelta = DEFAULT_MUTE
    error: str = ""  # set when the text was a sub-command with an unusable argument


@dataclass(frozen=True, slots=True)
class Question:
    """The answer to something a person asked: readings best first, or hints."""

    query: str
    matches: list[Match]
    hints: list[str]


def parse_duration(text: str) -> timedelta | None:
    """ "30m", "1h", "2 hours", "1d" as a duration (at most MAX_MUTE), or None."""
    found = _DURATION.match(text.strip().lower())
    if found is None:
        return None
    amount = int(found.group(1)) * _UNIT_SECONDS[found.group(2)[0]]
    if amount <= 0:
        return None
    return min(timedelta(seconds=amount), MAX_MUTE)


def parse_command(text: str) -> Command:
    """What `/ftpcode TEXT` asks for: usage, mute, unmute, or a lookup."""
    words = text.split()
    if not words or (len(words) == 1 and words[0].lower() in ("help", "-h", "--help", "?")):
        return Command("usage")
    first = words[0].lower()
    if first == "unmute" and len(words) == 1:
        return Command("unmute")
    if first == "mute" and len(words) <= 3:
        if len(words) == 1:
            return Command("mute")
        duration = parse_duration(" ".join(words[1:]))
        if duration is None:
            return Command("mute", error=" ".join(words[1:]))
        return Command("mute", mute_for=duration)
    return Command("query", query=text.strip())


def ask(query: str) -> Question:
    """Every reading of a question; "did you mean" hints when there is none."""
    from bot.lookup import lookup, suggestions
    from bot.text import prepare

    query = prepare(query).strip()
    found = lookup(query)
    return Question(query, found, [] if found else suggestions(query))


def scan(message: str) -> list[Match]:
    """What the bot would answer to a chat message it was not asked about."""
    from bot.detect import scan as detect_scan

    return detect_scan(message)


def could_be_log(text: str) -> bool:
    """Whether a paste is long enough to be read as a log (cheap; read_log decides)."""
    return sum(1 for line in text.splitlines() if line.strip()) >= LOG_MIN_LINES


def read_log(text: str, name: str = "message") -> LogReport | None:
    """The log diagnosis of a paste, or None when the paste does not read like a log."""
    if not could_be_log(text):
        return None
    from bot.logs.analyse import analyse_text

    report = analyse_text(text, name)
    if report.diagnosis is None or max(report.events_total, len(report.events)) < LOG_MIN_EVENTS:
        return None
    return report


def read_log_bytes(data: bytes, name: str) -> LogReport:
    """The log diagnosis of an uploaded file (gzip, UTF-16 and CRLF are handled)."""
    from bot.logs.analyse import analyse_bytes

    return analyse_bytes(data, name)


def secret_kinds(text: str) -> list[str]:
    """The kinds of clear-text credential in a chat message ("password", "private-key", ...).

    Chat says "the password: expired" far more often than it leaks one, so a password
    written after a bare "password:" counts only when it looks like one (letters and digits).
    """
    kinds: list[str] = []
    for found in secrets.find(text):
        if found.kind == "password" and not _credible_password(text, found):
            continue
        if found.kind not in kinds:
            kinds.append(found.kind)
    return kinds


_PASSWORD_CONTEXT = re.compile(
    r"PASS[ \t]+$|://[^\s/:@]+:$|sshpass|-(?:u|-user)[ \t]|=[ \t]*['\"]?$"
)


def _credible_password(text: str, found: secrets.Found) -> bool:
    before = text[max(0, found.offset - 80) : found.offset]
    if _PASSWORD_CONTEXT.search(before):
        return True
    value = found.value
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value) and "/" not in value


def new_codes(matches: list[Match], already: set[str]) -> list[Match]:
    """The matches whose codes this thread has not been told about yet."""
    return [match for match in matches if match.id not in already]
