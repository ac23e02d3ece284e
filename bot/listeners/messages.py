"""Messages: auto-replies in channels, answers in DMs and to mentions, logs in bot threads.

Slack may deliver one message several times (retries, and a mention arrives both as
`message` and as `app_mention`): every path claims the event id and the (channel, ts) in
the store first, so one reply is posted whichever replica gets which copy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import answers, blocks, files, render
from bot.blocks import Block
from bot.dispatch import Dispatcher, Job
from bot.knowledge import load
from bot.listeners import Deps, bolt_context, handles, job_context, log, post
from bot.logs.model import LogReport
from bot.models import Match
from bot.text import prepare

# Message subtypes that carry something a person wrote; edits, deletions, joins and the
# like are ignored.
_READ_SUBTYPES = frozenset((None, "file_share", "thread_broadcast", "me_message", "bot_message"))
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
# A question typed to the bot, rather than a paste, is short.
QUESTION_CHARS = 300
# The context key of a DM's top level: the whole conversation is one thread.
DM_CONVERSATION = "dm"

Payload = tuple[list[Block], str]


@dataclass(frozen=True, slots=True)
class Incoming:
    """The parts of a message event the bot uses."""

    event_id: str
    channel: str
    channel_type: str
    user: str
    ts: str
    thread_ts: str | None
    text: str
    files: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def read(cls, body: dict[str, Any], event: dict[str, Any]) -> Incoming:
        thread_ts = event.get("thread_ts")
        return cls(
            event_id=str(body.get("event_id") or ""),
            channel=str(event.get("channel") or ""),
            channel_type=str(event.get("channel_type") or ""),
            user=str(event.get("user") or event.get("bot_id") or ""),
            ts=str(event.get("ts") or ""),
            thread_ts=thread_ts if isinstance(thread_ts, str) and thread_ts else None,
            text=str(event.get("text") or ""),
            files=[f for f in event.get("files") or [] if isinstance(f, dict)],
        )

    @property
    def is_direct(self) -> bool:
        return self.channel_type == "im" or self.channel.startswith("D")

    @property
    def root(self) -> str:
        """The thread the bot answers in: the message's own thread, or the message itself."""
        return self.thread_ts or self.ts


def _from_allowed_bot(event: dict[str, Any], deps: Deps) -> bool:
    allowed = deps.settings.allowed_bots
    profile = event.get("bot_profile") or {}
    names = {event.get("bot_id"), event.get("user"), event.get("username"), profile.get("name")}
    return bool(allowed & {str(name) for name in names if name})


def should_read(event: dict[str, Any], context: BoltContext, deps: Deps) -> bool:
    """Whether a message event is one the bot reads: a person's (or an allowed bot's)
    new message, not its own, not an edit, a deletion or a join."""
    if event.get("subtype") not in _READ_SUBTYPES or event.get("hidden"):
        return False
    if not (event.get("text") or event.get("files")) or not event.get("ts"):
        return False
    if context.bot_user_id and event.get("user") == context.bot_user_id:
        return False
    if context.bot_id and event.get("bot_id") == context.bot_id:
        return False
    if event.get("bot_id") or event.get("subtype") == "bot_message":
        return _from_allowed_bot(event, deps)
    return True


def mentions(text: str, user_id: str | None) -> bool:
    """Whether `text` @mentions `user_id`."""
    return bool(user_id) and any(m.group(1) == user_id for m in _MENTION.finditer(text))


def without_mentions(text: str) -> str:
    """The text with every @mention removed (what was asked of the bot)."""
    return _MENTION.sub(" ", text).strip()


def _claim(deps: Deps, incoming: Incoming) -> bool:
    """True once per message: the event id and the (channel, ts) are both ours."""
    return deps.store.claim(incoming.event_id, incoming.channel, incoming.ts)


# -- listeners --------------------------------------------------------------------------


def on_message(
    body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient, deps: Deps
) -> None:
    """A message in a channel the bot is in, or in its DM."""
    if not should_read(event, context, deps):
        return
    incoming = Incoming.read(body, event)
    # A mention in a channel also arrives as app_mention; that listener answers it.
    if not incoming.is_direct and mentions(incoming.text, context.bot_user_id):
        return
    try:
        if incoming.is_direct:
            if _claim(deps, incoming):
                answer_direct(deps, client, incoming)
        else:
            answer_channel(deps, client, incoming)
    except Exception as exc:  # never lose the listener; tell a person who asked
        log.error(
            "message %s in %s failed: %s: %s",
            incoming.ts,
            incoming.channel,
            type(exc).__name__,
            exc,
        )
        if incoming.is_direct:
            post(
                client,
                incoming.channel,
                blocks.notice_blocks(render.ANSWER_FAILED),
                incoming.thread_ts,
            )


