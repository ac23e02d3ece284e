"""Builds the Bolt app: the Web API client, the listeners, the error handler. No logic here."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.dispatch import Dispatcher
from bot.listeners import register_all
from bot.settings import Settings

API_TIMEOUT_SECONDS = 10
log = logging.getLogger("ftpcode")


def retry_handlers() -> list[RetryHandler]:
    """Retries on connection errors, on 429 (after Retry-After) and on 5xx.

    slack-sdk's default client retries only connection errors; a rate limit or a Slack
    outage would otherwise lose the reply.
    """
    return [
        ConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=3),
    ]


def web_client(settings: Settings) -> WebClient:
    """The Web API client on `SLACK_API_URL`; the proxy comes from HTTPS_PROXY by itself."""
    return WebClient(
        token=settings.bot_token or None,
        base_url=settings.api_url,
        timeout=API_TIMEOUT_SECONDS,
        retry_handlers=retry_handlers(),
    )


def build_app(settings: Settings, dispatcher: Dispatcher, client: WebClient | None = None) -> App:
    """The Bolt app with every listener registered; Slack requests run through it.

    The listeners only ack and enqueue (microseconds), so they run before the response
    goes back; the work runs in `dispatcher`'s workers.
    """
    app = App(
        signing_secret=settings.signing_secret or None,
        client=client or web_client(settings),
        process_before_response=True,
        logger=log,
    )
    register_all(app, dispatcher)
    return app
