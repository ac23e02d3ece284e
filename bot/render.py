"""Every sentence the bot says to a person: terminal text, console replies, Slack fallback text.

Logic decides *what* to say (detect, lookup); this module decides *how it reads*.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from bot.knowledge import KnowledgeBase
from bot.models import Entry, Fix, Match, Verdict

if TYPE_CHECKING:
    from bot.logs.model import LogEvent, LogReport

VERDICT_LABEL: dict[Verdict, str] = {
    "yes": "Retry: yes, it is transient; retry unchanged",
    "after-fix": "Retry: after a fix on your side",
    "no": "Retry: no, the fix is on the server side",
    "n/a": "Retry: not applicable (not an error)",
}
VERDICT_SHORT: dict[Verdict, str] = {
    "yes": "retry: yes",
    "after-fix": "retry: after a fix",
    "no": "retry: no",
    "n/a": "not an error",
}
WHO_LABEL = {
    "user": "You (the user)",
    "server-admin": "The server's administrator",
    "network-team": "The network or firewall team",
}
WHO_ORDER = ("user", "server-admin", "network-team")

USAGE = """\
usage: ftpcode CODE_OR_TEXT               explain a code or an error text
       ftpcode lookup [--json] QUERY      every reading of a code, id, name or text
       ftpcode scan [--json|--jsonl] [FILE|-]
                                          what the bot would answer for a chat message
       ftpcode log [--json] FILE...|-     diagnose a client transcript or server log
       ftpcode serve [--http] [--host H] [--port P]
                                          run the Slack bot (offline console without tokens)

examples: ftpcode 553 | ftpcode sftp 4 | ftpcode WSAECONNRESET
          ftpcode "can't open data connection\""""

ERROR_PREFIX = "ftpcode: "
CORRECTION_LABEL = "What the standard says"
NOTHING_FOUND = "No FTP, SFTP, socket, SSH, TLS or curl error recognised in {query!r}."
DID_YOU_MEAN = "Did you mean: {options}?"
EMPTY_QUERY = "Give a code or an error text, for example: ftpcode 553"
SERVE_NEEDS_SECRET = (
    "HTTP mode needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET; Socket Mode needs "
    "SLACK_BOT_TOKEN and SLACK_APP_TOKEN; with no Slack token at all the offline console runs"
)
SERVE_STARTED_HTTP = "ftpcode: HTTP mode on http://{host}:{port}/slack/events (health: /healthz)"
SERVE_STARTED_SOCKET = "ftpcode: Socket Mode connected; Ctrl-C stops"
CONSOLE_BANNER = (
    "ftpcode offline console: no Slack tokens set, so nothing is posted anywhere.\n"
    "Type or paste a message as it would appear in a support channel; an empty line ends it.\n"
    "Start with /ftpcode to ask like the slash command. End of input (Ctrl-D) quits.\n"
)
CONSOLE_SILENT = "(the bot stays silent: nothing here it should answer)"
CONSOLE_PROMPT = "message> "
CONSOLE_MUTE = "(mute and unmute act on a Slack channel; the offline console has none)"


def _wrap(text: str, indent: str = "  ", width: int = 92, hang: str | None = None) -> str:
    """Fill a paragraph; `hang` is the indent of continuation lines (default: `indent`)."""
    return textwrap.fill(
        text,
        width=width,
        initial_indent=indent,
        subsequent_indent=indent if hang is None else hang,
    )


def _source_label(kb: KnowledgeBase, source_id: str) -> str:
    source = kb.sources.get(source_id)
    return source.short if source is not None else source_id


def fixes_by_who(fixes: Iterable[Fix]) -> list[tuple[str, list[Fix]]]:
    """Fixes grouped by who acts, in the order user, server admin, network team."""
    groups: dict[str, list[Fix]] = {}
    for fix in fixes:
        groups.setdefault(fix.who, []).append(fix)
    return [(who, groups[who]) for who in WHO_ORDER if who in groups]


