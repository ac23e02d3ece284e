"""Buttons: share an answer in the channel, rate an answer, stop replying in a thread."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import answers, blocks, render
from bot.dispatch import Dispatcher, Job
from bot.knowledge import load
from bot.listeners import Deps, Respond, handles, responder

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


def _respond(job: Job) -> Respond:
    return responder(str(job.body.get("response_url") or ""))


@handles("share")
def handle_share(job: Job, deps: Deps, client: WebClient) -> None:
    on_share(job.body, _respond(job), deps)


@handles("helpful")
def handle_helpful(job: Job, deps: Deps, client: WebClient) -> None:
    on_feedback(job.body, _respond(job), deps, helpful=True)


@handles("wrong")
def handle_wrong(job: Job, deps: Deps, client: WebClient) -> None:
    on_feedback(job.body, _respond(job), deps, helpful=False)


@handles("mute_thread")
def handle_mute_thread(job: Job, deps: Deps, client: WebClient) -> None:
    on_mute_thread(job.body, _respond(job), deps)


ACTION_JOBS = {
    blocks.ACTION_SHARE: "share",
    blocks.ACTION_HELPFUL: "helpful",
    blocks.ACTION_WRONG: "wrong",
    blocks.ACTION_MUTE_THREAD: "mute_thread",
}


def _enqueuer(dispatcher: Dispatcher, kind: str) -> Callable[[Ack, dict[str, Any]], None]:
    def enqueue(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        dispatcher.submit(Job(kind, body))

    return enqueue


def register(app: App, dispatcher: Dispatcher) -> None:
    for action_id, kind in ACTION_JOBS.items():
        app.action(action_id)(_enqueuer(dispatcher, kind))
