"""Message events as Slack sends them, with fresh channel ids and timestamps, for the
end-to-end tests; and how to read what the bot posted."""

from __future__ import annotations

import itertools
import json
from typing import Any

from tests.fake_slack import Call, FakeSlack

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