def entry_text(kb: KnowledgeBase, entry: Entry, variant_key: str | None = None) -> str:
    """The full human-readable answer for one entry (in one of its variants)."""
    variant = entry.variant(variant_key)
    title = variant.title if variant else entry.title
    retry = variant.retry if variant else entry.retry
    lines = [f"{entry.id}  {title}", f"  {VERDICT_LABEL[retry]}"]
    if entry.retry_note and not variant:
        lines.append(_wrap(entry.retry_note, "    "))
    lines.append("")
    lines.append(_wrap(variant.meaning if variant else entry.meaning))
    if variant:
        lines += ["", _wrap(f"In general, {entry.id} ({entry.title}): {entry.meaning}")]
    fixes = [*(variant.fixes if variant else ()), *entry.fixes]
    if fixes:
        lines += ["", "What to do:"]
        for who, group in fixes_by_who(fixes):
            lines.append(f"  {WHO_LABEL[who]}:")
            for fix in group:
                advice = f"- {fix.text} [{_source_label(kb, fix.source)}]"
                lines.append(_wrap(advice, "    ", hang="      "))
    others = [v for v in entry.variants if v is not variant]
    if others:
        lines += ["", "The same code also means:"]
        for other in others:
            lines.append(f"  - {other.title} ({VERDICT_SHORT[other.retry]})")
    if entry.server_texts:
        lines += ["", "What real servers send:"]
        for sent in entry.server_texts[:8]:
            lines.append(f"  {_source_label(kb, sent.source):<18} {sent.text}")
    if entry.claims:
        lines += ["", "Where sources disagree:"]
        for claim in entry.claims:
            said = f"- {_source_label(kb, claim.source)} says: {claim.claim}"
            lines.append(_wrap(said, "  ", hang="    "))
            fixed = f"{CORRECTION_LABEL} ({_source_label(kb, claim.correction_source)}): "
            lines.append(_wrap(fixed + claim.correction, "    "))
    if entry.related:
        lines += ["", "Related: " + ", ".join(entry.related)]
    cited = list(dict.fromkeys([*entry.defined_in, *(f.source for f in fixes)]))
    lines.append("Sources: " + "; ".join(_source_label(kb, s) for s in cited))
    return "\n".join(lines)


def lookup_text(
    kb: KnowledgeBase, query: str, matches: Sequence[Match], hints: Sequence[str]
) -> str:
    """The answer to `ftpcode QUERY`: the best reading in full, the others in one line each."""
    if not matches:
        text = NOTHING_FOUND.format(query=query)
        if hints:
            text += "\n" + DID_YOU_MEAN.format(options=", ".join(hints))
        return text
    first = matches[0]
    parts = [entry_text(kb, kb.entries[first.id], first.variant)]
    if len(matches) > 1:
        parts.append("")
        parts.append("Other readings:")
        for other in matches[1:]:
            parts.append(f"  {other.id}  {other.title} ({VERDICT_SHORT[other.retry]})")
    return "\n".join(parts)


def reply_text(kb: KnowledgeBase, matches: Sequence[Match]) -> str:
    """The short answer the bot posts in a thread for the codes found in a message."""
    blocks: list[str] = []
    for match in matches:
        entry = kb.entries[match.id]
        variant = entry.variant(match.variant)
        meaning = variant.meaning if variant else entry.meaning
        fixes = [*(variant.fixes if variant else ()), *entry.fixes][:3]
        lines = [f"{match.id}: {match.title}  ({VERDICT_SHORT[match.retry]})", _wrap(meaning)]
        for fix in fixes:
            advice = f"- {WHO_LABEL[fix.who]}: {fix.text} [{_source_label(kb, fix.source)}]"
            lines.append(_wrap(advice, "  ", hang="    "))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def scan_text(kb: KnowledgeBase, matches: Sequence[Match]) -> str:
    """`ftpcode scan` without --json: the reply, or a note that the bot stays silent."""
    return reply_text(kb, matches) if matches else CONSOLE_SILENT


def error_line(message: str) -> str:
    """A one-line error for stderr."""
    return ERROR_PREFIX + " ".join(message.split())


# -- log diagnosis ----------------------------------------------------------------------

LOG_NOTE_PASSIVE_BLOCKED = (
    "Both EPSV and PASV data connections failed, so the server's passive port range is "
    "not reachable: a firewall drops it or NAT does not forward it."
)
LOG_NOTE_ACTIVE_MODE = (
    "The client used active mode (PORT/EPRT): the server had to connect back to the client, "
    "which NAT and firewalls usually prevent. Passive mode avoids that."
)
LOG_NOTHING = "Nothing in this input looks like an FTP, SFTP, SSH, TLS or socket event."


def _first_sentence(text: str) -> str:
    cut = text.find(". ")
    return text if cut < 0 else text[: cut + 1]


