"""Slack Block Kit payloads for the bot's answers, as plain dicts (no Slack SDK needed).

The engine decides what to say and bot.render how it reads; this module only lays it out.
Two promises hold for every payload built here:
- it fits Slack's limits (blocks, section, header, button and fallback lengths), so a long
  paste is summarised rather than rejected by the Web API;
- no text taken from a user (a query, evidence, a log line, a file name) can mention or
  link: it passes through `escape_mrkdwn`, and mrkdwn objects are sent `verbatim`, so
  Slack does not turn bare names or URLs into mentions or links either.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bot import render
from bot.knowledge import KnowledgeBase
from bot.logs.model import LogReport, Session
from bot.models import Match, Verdict

Block = dict[str, Any]

SLACK_MAX_BLOCKS = 50
SLACK_MAX_SECTION_TEXT = 3000
SLACK_MAX_HEADER_TEXT = 150
SLACK_MAX_BUTTON_TEXT = 75
SLACK_MAX_ACTION_VALUE = 2000
SLACK_MAX_FALLBACK_TEXT = 40_000
SLACK_MAX_CONTEXT_ELEMENTS = 10
ELLIPSIS = "\u2026"

ACTION_SHARE = "share_answer"
ACTION_HELPFUL = "feedback_helpful"
ACTION_WRONG = "feedback_wrong"
ACTION_MUTE_THREAD = "mute_thread"
MUTE_VALUE = "thread"

QUOTE_CHARS = 200  # user text quoted back: the query, evidence, a file name
EVENT_CHARS = 120  # one log line quoted back
REPLY_MAX_CODES = 10  # an auto-reply explains this many codes and names the rest
REPLY_MAX_FIXES = 3
LOG_MAX_SESSION_LINES = 20
LOG_MAX_EVENT_COUNTS = 8
LOG_MAX_EVENT_LINES = 8
LOG_MAX_SECRET_LINES = 20

# Slack's own markup: <@U123>, <#C123|ops>, <!here>, <!subteam^S1|@team>, <https://x|label>.
_SLACK_SEQUENCE = re.compile(r"<([^<>\n]*)>")
_URL_TARGET = re.compile(r"[a-z][a-z0-9+.-]*:", re.IGNORECASE)
# A bare @channel is harmless in verbatim text, but a client posting with link_names is not.
_BROADCAST = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_WORD_JOINER = "\u2060"


# -- escaping ---------------------------------------------------------------------------


def _readable(sequence: re.Match[str]) -> str:
    """A mention or link in Slack markup as plain words: "@name", "#channel", the label."""
    target, _, label = sequence.group(1).partition("|")
    if target[:1] in ("@", "#", "!"):
        name = (label or target[1:]).split("^")[0].lstrip("@#!")
        return ("#" if target[0] == "#" else "@") + name
    if _URL_TARGET.match(target):
        return label or target
    return sequence.group(0)


def _defuse(text: str) -> str:
    """User text with Slack's escaping undone and every mention and link unwrapped."""
    if "&" in text:
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    if "<" in text:
        text = _SLACK_SEQUENCE.sub(_readable, text)
    return text


def _escape(text: str) -> str:
    """Text that Slack shows as written: & < > escaped, broadcast words broken."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@" + _WORD_JOINER + r"\1", text) if "@" in text else text


def escape_mrkdwn(text: str) -> str:
    """User-derived text made safe for Slack mrkdwn: no mention or link survives.

    Already-escaped input (`&lt;!channel&gt;`) is treated like raw input, so neither form
    comes back as a mention; links keep their label only.
    """
    return _escape(_defuse(text))


# -- lengths ----------------------------------------------------------------------------


def _shorten(text: str, limit: int) -> str:
    """Plain text cut to `limit` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def _clip(text: str, limit: int) -> str:
    """Escaped text cut to `limit` characters without splitting an entity such as &amp;."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&", max(0, len(cut) - 5))
    if amp >= 0 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS


def _quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """A user's text on one line, shortened, then escaped."""
    return escape_mrkdwn(_shorten(" ".join(_defuse(text).split()), limit))


def _first_sentence(text: str) -> str:
    cut = text.find(". ")
    return text if cut < 0 else text[: cut + 1]


# -- blocks -----------------------------------------------------------------------------


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": _clip(text, SLACK_MAX_SECTION_TEXT), "verbatim": True}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": _shorten(text, limit), "emoji": True}