def on_mention(
    body: dict[str, Any], event: dict[str, Any], context: BoltContext, client: WebClient, deps: Deps
) -> None:
    """Someone @mentioned the bot in a channel: that is a question, answered in the thread."""
    if context.bot_user_id and event.get("user") == context.bot_user_id:
        return
    incoming = Incoming.read(body, event)
    if not incoming.ts or not _claim(deps, incoming):
        return
    try:
        answer_mention(deps, client, incoming)
    except Exception as exc:
        log.error(
            "mention %s in %s failed: %s: %s",
            incoming.ts,
            incoming.channel,
            type(exc).__name__,
            exc,
        )
        post(client, incoming.channel, blocks.notice_blocks(render.ANSWER_FAILED), incoming.root)


# -- what to answer ---------------------------------------------------------------------


def answer_channel(deps: Deps, client: WebClient, incoming: Incoming) -> None:
    """Auto-reply: the codes in a channel message, within the channel's limits."""
    settings, store = deps.settings, deps.store
    if settings.channels and incoming.channel not in settings.channels:
        return
    # Decide whether there could be anything to say before touching the database: most
    # channel messages are chat, and chat costs no state.
    found = [] if settings.mention_only else answers.scan(incoming.text)
    kinds = answers.secret_kinds(incoming.text)
    follow_up = bool(incoming.thread_ts and (incoming.files or answers.could_be_log(incoming.text)))
    if not (found or kinds or follow_up) or not _claim(deps, incoming):
        return
    thread = store.thread_state(incoming.channel, incoming.root)
    if thread.channel_muted or thread.thread_muted:
        return
    if follow_up and thread.context is not None:
        # A file or a log in a thread the bot answered: the deeper look it was posted for.
        earlier = list(thread.context.codes)
        if incoming.files:
            _answer_files(deps, client, incoming, earlier)
            return
        report = answers.read_log(incoming.text)
        if report is not None:
            _post_report(deps, client, incoming, report, earlier, kinds)
            return
    candidates = answers.new_codes(found, set(thread.answered))
    reserved = set(
        store.reserve_cooldowns(
            incoming.channel, [m.id for m in candidates], settings.cooldown_seconds
        )
    )
    fresh = [match for match in candidates if match.id in reserved]
    if not fresh and not kinds:
        return
    payload = blocks.with_secret_warning(blocks.reply_blocks(load(), fresh), kinds)
    _send(deps, client, incoming, payload, fresh)


def answer_direct(deps: Deps, client: WebClient, incoming: Incoming) -> None:
    """A DM: every message is answered, in the light of what the conversation found."""
    _answer_asked(deps, client, incoming, incoming.text)


def answer_mention(deps: Deps, client: WebClient, incoming: Incoming) -> None:
    """A mention: a question, whatever the channel's auto-reply limits."""
    _answer_asked(deps, client, incoming, without_mentions(incoming.text))


def _answer_asked(deps: Deps, client: WebClient, incoming: Incoming, text: str) -> None:
    """Something asked of the bot: files and logs get the diagnosis, codes their replies,
    anything else is looked up like /ftpcode; nothing at all gets usage."""
    earlier = _earlier_codes(deps, incoming)
    if incoming.files:
        _answer_files(deps, client, incoming, earlier)
        return
    kinds = answers.secret_kinds(text)
    report = answers.read_log(text)
    if report is not None:
        _post_report(deps, client, incoming, report, earlier, kinds)
        return
    found = answers.scan(text)
    if found:
        payload = blocks.reply_blocks(load(), found)
    elif text.strip():
        payload, found = _question(text)
    else:
        payload = blocks.usage_blocks()
    _send(deps, client, incoming, blocks.with_secret_warning(payload, kinds), found)


def _question(text: str) -> tuple[Payload, list[Match]]:
    """The lookup answer to a short question, or a pointer to what the bot can read."""
    query = prepare(text).strip()
    if len(query) > QUESTION_CHARS:
        return blocks.notice_blocks(render.DM_NOTHING), []
    asked = answers.ask(query)
    if not asked.matches and not asked.hints:
        return blocks.notice_blocks(render.DM_NOTHING), []
    payload = blocks.lookup_blocks(load(), query, asked.matches, asked.hints, share=False)
    return payload, asked.matches[:1]


def _context_key(incoming: Incoming) -> str:
    """Where a conversation's context is kept: the thread, or a DM as a whole."""
    if incoming.is_direct:
        return incoming.thread_ts or DM_CONVERSATION
    return incoming.root


def _earlier_codes(deps: Deps, incoming: Incoming) -> list[str]:
    thread = deps.store.context(incoming.channel, _context_key(incoming))
    return list(thread.codes) if thread is not None else []