def log_explanation(event: LogEvent, meaning: str, *, ok: bool, notes: Sequence[str]) -> str:
    """One paragraph: which line, what it says, what it means, and what the sequence adds."""
    quoted = event.text if len(event.text) <= 140 else event.text[:137] + "..."
    if event.outcome == "success" and ok:
        head = f"The session ended well: line {event.line} shows '{quoted}'."
    elif ok and event.outcome != "error":
        head = f"Nothing failed; the last event is on line {event.line}: '{quoted}'."
    elif ok:
        head = f"Line {event.line} shows '{quoted}', but the session went on."
    else:
        after = f" after {event.command}" if event.command else ""
        head = f"Line {event.line}{after}: '{quoted}'."
    parts = [head]
    if not (event.outcome == "success" and ok):
        parts.append(_first_sentence(meaning))
    parts += list(notes)
    return " ".join(parts)


def log_note_probe(probe: LogEvent) -> str:
    return (
        f"The client's automatic {probe.command or 'probe'} on line {probe.line} drew "
        f"'{probe.code}', which is harmless because the session went on."
    )


def log_note_recovered(by: LogEvent) -> str:
    return f"The client recovered: line {by.line} shows '{by.text[:80]}'."


LOG_NOTE_UPLOAD_BROKEN = (
    "It happened during an upload: a server that aborts or resets an upload usually could not "
    "store it (a full disk or quota), so check the space before retrying."
)


def log_note_filtered_name(name: str) -> str:
    return (
        f"The file name '{name}' is of a kind servers often refuse by rule (executables, "
        "scripts, dot files): renaming it, or zipping it, usually gets it through."
    )


def log_note_consequence(failure: LogEvent) -> str:
    return f"That is why the data connection failed on line {failure.line} ('{failure.text[:80]}')."


def log_note_wrapper(wrapper: LogEvent) -> str:
    return f"curl reported it as exit code {wrapper.code} ({wrapper.title})."


def log_text(report: LogReport) -> str:
    """`ftpcode log` without --json: the diagnosis a person reads."""
    lines = [
        f"{report.file}: {report.lines} lines"
        + (f", read as {', '.join(report.formats)}" if report.formats else "")
    ]
    if report.diagnosis is None:
        lines.append("  " + LOG_NOTHING)
    sessions = report.sessions if len(report.sessions) > 1 else []
    for number, session in enumerate(sessions, 1):
        diag = session.diagnosis
        verdict = "ok" if diag and diag.ok else "failed"
        summary = f"{diag.id} {diag.title} ({VERDICT_SHORT[diag.retry]})" if diag else "nothing"
        lines.append(
            f"  session {number} (lines {session.first_line}-{session.last_line}): "
            f"{verdict}: {summary}"
        )
    if report.diagnosis is not None:
        diag = report.diagnosis
        state = "OK" if diag.ok else "FAILED"
        lines += ["", f"{state}: {diag.id}  {diag.title}", f"  {VERDICT_LABEL[diag.retry]}"]
        lines.append(_wrap(diag.explanation))
    if report.secrets:
        where = ", ".join(str(s.line) for s in report.secrets[:10])
        lines += [
            "",
            f"Warning: clear-text credentials on line(s) {where}. "
            "Rotate them; this report does not repeat them.",
        ]
    return "\n".join(lines)


# -- Slack Block Kit wording --------------------------------------------------------------
# What bot/blocks.py puts into Slack messages. The layout lives there; the words live here.