def _header(text: str) -> Block:
    return {"type": "header", "text": _plain(text, SLACK_MAX_HEADER_TEXT)}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(*texts: str) -> Block:
    elements = [_mrkdwn(t) for t in texts if t][:SLACK_MAX_CONTEXT_ELEMENTS]
    return {"type": "context", "elements": elements}


def _button(text: str, action_id: str, value: str, *, primary: bool = False) -> Block:
    button: Block = {
        "type": "button",
        "text": _plain(text, SLACK_MAX_BUTTON_TEXT),
        "action_id": action_id,
        "value": _clip(value, SLACK_MAX_ACTION_VALUE),
    }
    if primary:
        button["style"] = "primary"
    return button


def _actions(block_id: str, *buttons: Block) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(buttons)}


def _feedback_buttons(entry_id: str) -> tuple[Block, Block]:
    return (
        _button(render.BUTTON_HELPFUL, ACTION_HELPFUL, entry_id),
        _button(render.BUTTON_WRONG, ACTION_WRONG, entry_id),
    )


def _finish(blocks: list[Block], fallback: str) -> tuple[list[Block], str]:
    """The payload within Slack's block count and fallback length, buttons kept last."""
    if len(blocks) > SLACK_MAX_BLOCKS:
        tail = [blocks[-1]] if blocks[-1]["type"] == "actions" else []
        room = SLACK_MAX_BLOCKS - len(tail) - 1
        left_out = len(blocks) - len(tail) - room
        blocks = [
            *blocks[:room],
            _context(render.BLOCK_LEFT_OUT.format(count=left_out)),
            *tail,
        ]
    return blocks, _clip(fallback, SLACK_MAX_FALLBACK_TEXT)


def _verdict_text(retry: Verdict) -> str:
    return f"*{render.BLOCK_VERDICT[retry]}*\n{render.BLOCK_VERDICT_DETAIL[retry]}"


def _reading(match: Match) -> str:
    return render.BLOCK_READING.format(
        id=match.id, title=match.title, verdict=render.VERDICT_SHORT[match.retry]
    )


# -- /ftpcode ---------------------------------------------------------------------------


def usage_blocks() -> tuple[list[Block], str]:
    """How to ask: the answer to an empty `/ftpcode` and to `/ftpcode help`."""
    blocks = [_header(render.BLOCK_USAGE_HEADER), _section(render.BLOCK_USAGE)]
    return _finish(blocks, _escape(render.BLOCK_USAGE_FALLBACK))


def lookup_blocks(
    kb: KnowledgeBase,
    query: str,
    matches: Sequence[Match],
    hints: Sequence[str],
    *,
    share: bool = True,
) -> tuple[list[Block], str]:
    """The `/ftpcode QUERY` answer: the best reading in full, buttons to share and to rate it.

    `share=False` leaves the share button out (the answer is already where others see it).
    """
    if not query.strip():
        return usage_blocks()
    asked = _shorten(" ".join(_defuse(query).split()), QUOTE_CHARS)
    fallback = _escape(render.lookup_text(kb, asked, matches, hints))
    if not matches:
        blocks = [_section(render.BLOCK_NOTHING_FOUND.format(query=_quote(query)))]
        if hints:
            options = ", ".join(f"`{_escape(hint)}`" for hint in hints)
            blocks.append(_section(render.BLOCK_DID_YOU_MEAN.format(options=options)))
        blocks.append(_context(render.BLOCK_TRY_AGAIN))
        return _finish(blocks, fallback)

    first = matches[0]
    entry = kb.entries[first.id]
    variant = entry.variant(first.variant)
    title = variant.title if variant else entry.title
    verdict = _verdict_text(first.retry)
    if entry.retry_note and not variant and first.retry == entry.retry:
        verdict += "\n" + _escape(entry.retry_note)
    meaning = _escape(variant.meaning if variant else entry.meaning)
    if variant:
        meaning += "\n\n" + _escape(
            render.BLOCK_IN_GENERAL.format(id=entry.id, title=entry.title, meaning=entry.meaning)
        )
    blocks = [
        _header(render.BLOCK_HEADER.format(id=entry.id, title=title)),
        _section(verdict),
        _section(meaning),
    ]
    if first.evidence and " ".join(first.evidence.split()) != " ".join(query.split()):
        blocks.append(_context(render.BLOCK_READ_FROM.format(evidence=_quote(first.evidence))))

    fixes = [*(variant.fixes if variant else ()), *entry.fixes]
    for who, group in render.fixes_by_who(fixes):
        lines = [render.BLOCK_WHO_HEADING[who]]
        for fix in group:
            source = render.BLOCK_FIX_SOURCE.format(source=_escape(_source_label(kb, fix.source)))
            lines.append(f"\u2022 {_escape(fix.text)} {source}")
        blocks.append(_section("\n".join(lines)))

    more: list[str] = []
    others = [v for v in entry.variants if v is not variant]
    if others:
        readings = "; ".join(f"{v.title} ({render.VERDICT_SHORT[v.retry]})" for v in others)
        more.append(render.BLOCK_ALSO_MEANS.format(readings=_escape(readings)))
    if entry.related:
        more.append(render.BLOCK_RELATED.format(ids=_escape(", ".join(entry.related))))
    if len(matches) > 1:
        readings = "; ".join(_reading(m) for m in matches[1:])
        more.append(render.BLOCK_OTHER_READINGS.format(readings=_escape(readings)))
    if more:
        blocks.append(_section("\n".join(more)))

    cited = list(dict.fromkeys([*entry.defined_in, *(f.source for f in fixes)]))
    sources = "; ".join(_source_label(kb, s) for s in cited)
    blocks.append(_context(_escape(render.BLOCK_SOURCES.format(sources=sources))))
    buttons = list(_feedback_buttons(entry.id))
    if share:
        buttons.insert(
            0, _button(render.BUTTON_SHARE, ACTION_SHARE, _share_value(query), primary=True)
        )
    blocks.append(_actions("answer", *buttons))
    return _finish(blocks, fallback)


