"""Slack listeners: thin adapters from Slack payloads to bot.answers, bot.blocks and the store.

Each module has plain handler functions, which a test can call with fakes, and
`register(app, dispatcher)`, whose Bolt listeners only ack and enqueue a Job; the handlers
run in a worker (bot.dispatch). HANDLERS maps a job's kind to its handler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.blocks import Block
from bot.dispatch import Dispatcher, Job
from bot.settings import Settings
from bot.state import Store

log = logging.getLogger("ftpcode")
RESPONSE_TIMEOUT_SECONDS = 10


@dataclass(frozen=True, slots=True)
class Deps:
    """What every handler needs besides Slack's own arguments."""

    settings: Settings
    store: Store


class Respond(Protocol):
    """Posts to a response URL (Bolt's `respond`, or `responder` below)."""

    def __call__(
        self,
        *,
        text: str = "",
        blocks: Sequence[Block] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
    ) -> Any: ...


def responder(url: str) -> Respond:
    """A `respond` for a response URL, with the same retries as the Web API client."""
    from bot.app import retry_handlers

    client = WebhookClient(url, timeout=RESPONSE_TIMEOUT_SECONDS, retry_handlers=retry_handlers())

    def respond(
        *,
        text: str = "",
        blocks: Sequence[Block] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
    ) -> Any:
        response = client.send(
            text=text or None,
            blocks=blocks,
            response_type=response_type,
            replace_original=replace_original,
            delete_original=delete_original,
        )
        if response.status_code >= 300:
            log.warning("response URL answered %s: %s", response.status_code, response.body)
        return response

    return respond


def bolt_context(job: Job) -> BoltContext:
    """The part of Bolt's context a handler reads (who the bot is)."""
    return BoltContext(dict(job.context))


def job_context(context: BoltContext) -> dict[str, Any]:
    """What a Job keeps of Bolt's context: only plain, picklable values."""
    return {"bot_user_id": context.bot_user_id, "bot_id": context.bot_id}


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


Handler = Callable[[Job, Deps, WebClient], None]
HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    """Register a handler for jobs of `kind`."""

    def add(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler

    return add


def register_all(app: App, dispatcher: Dispatcher) -> None:
    """Every listener of the bot, and an error handler that never lets one escape."""
    from bot.listeners import actions, commands, home, messages

    commands.register(app, dispatcher)
    messages.register(app, dispatcher)
    actions.register(app, dispatcher)
    home.register(app, dispatcher)

    @app.error
    def on_error(error: Exception) -> None:
        log.error("listener failed: %s: %s", type(error).__name__, error)


def load_handlers() -> None:
    """Import every listener module, so that HANDLERS is complete (in a worker)."""
    from bot.listeners import actions, commands, home, messages  # noqa: F401