BLOCK_VERDICT: dict[Verdict, str] = {
    "yes": ":large_green_circle: Retry: yes",
    "after-fix": ":large_yellow_circle: Retry after a fix",
    "no": ":red_circle: Don't retry: server-side fix",
    "n/a": ":white_circle: Not an error",
}
BLOCK_VERDICT_DETAIL: dict[Verdict, str] = {
    "yes": "It is transient: retry unchanged.",
    "after-fix": "Change something on your side, then retry.",
    "no": "Retrying unchanged is pointless; the fix is on the server side.",
    "n/a": "A success, or an informational or intermediate reply.",
}
BLOCK_WHO_HEADING: dict[str, str] = {
    "user": ":bust_in_silhouette: *You (the user)*",
    "server-admin": ":wrench: *The server's administrator*",
    "network-team": ":globe_with_meridians: *The network or firewall team*",
}
BLOCK_HEADER = "{id}: {title}"
BLOCK_IN_GENERAL = "In general, {id} ({title}): {meaning}"
BLOCK_ALSO_MEANS = "*The same code also means:* {readings}"
BLOCK_RELATED = "*Related codes:* {ids}"
BLOCK_OTHER_READINGS = "*Other readings:* {readings}"
BLOCK_READING = "{id} {title} ({verdict})"
BLOCK_READ_FROM = "Read from: \u201c{evidence}\u201d"
BLOCK_SOURCES = "Sources: {sources}"
BLOCK_FIX_SOURCE = "_{source}_"
BLOCK_NOTHING_FOUND = (
    ":mag: No FTP, SFTP, socket, SSH, TLS or curl error recognised in \u201c{query}\u201d."
)
BLOCK_DID_YOU_MEAN = "Did you mean: {options}?"
BLOCK_TRY_AGAIN = (
    "Try a reply code, an id such as `sftp/4`, a name such as `WSAECONNRESET`, or the error text."
)
BLOCK_USAGE_HEADER = "How to ask ftpcode"
BLOCK_USAGE = (
    "*/ftpcode CODE_OR_TEXT* explains a file-transfer error: what it means, whether to retry, "
    "what to change and who changes it.\n"
    "\u2022 `/ftpcode 553`: an FTP reply code (bare numbers read as FTP, then HTTP, SFTP, "
    "Winsock)\n"
    "\u2022 `/ftpcode sftp 4`, `/ftpcode winsock/10060`: a protocol and a code\n"
    "\u2022 `/ftpcode WSAECONNRESET`, `/ftpcode ECONNREFUSED`: a symbolic name\n"
    "\u2022 `/ftpcode can't open data connection`: error text in any wording\n"
    "\u2022 `/ftpcode mute 1h`, `/ftpcode unmute`: quiet the automatic replies in this channel\n"
    "Send me a log or transcript in a direct message for a diagnosis."
)
BLOCK_USAGE_FALLBACK = "Give a code or an error text, for example: /ftpcode 553"
BLOCK_REPLY_MORE = "\u2026and {count} more: {ids}"
BLOCK_LEFT_OUT = "\u2026{count} more part(s) left out to fit in one Slack message."

BUTTON_SHARE = "Share in channel"
BUTTON_HELPFUL = "Helpful"
BUTTON_WRONG = "Wrong"
BUTTON_MUTE_THREAD = "Stop replying in this thread"

BLOCK_LOG_HEADER_FAILED = "Failed: {id} {title}"
BLOCK_LOG_HEADER_OK = "OK: {id} {title}"
BLOCK_LOG_HEADER_NOTHING = "Log diagnosis: nothing recognised"
BLOCK_LOG_VERDICT = "{verdict} \u00b7 line {line}"
BLOCK_LOG_NOTHING = ":mag: " + LOG_NOTHING
BLOCK_LOG_ABOUT = "{file}: {lines} lines{formats}"
BLOCK_LOG_FORMATS = ", read as {formats}"
BLOCK_LOG_SESSIONS = "*{total} sessions*, {failed} of them failed:"
BLOCK_LOG_SESSIONS_CAPPED = "*{total} sessions*; {failed} of the first {kept} failed:"
BLOCK_LOG_SESSION = "{mark} session {number} (lines {first}-{last}): {summary}"
BLOCK_LOG_SESSION_OK = ":white_check_mark:"
BLOCK_LOG_SESSION_FAILED = ":x:"
BLOCK_LOG_SESSION_UNKNOWN = ":white_circle:"
BLOCK_LOG_SESSION_NOTHING = "nothing recognised"
BLOCK_LOG_SESSIONS_MORE = "\u2026and {count} more sessions"
BLOCK_LOG_EVENTS = "*{total} events*, most often: {counts}"
BLOCK_LOG_EVENT_COUNT = "{id} \u00d7{count}"
BLOCK_LOG_EVENTS_FIRST = "First events:"
BLOCK_LOG_EVENT = "\u2022 line {line}: `{text}`"
BLOCK_LOG_SECRETS = (
    ":warning: *Clear-text credentials on line(s) {lines}.* Rotate these credentials: they "
    "were pasted in clear text. This reply does not repeat them."
)
BLOCK_LOG_SECRETS_MORE = "{lines} and {count} more"

# -- Slack conversations ----------------------------------------------------------------

SECRET_KIND_LABEL: dict[str, str] = {
    "password": "a password",
    "private-key": "a private key",
    "token": "an access token",
    "authorization": "an Authorization header",
}
BLOCK_SECRET_WARNING = (
    ":warning: *This message shows {kinds} in clear text.* Rotate it now: everyone who can "
    "read this conversation has seen it. None of my replies repeat it."
)
SECRET_WARNING_FALLBACK = "Warning: this message shows {kinds} in clear text. Rotate it now."