def _share_value(query: str) -> str:
    """The query for the share button, escaped as Slack delivers a slash command's text."""
    return _clip(escape_mrkdwn(query.strip()), SLACK_MAX_ACTION_VALUE)


def _source_label(kb: KnowledgeBase, source_id: str) -> str:
    source = kb.sources.get(source_id)
    return source.short if source is not None else source_id


# -- auto-reply -------------------------------------------------------------------------


def reply_blocks(kb: KnowledgeBase, matches: Sequence[Match]) -> tuple[list[Block], str]:
    """The thread reply for the codes found in a message; ([], "") when there is none."""
    if not matches:
        return [], ""
    shown = list(matches[:REPLY_MAX_CODES])
    blocks: list[Block] = []
    for number, match in enumerate(shown):
        entry = kb.entries[match.id]
        variant = entry.variant(match.variant)
        title = variant.title if variant else entry.title
        meaning = variant.meaning if variant else entry.meaning
        fixes = [*(variant.fixes if variant else ()), *entry.fixes][:REPLY_MAX_FIXES]
        lines = [
            f"*{_escape(match.id)}* {_escape(title)}",
            f"*{render.BLOCK_VERDICT[match.retry]}*",
            _escape(_first_sentence(meaning)),
        ]
        for fix in fixes:
            source = render.BLOCK_FIX_SOURCE.format(source=_escape(_source_label(kb, fix.source)))
            lines.append(
                f"\u2022 *{_escape(render.WHO_LABEL[fix.who])}*: {_escape(fix.text)} {source}"
            )
        blocks.append(_section("\n".join(lines)))
        buttons = list(_feedback_buttons(match.id))
        if len(shown) == 1:
            buttons.append(_button(render.BUTTON_MUTE_THREAD, ACTION_MUTE_THREAD, MUTE_VALUE))
        blocks.append(_actions(f"feedback-{number}", *buttons))
    fallback = render.reply_text(kb, shown)
    if len(matches) > len(shown):
        rest = [m.id for m in matches[len(shown) :]]
        more = render.BLOCK_REPLY_MORE.format(count=len(rest), ids=", ".join(rest))
        blocks.append(_context(_escape(more)))
        fallback += "\n\n" + more
    if len(shown) > 1:
        blocks.append(
            _actions("mute", _button(render.BUTTON_MUTE_THREAD, ACTION_MUTE_THREAD, MUTE_VALUE))
        )
    return _finish(blocks, _escape(fallback))


# -- log diagnosis ----------------------------------------------------------------------


