"""The App Home tab: how to use the bot, which codes come up most, which answers were wrong."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from bot.dispatch import Dispatcher, Job
from bot.knowledge import load
from bot.listeners import Deps, handles, log

HOME_ROWS = 10


def on_home_opened(event: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """Publish the Home tab for the user who opened it."""
    if event.get("tab", "home") != "home":
        return
    user = str(event.get("user") or "")
    if not user:
        return
    top = [(row.entry_id, row.answers) for row in deps.store.top_codes(HOME_ROWS)]
    wrong = [(row.entry_id, row.helpful, row.wrong) for row in deps.store.marked_wrong(HOME_ROWS)]
    try:
        client.views_publish(user_id=user, view=blocks.home_view(load(), top, wrong))
    except SlackApiError as exc:
        log.warning("views.publish for %s failed: %s", user, exc.response.get("error"))


@handles("home")
def handle_home(job: Job, deps: Deps, client: WebClient) -> None:
    on_home_opened(job.body.get("event") or {}, client, deps)


def register(app: App, dispatcher: Dispatcher) -> None:
    @app.event("app_home_opened")
    def home_opened(body: dict[str, Any]) -> None:
        dispatcher.submit(Job("home", body))