def secret_kinds_text(kinds: Sequence[str]) -> str:
    """ "a password", "a password and a private key", ... for the kinds of secret found."""
    labels = [SECRET_KIND_LABEL.get(kind, kind) for kind in dict.fromkeys(kinds)]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def duration_text(seconds: float) -> str:
    """ "30 minutes", "1 hour", "2 days": a mute's length as a person says it."""
    minutes = round(seconds / 60)
    for unit, size in (("day", 1440), ("hour", 60)):
        if minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}" + ("s" if count != 1 else "")
    return f"{minutes} minute" + ("s" if minutes != 1 else "")


BLOCK_FOLLOWUP_CONFIRMS = ":link: This confirms what the thread already found: {ids}."
BLOCK_FOLLOWUP_INSTEAD = (
    ":link: Earlier in this thread: {ids}. This log shows what actually failed: {id}."
)
BLOCK_FOLLOWUP_RECOVERED = (
    ":link: Earlier in this thread: {ids}. In this log the client recovered ({id})."
)
BLOCK_FOLLOWUP_NOTHING = (
    ":link: Earlier in this thread: {ids}. Nothing in this paste adds to that; send the lines "
    "around the failure (with the server's replies) for a closer look."
)
BLOCK_SHARED_BY = "Shared by <@{user}> with /ftpcode"
MUTED_CHANNEL = (
    ":zipper_mouth_face: No automatic replies in this channel for {duration} (until {until} "
    "UTC). `/ftpcode unmute` turns them back on; `/ftpcode CODE` and mentions still answer."
)
MUTE_BAD_DURATION = (
    "I could not read \u201c{text}\u201d as a duration. Try `/ftpcode mute 30m`, `1h` or `2d`."
)
UNMUTED_CHANNEL = ":speaking_head_in_silhouette: Automatic replies are on again in this channel."
THREAD_MUTED = (
    ":zipper_mouth_face: No more automatic replies in this thread. Mention me if you need me."
)
FEEDBACK_HELPFUL = ":thumbsup: Thanks: noted that the answer about {id} helped."
FEEDBACK_WRONG = (
    ":memo: Thanks: noted that the answer about {id} was wrong. It is listed on my App Home "
    "tab for the maintainers of the knowledge base."
)
FILE_NOT_TEXT = (
    "I read text logs and transcripts (.log, .txt, .gz and the like); \u201c{name}\u201d is "
    "{kind}, so I left it alone."
)
FILE_TOO_BIG = (
    "\u201c{name}\u201d is {size} MB; I read files up to {limit} MB. Send the part around "
    "the failure, or a gzip of it."
)
FILE_UNREADABLE = "I could not read \u201c{name}\u201d: {reason}."
FILE_NO_ADDRESS = "it has no download address"
FILE_REFUSED = "the download was refused (HTTP {status})"
FILE_FAILED = "the download failed ({reason})"
FILE_SIGN_IN = "Slack sent a sign-in page instead (is the files:read scope granted?)"
ANSWER_FAILED = (
    "Sorry, I could not answer that: something failed on my side. Your message is still "
    "here; try again in a moment."
)
DM_NOTHING = (
    ":mag: I found no FTP, SFTP, socket, SSH, TLS or curl error in that. Send a reply code "
    "(`553`), an error text, or paste a log or transcript."
)

HOME_HEADER = "ftpcode: file-transfer errors explained"
HOME_USAGE = (
    "*How to use me*\n"
    "\u2022 `/ftpcode 553`, `/ftpcode sftp 4`, `/ftpcode can't open data connection`: an "
    "answer only you see, with a button to share it.\n"
    "\u2022 In channels I was invited to, I answer error codes and error texts in the "
    "message's thread, once per code per thread.\n"
    "\u2022 Send me a log, a transcript or a .log/.txt file in a direct message, or in a "
    "thread where I answered, for a diagnosis line by line.\n"
    "\u2022 `/ftpcode mute 1h` and `/ftpcode unmute` quiet me in a channel; the button "
    "under a reply stops me in its thread.\n"
    "Passwords pasted by mistake are flagged, never repeated, and never stored."
)
HOME_TOP = "*Codes that come up most*"
HOME_TOP_LINE = "\u2022 {id}: {title} \u00d7{count}"
HOME_WRONG = "*Answers marked wrong*"
HOME_WRONG_LINE = "\u2022 {id}: {title}: {wrong} wrong, {helpful} helpful"
HOME_NONE_YET = "_Nothing yet._"
HOME_FALLBACK = "ftpcode: how to use me, and what comes up most"