def log_blocks(report: LogReport) -> tuple[list[Block], str]:
    """The diagnosis of a pasted or uploaded log: verdict, why, sessions, events, secrets."""
    diag = report.diagnosis
    blocks: list[Block] = []
    if diag is None:
        blocks += [_header(render.BLOCK_LOG_HEADER_NOTHING), _section(render.BLOCK_LOG_NOTHING)]
    else:
        heading = render.BLOCK_LOG_HEADER_OK if diag.ok else render.BLOCK_LOG_HEADER_FAILED
        verdict = render.BLOCK_LOG_VERDICT.format(
            verdict=f"*{render.BLOCK_VERDICT[diag.retry]}*", line=diag.line
        )
        blocks += [
            _header(heading.format(id=diag.id, title=diag.title)),
            _section(f"{verdict}\n{render.BLOCK_VERDICT_DETAIL[diag.retry]}"),
            _section(escape_mrkdwn(diag.explanation)),
        ]
    formats = (
        render.BLOCK_LOG_FORMATS.format(formats=", ".join(report.formats)) if report.formats else ""
    )
    about = render.BLOCK_LOG_ABOUT.format(
        file=_shorten(" ".join(_defuse(report.file).split()), QUOTE_CHARS),
        lines=f"{report.lines:,}",
        formats=formats,
    )
    blocks.append(_context(_escape(about)))
    if report.secrets:
        blocks.append(_section(_secrets_text(report)))
    if len(report.sessions) > 1:
        blocks.append(_section(_sessions_text(report)))
    if report.events:
        blocks.append(_section(_events_text(report)))
    if diag is not None:
        blocks.append(_actions("feedback", *_feedback_buttons(diag.id)))
    capped = dataclasses.replace(report, sessions=report.sessions[:LOG_MAX_SESSION_LINES])
    return _finish(blocks, escape_mrkdwn(render.log_text(capped)))


def _secrets_text(report: LogReport) -> str:
    lines = sorted({secret.line for secret in report.secrets})
    where = ", ".join(str(line) for line in lines[:LOG_MAX_SECRET_LINES])
    if len(lines) > LOG_MAX_SECRET_LINES:
        where = render.BLOCK_LOG_SECRETS_MORE.format(
            lines=where, count=f"{len(lines) - LOG_MAX_SECRET_LINES:,}"
        )
    return render.BLOCK_LOG_SECRETS.format(lines=where)


def _sessions_text(report: LogReport) -> str:
    sessions = report.sessions
    total = max(report.sessions_total, len(sessions))
    failed = [s for s in sessions if s.diagnosis is not None and not s.diagnosis.ok]
    if total > len(sessions):
        head = render.BLOCK_LOG_SESSIONS_CAPPED.format(
            total=f"{total:,}", failed=f"{len(failed):,}", kept=f"{len(sessions):,}"
        )
    else:
        head = render.BLOCK_LOG_SESSIONS.format(total=f"{total:,}", failed=f"{len(failed):,}")
    # Failed sessions are what a reader is looking for: list them first, in log order.
    chosen = {id(s) for s in failed[:LOG_MAX_SESSION_LINES]}
    for session in sessions:
        if len(chosen) >= LOG_MAX_SESSION_LINES:
            break
        chosen.add(id(session))
    lines = [head]
    for number, session in enumerate(sessions, 1):
        if id(session) in chosen:
            lines.append(_session_line(number, session))
    if total > len(chosen):
        lines.append(render.BLOCK_LOG_SESSIONS_MORE.format(count=f"{total - len(chosen):,}"))
    return "\n".join(lines)


def _session_line(number: int, session: Session) -> str:
    diag = session.diagnosis
    if diag is None:
        mark, summary = render.BLOCK_LOG_SESSION_UNKNOWN, render.BLOCK_LOG_SESSION_NOTHING
    else:
        mark = render.BLOCK_LOG_SESSION_OK if diag.ok else render.BLOCK_LOG_SESSION_FAILED
        summary = _escape(
            render.BLOCK_READING.format(
                id=diag.id, title=diag.title, verdict=render.VERDICT_SHORT[diag.retry]
            )
        )
    return render.BLOCK_LOG_SESSION.format(
        mark=mark,
        number=number,
        first=session.first_line,
        last=session.last_line,
        summary=summary,
    )


def _events_text(report: LogReport) -> str:
    counts = Counter(event.id for event in report.events)
    listed = ", ".join(
        render.BLOCK_LOG_EVENT_COUNT.format(id=_escape(event_id), count=f"{count:,}")
        for event_id, count in counts.most_common(LOG_MAX_EVENT_COUNTS)
    )
    total = max(report.events_total, len(report.events))
    lines = [
        render.BLOCK_LOG_EVENTS.format(total=f"{total:,}", counts=listed),
        render.BLOCK_LOG_EVENTS_FIRST,
    ]
    for event in report.events[:LOG_MAX_EVENT_LINES]:
        # Inside inline code a backtick would end the code span early.
        text = _quote(event.text.replace("`", "'"), EVENT_CHARS)
        lines.append(render.BLOCK_LOG_EVENT.format(line=event.line, text=text))
    return "\n".join(lines)


