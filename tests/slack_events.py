"""Message events as Slack sends them, with fresh channel ids and timestamps, for the
end-to-end tests; and how to read what the bot posted."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from tests.fake_slack import BOT_USER_ID, TEAM_ID, Call, FakeSlack

APP_ID = "AFAKE0001"
VERIFICATION_TOKEN = "fake-verification-token"

ANSWER_TIMEOUT_SECONDS = 30.0
ID_LENGTH = 9


class Events:
    """Channel ids that start with `prefix` and timestamps from `first_ts` on, so that the
    cooldowns and threads of one test never reach another."""

    def __init__(self, prefix: str, first_ts: int) -> None:
        self._prefix = prefix
        self._first_ts = first_ts
        self._channels = itertools.count(1)
        self._stamps = itertools.count(1)

    def channel(self) -> str:
        """A fresh channel id."""
        return f"{self._prefix}{next(self._channels):0{ID_LENGTH - len(self._prefix)}d}"

    def direct(self) -> str:
        """A fresh DM conversation id."""
        return "D" + self.channel()[1:]

    def ts(self) -> str:
        """A fresh message timestamp."""
        return f"{self._first_ts + next(self._stamps)}.000200"

    def message(self, channel_id: str, text: str, **extra: Any) -> dict[str, Any]:
        """A person's message event in `channel_id` (a DM when the id starts with D)."""
        event = {
            "type": "message",
            "channel": channel_id,
            "channel_type": "im" if channel_id.startswith("D") else "channel",
            "user": "UPERSON01",
            "text": text,
            "ts": self.ts(),
        }
        event.update(extra)
        return event


# -- what Slack sends, in either transport (HTTP requests or Socket Mode envelopes) --------


def event_callback(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    """The Events API body that carries `event`."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        "is_ext_shared_channel": False,
    }


def slash_command(text: str, channel: str, response_url: str, user: str) -> dict[str, str]:
    """The payload of `/ftpcode TEXT`."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": "fake",
        "channel_id": channel,
        "channel_name": "support",
        "user_id": user,
        "user_name": "asker",
        "command": "/ftpcode",
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": "1.2.fake",
    }


def block_actions(
    action_id: str,
    value: str,
    channel: str,
    response_url: str,
    user: str,
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The payload of a click on one of the bot's buttons."""
    return {
        "type": "block_actions",
        "team": {"id": TEAM_ID},
        "user": {"id": user},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": "1.2.fake",
        "channel": {"id": channel},
        "container": {"type": "message", "channel_id": channel, **(message or {})},
        "message": message or {},
        "response_url": response_url,
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value}],
    }


# -- what the bot posted ----------------------------------------------------------------


def answered(slack: FakeSlack, channel_id: str, count: int = 1) -> list[Call]:
    """The bot's posts to `channel_id`, once there are `count` of them (or the timeout)."""
    return slack.wait_for(
        lambda c: c.method == "chat.postMessage" and c.args.get("channel") == channel_id,
        count,
        timeout=ANSWER_TIMEOUT_SECONDS,
    )


def posted_text(call: Call) -> str:
    """Everything a post shows: its fallback text and its blocks."""
    return str(call.args.get("text", "")) + json.dumps(call.args.get("blocks", []))