# -- logs and files ---------------------------------------------------------------------


def _answer_files(deps: Deps, client: WebClient, incoming: Incoming, earlier: list[str]) -> None:
    """The diagnosis of each file shared with a message, or why there is none."""
    thread = incoming.thread_ts if incoming.is_direct else incoming.root
    for info in incoming.files:
        report_or_notice = _read_file(deps, client, info)
        if isinstance(report_or_notice, str):
            post(client, incoming.channel, blocks.notice_blocks(report_or_notice), thread)
        else:
            _post_report(deps, client, incoming, report_or_notice, earlier, [])


def _read_file(deps: Deps, client: WebClient, shared: dict[str, Any]) -> LogReport | str:
    """The report for one shared file, or a one-line notice saying why there is none."""
    file_id = str(shared.get("id") or "")
    info: dict[str, Any] = dict(shared)
    if file_id:
        try:
            response = client.files_info(file=file_id)
            info = dict(response.get("file") or shared)
        except SlackApiError as exc:
            log.warning("files.info %s failed: %s", file_id, exc.response.get("error"))
    name = blocks.escape_mrkdwn(str(info.get("name") or info.get("title") or "file"))
    if not files.is_text_file(info):
        kind = blocks.escape_mrkdwn(str(info.get("pretty_type") or info.get("mimetype") or "?"))
        return render.FILE_NOT_TEXT.format(name=name, kind=kind)
    limit = deps.settings.max_file_bytes
    size = info.get("size")
    if isinstance(size, int) and size > limit:
        return _too_big(name, size, limit)
    url = str(info.get("url_private_download") or info.get("url_private") or "")
    try:
        data = files.download(url, deps.settings.bot_token, limit)
    except files.FileTooLargeError:
        return _too_big(name, limit + 1, limit)
    except files.FileUnreadableError as exc:
        return render.FILE_UNREADABLE.format(name=name, reason=blocks.escape_mrkdwn(str(exc)))
    try:
        return answers.read_log_bytes(data, str(info.get("name") or "file"))
    except (OSError, EOFError, ValueError) as exc:  # a corrupt gzip, an undecodable file
        reason = blocks.escape_mrkdwn(str(exc) or type(exc).__name__)
        return render.FILE_UNREADABLE.format(name=name, reason=reason)


def _too_big(name: str, size: int, limit: int) -> str:
    return render.FILE_TOO_BIG.format(
        name=name, size=f"{size / 2**20:,.1f}", limit=f"{limit / 2**20:,.0f}"
    )


def _post_report(
    deps: Deps,
    client: WebClient,
    incoming: Incoming,
    report: LogReport,
    earlier: list[str],
    kinds: list[str],
) -> None:
    # log_blocks lists the lines that hold credentials; the warning on top says what to do.
    kinds = [*kinds, *(s.kind for s in report.secrets if s.kind not in kinds)]
    payload = blocks.with_secret_warning(
        blocks.with_block_on_top(blocks.log_blocks(report), blocks.followup_block(earlier, report)),
        kinds,
    )
    diag = report.diagnosis
    answered = [(diag.id, f"{diag.title} (line {diag.line})")] if diag is not None else []
    _send(deps, client, incoming, payload, answered)


def _send(
    deps: Deps,
    client: WebClient,
    incoming: Incoming,
    payload: Payload,
    answered: Sequence[Match] | Sequence[tuple[str, str]],
) -> None:
    """Post a reply where the message was (its thread in a channel), recording the codes it
    answers first, so that a follow-up racing the reply already finds the bot's thread."""
    codes = [(a.id, a.title) if isinstance(a, Match) else a for a in answered]
    if codes:
        summary = "; ".join(f"{entry_id} {title}" for entry_id, title in codes)
        deps.store.record_answer(
            incoming.channel, _context_key(incoming), summary, [entry_id for entry_id, _ in codes]
        )
    thread = incoming.thread_ts if incoming.is_direct else incoming.root
    post(client, incoming.channel, payload, thread)


@handles("message")
def handle_message(job: Job, deps: Deps, client: WebClient) -> None:
    on_message(job.body, job.body.get("event") or {}, bolt_context(job), client, deps)


@handles("mention")
def handle_mention(job: Job, deps: Deps, client: WebClient) -> None:
    on_mention(job.body, job.body.get("event") or {}, bolt_context(job), client, deps)


def register(app: App, dispatcher: Dispatcher) -> None:
    @app.event("message")
    def message(body: dict[str, Any], context: BoltContext) -> None:
        dispatcher.submit(Job("message", body, job_context(context)))

    @app.event("app_mention")
    def mention(body: dict[str, Any], context: BoltContext) -> None:
        dispatcher.submit(Job("mention", body, job_context(context)))