# -- conversation pieces ----------------------------------------------------------------

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def notice_blocks(text: str) -> tuple[list[Block], str]:
    """A one-section message in the bot's own words (any user text in it already escaped)."""
    return _finish([_section(text)], text)


def secret_warning_block(kinds: Sequence[str]) -> Block:
    """The warning to rotate a credential pasted in clear text; it never shows the value."""
    return _section(render.BLOCK_SECRET_WARNING.format(kinds=render.secret_kinds_text(kinds)))


def with_secret_warning(
    payload: tuple[list[Block], str], kinds: Sequence[str]
) -> tuple[list[Block], str]:
    """`payload` with the rotate-your-credential warning on top; the warning alone if empty."""
    if not kinds:
        return payload
    blocks, text = payload
    warning = render.SECRET_WARNING_FALLBACK.format(kinds=render.secret_kinds_text(kinds))
    return _finish(
        [secret_warning_block(kinds), *blocks], warning + ("\n\n" + text if text else "")
    )


def followup_block(earlier: Sequence[str], report: LogReport | None) -> Block | None:
    """How a log posted in a bot thread relates to what the thread already established."""
    if not earlier:
        return None
    ids = _escape(", ".join(earlier))
    diag = report.diagnosis if report is not None else None
    if diag is None:
        return _context(render.BLOCK_FOLLOWUP_NOTHING.format(ids=ids))
    if diag.id in earlier:
        return _context(render.BLOCK_FOLLOWUP_CONFIRMS.format(ids=ids))
    template = render.BLOCK_FOLLOWUP_RECOVERED if diag.ok else render.BLOCK_FOLLOWUP_INSTEAD
    return _context(template.format(ids=ids, id=_escape(diag.id)))


def with_block_on_top(
    payload: tuple[list[Block], str], block: Block | None
) -> tuple[list[Block], str]:
    """`payload` with `block` inserted first (nothing changes when `block` is None)."""
    if block is None:
        return payload
    blocks, text = payload
    return _finish([block, *blocks], text)


def shared_lookup_blocks(
    kb: KnowledgeBase, query: str, matches: Sequence[Match], hints: Sequence[str], user: str
) -> tuple[list[Block], str]:
    """A `/ftpcode` answer shared in the channel: no share button, and who shared it."""
    blocks, text = lookup_blocks(kb, query, matches, hints, share=False)
    if _USER_ID.match(user):
        blocks = [*blocks[:-1], _context(render.BLOCK_SHARED_BY.format(user=user)), blocks[-1]]
    return _finish(blocks, text)


def home_view(
    kb: KnowledgeBase, top: Sequence[tuple[str, int]], wrong: Sequence[tuple[str, int, int]]
) -> dict[str, Any]:
    """The App Home tab: how to use the bot, the codes asked most, the answers marked wrong."""

    def title(entry_id: str) -> str:
        entry = kb.entries.get(entry_id)
        return _escape(entry.title) if entry is not None else ""

    top_lines = [
        render.HOME_TOP_LINE.format(id=_escape(i), title=title(i), count=f"{n:,}") for i, n in top
    ]
    wrong_lines = [
        render.HOME_WRONG_LINE.format(
            id=_escape(i), title=title(i), wrong=f"{w:,}", helpful=f"{h:,}"
        )
        for i, h, w in wrong
    ]
    blocks = [
        _header(render.HOME_HEADER),
        _section(render.HOME_USAGE),
        {"type": "divider"},
        _section("\n".join([render.HOME_TOP, *(top_lines or [render.HOME_NONE_YET])])),
        _section("\n".join([render.HOME_WRONG, *(wrong_lines or [render.HOME_NONE_YET])])),
    ]
    return {"type": "home", "blocks": blocks[:SLACK_MAX_BLOCKS]}


__all__ = [
    "ACTION_HELPFUL",
    "ACTION_MUTE_THREAD",
    "ACTION_SHARE",
    "ACTION_WRONG",
    "SLACK_MAX_ACTION_VALUE",
    "SLACK_MAX_BLOCKS",
    "SLACK_MAX_BUTTON_TEXT",
    "SLACK_MAX_FALLBACK_TEXT",
    "SLACK_MAX_HEADER_TEXT",
    "SLACK_MAX_SECTION_TEXT",
    "escape_mrkdwn",
    "followup_block",
    "home_view",
    "log_blocks",
    "lookup_blocks",
    "notice_blocks",
    "reply_blocks",
    "secret_warning_block",
    "shared_lookup_blocks",
    "usage_blocks",
    "with_block_on_top",
    "with_secret_warning",
]
