"""Builds the Bolt app: the Web API client, the listeners, the error handler. No logic here."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.listeners import Deps, register_all
from bot.settings import Settings
from bot.state import Store

LISTENER_THREADS = 16
API_TIMEOUT_SECONDS = 10
log = logging.getLogger("ftpcode")


def web_client(settings: Settings) -> WebClient:
    """The Web API client: `SLACK_API_URL`, and retries on connection errors, 429 and 5xx.

    slack-sdk's default client retries only connection errors; a rate limit or a Slack
    outage would otherwise lose the reply. The proxy comes from HTTPS_PROXY by itself.
    """
    return WebClient(
        token=settings.bot_token or None,
        base_url=settings.api_url,
        timeout=API_TIMEOUT_SECONDS,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=3),
        ],
    )


def build_app(settings: Settings, store: Store, client: WebClient | None = None) -> App:
    """The Bolt app with every listener registered; Slack requests run through it."""
    app = App(
        token=settings.bot_token,
        signing_secret=settings.signing_secret or None,
        client=client or web_client(settings),
        # Ack first, work after: every listener runs in the executor once Slack has its 200.
        process_before_response=False,
        listener_executor=ThreadPoolExecutor(
            max_workers=LISTENER_THREADS, thread_name_prefix="ftpcode-listener"
        ),
        logger=log,
    )
    register_all(app, Deps(settings=settings, store=store))
    return app
