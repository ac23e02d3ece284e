"""Slack listeners: thin adapters from Slack payloads to bot.answers, bot.blocks and the store.

Each module has `register(app, deps)`; the callbacks are plain functions taking the Bolt
arguments they use, so a test can call them with fakes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import Block
from bot.settings import Settings
from bot.state import Store

log = logging.getLogger("ftpcode")


@dataclass(frozen=True, slots=True)
class Deps:
    """What every listener needs besides Slack's own arguments."""

    settings: Settings
    store: Store


def post(
    client: WebClient,
    channel: str,
    payload: tuple[list[Block], str],
    thread_ts: str | None = None,
) -> str | None:
    """Post one whole message (blocks and fallback text); its ts, or None when Slack refused.

    A reply is built completely before this call, so a failure posts nothing half-done.
    """
    blocks, text = payload
    if not blocks and not text:
        return None
    arguments: dict[str, Any] = {"channel": channel, "blocks": blocks, "text": text}
    if thread_ts:
        arguments["thread_ts"] = thread_ts
    try:
        response = client.chat_postMessage(**arguments)
    except SlackApiError as exc:
        log.warning("chat.postMessage to %s failed: %s", channel, exc.response.get("error"))
        return None
    ts = response.get("ts")
    return ts if isinstance(ts, str) else None


def register_all(app: App, deps: Deps) -> None:
    """Every listener of the bot, and an error handler that never lets one escape."""
    from bot.listeners import actions, commands, home, messages

    commands.register(app, deps)
    messages.register(app, deps)
    actions.register(app, deps)
    home.register(app, deps)

    @app.error
    def on_error(error: Exception) -> None:
        log.error("listener failed: %s: %s", type(error).__name__, error)
