"""Buttons: share an answer in the channel, rate an answer, stop replying in a thread."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, Respond

from bot import answers, blocks, render
from bot.knowledge import load
from bot.listeners import Deps, log

_ENTRY_ID = re.compile(r"^[a-z]+/[A-Za-z0-9_.-]{1,40}$")


def _action(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions") or [{}]
    first = actions[0]
    return first if isinstance(first, dict) else {}


def _where(body: dict[str, Any]) -> tuple[str, str]:
    """The channel and the thread of the message that holds the button."""
    channel = str((body.get("channel") or {}).get("id") or "")
    container = body.get("container") or {}
    message = body.get("message") or {}
    thread = message.get("thread_ts") or container.get("thread_ts") or message.get("ts") or ""
    return channel or str(container.get("channel_id") or ""), str(thread)


def on_share(body: dict[str, Any], respond: Respond, deps: Deps) -> None:
    """Post the answer from an ephemeral `/ftpcode` reply in the channel, for everyone."""
    query = str(_action(body).get("value") or "")
    user = str((body.get("user") or {}).get("id") or "")
    asked = answers.ask(query)
    shared_blocks, fallback = blocks.shared_lookup_blocks(
        load(), query, asked.matches, asked.hints, user
    )
    respond(blocks=shared_blocks, text=fallback, response_type="in_channel", replace_original=False)
    respond(delete_original=True)
    channel, _ = _where(body)
    if asked.matches and channel:
        deps.store.note_answer(asked.matches[0].id, channel)


def on_feedback(body: dict[str, Any], respond: Respond, deps: Deps, *, helpful: bool) -> None:
    """Store a helpful/wrong vote on an answer and thank the voter privately."""
    entry_id = str(_action(body).get("value") or "")
    user = str((body.get("user") or {}).get("id") or "")
    if not _ENTRY_ID.match(entry_id) or not user:
        return
    channel, _ = _where(body)
    deps.store.record_feedback(user, entry_id, helpful, channel or "-")
    template = render.FEEDBACK_HELPFUL if helpful else render.FEEDBACK_WRONG
    thanks, fallback = blocks.notice_blocks(template.format(id=blocks.escape_mrkdwn(entry_id)))
    respond(blocks=thanks, text=fallback, response_type="ephemeral", replace_original=False)


def on_mute_thread(body: dict[str, Any], respond: Respond, deps: Deps) -> None:
    """No more automatic replies in the thread that holds the button."""
    channel, thread = _where(body)
    if not channel or not thread:
        return
    deps.store.mute_thread(channel, thread)
    notice, fallback = blocks.notice_blocks(render.THREAD_MUTED)
    respond(blocks=notice, text=fallback, response_type="ephemeral", replace_original=False)


def _guarded(name: str, run: Any, body: dict[str, Any]) -> None:
    try:
        run()
    except Exception as exc:  # a button must never take a listener down
        log.error("%s failed: %s: %s", name, type(exc).__name__, exc)


def register(app: App, deps: Deps) -> None:
    @app.action(blocks.ACTION_SHARE)
    def share(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        _guarded("share", lambda: on_share(body, respond, deps), body)

    @app.action(blocks.ACTION_HELPFUL)
    def helpful(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        _guarded("feedback", lambda: on_feedback(body, respond, deps, helpful=True), body)

    @app.action(blocks.ACTION_WRONG)
    def wrong(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        _guarded("feedback", lambda: on_feedback(body, respond, deps, helpful=False), body)

    @app.action(blocks.ACTION_MUTE_THREAD)
    def mute_thread(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        _guarded("mute", lambda: on_mute_thread(body, respond, deps), body)
