"""`/ftpcode`: a lookup answered privately (ephemeral), help, and mute/unmute for a channel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import answers, blocks, render
from bot.dispatch import Dispatcher, Job
from bot.knowledge import load
from bot.listeners import Deps, Respond, handles, log, responder

COMMAND = "/ftpcode"


def on_command(command: dict[str, Any], respond: Respond, deps: Deps) -> None:
    """Answer `/ftpcode TEXT` after the ack; the answer is ephemeral unless shared."""
    channel = str(command.get("channel_id") or "")
    text = str(command.get("text") or "")
    try:
        payload = answer_command(deps, channel, text)
    except Exception as exc:  # never a traceback to the person who asked
        log.error("/ftpcode in %s failed: %s: %s", channel, type(exc).__name__, exc)
        payload = blocks.notice_blocks(render.ANSWER_FAILED)
    blocks_, fallback = payload
    respond(blocks=blocks_, text=fallback, response_type="ephemeral", replace_original=False)


def answer_command(deps: Deps, channel: str, text: str) -> tuple[list[blocks.Block], str]:
    """What `/ftpcode TEXT` answers in `channel` (mute and unmute act on the store)."""
    command = answers.parse_command(text)
    if command.kind == "usage":
        return blocks.usage_blocks()
    if command.kind == "mute":
        if command.error:
            quoted = blocks.escape_mrkdwn(command.error[:40])
            return blocks.notice_blocks(render.MUTE_BAD_DURATION.format(text=quoted))
        until = datetime.now(UTC) + command.mute_for
        deps.store.mute_channel(channel, until)
        return blocks.notice_blocks(
            render.MUTED_CHANNEL.format(
                duration=render.duration_text(command.mute_for.total_seconds()),
                until=until.strftime("%Y-%m-%d %H:%M"),
            )
        )
    if command.kind == "unmute":
        deps.store.unmute_channel(channel)
        return blocks.notice_blocks(render.UNMUTED_CHANNEL)
    report = answers.read_log(command.query)
    if report is not None:
        kinds = [secret.kind for secret in report.secrets]
        return blocks.with_secret_warning(blocks.log_blocks(report), kinds)
    asked = answers.ask(command.query)
    if asked.matches:
        deps.store.note_answer(asked.matches[0].id, channel)
    payload = blocks.lookup_blocks(load(), command.query, asked.matches, asked.hints)
    return blocks.with_secret_warning(payload, answers.secret_kinds(command.query))


@handles("command")
def handle_command(job: Job, deps: Deps, client: WebClient) -> None:
    on_command(job.body, responder(str(job.body.get("response_url") or "")), deps)


def register(app: App, dispatcher: Dispatcher) -> None:
    @app.command(COMMAND)
    def ftpcode(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        dispatcher.submit(Job("command", body))
