"""The bot's configuration, read once from the environment (no Slack imports).

Every knob an admin can turn is here, with its default, so `.env.example` and the README
can be checked against one list.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_COOLDOWN_SECONDS = 600.0
DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024
DEFAULT_WORKERS = 2
DEFAULT_WORKER_PRIORITY = "idle"
WORKER_PRIORITIES = ("idle", "low", "normal")


class SettingsError(ValueError):
    """A setting has a value the bot cannot use; the message names it."""


def _names(raw: str) -> frozenset[str]:
    return frozenset(part.strip() for part in raw.replace(";", ",").split(",") if part.strip())


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum:g}, not {raw!r}")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    bot_token: str = ""
    app_token: str = ""
    signing_secret: str = ""
    api_url: str = DEFAULT_API_URL
    # Channels (ids) the bot may auto-reply in; empty means every channel it was invited to.
    channels: frozenset[str] = field(default_factory=frozenset)
    # Auto-reply only when mentioned; asked-for answers are unaffected.
    mention_only: bool = False
    # Bots (bot ids, user ids or usernames) whose messages are read like a person's.
    allowed_bots: frozenset[str] = field(default_factory=frozenset)
    cooldown_seconds: float = DEFAULT_COOLDOWN_SECONDS
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    # Worker processes that do the answering (the serving process only acks and enqueues).
    workers: int = DEFAULT_WORKERS
    # How workers share the CPU with the acks: "idle", "low" or "normal" (bot.dispatch).
    worker_priority: str = DEFAULT_WORKER_PRIORITY

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """The settings the environment gives; SettingsError names a bad value."""
        return cls(
            bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
            app_token=env.get("SLACK_APP_TOKEN", "").strip(),
            signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
            api_url=env.get("SLACK_API_URL", "").strip() or DEFAULT_API_URL,
            channels=_names(env.get("FTPCODE_CHANNELS", "")),
            mention_only=_flag(env, "FTPCODE_MENTION_ONLY"),
            allowed_bots=_names(env.get("FTPCODE_ALLOWED_BOTS", "")),
            cooldown_seconds=_number(env, "FTPCODE_COOLDOWN_SECONDS", DEFAULT_COOLDOWN_SECONDS, 0),
            max_file_bytes=int(
                _number(env, "FTPCODE_MAX_FILE_MB", DEFAULT_MAX_FILE_BYTES / 2**20, 0.001) * 2**20
            ),
            workers=int(_number(env, "FTPCODE_WORKERS", DEFAULT_WORKERS, 1)),
            worker_priority=_choice(
                env, "FTPCODE_WORKER_PRIORITY", WORKER_PRIORITIES, DEFAULT_WORKER_PRIORITY
            ),
        )

    @property
    def socket_mode(self) -> bool:
        """Socket Mode needs the bot token and an app-level token."""
        return bool(self.bot_token and self.app_token)

    @property
    def http_mode(self) -> bool:
        """HTTP mode needs the bot token and the signing secret."""
        return bool(self.bot_token and self.signing_secret)
