"""The listeners as plain functions, with a fake Web API client and a real SQLite store:
the channel policies (allowlist, mention-only, mutes, secrets) and the slash sub-commands."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import BoltContext

from bot import answers, files
from bot.listeners import Deps
from bot.listeners.commands import answer_command
from bot.listeners.messages import Incoming, on_mention, on_message, should_read
from bot.settings import Settings, SettingsError
from bot.state import Store
from tests.slack_events import Events

BOT_USER = "UFTPBOT01"
_ts = itertools.count(1)


class FakeClient:
    """Records what a listener posts; answers like Slack."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:  # noqa: N802 (Slack's name)
        self.posts.append(kwargs)
        return {"ok": True, "ts": f"{next(_ts)}.9"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'state.sqlite3'}") as opened:
        yield opened


def deps_with(store: Store, **settings: Any) -> Deps:
    return Deps(settings=Settings(bot_token="xoxb-fake", **settings), store=store)


def context() -> BoltContext:
    return BoltContext({"bot_user_id": BOT_USER, "bot_id": "BFTPBOT01"})


EVENTS = Events("C", 1_800_000_000)


def event(text: str, channel: str = "C0001", **extra: Any) -> dict[str, Any]:
    return EVENTS.message(channel, text, **extra)


def deliver(deps: Deps, data: dict[str, Any]) -> FakeClient:
    client = FakeClient()
    body = {"event_id": f"Ev{next(_ts)}", "event": data}
    on_message(body, data, context(), client, deps)  # type: ignore[arg-type]
    return client


def text_of(post: dict[str, Any]) -> str:
    return str(post.get("text", "")) + json.dumps(post.get("blocks", []))


def test_allowlist_keeps_the_bot_out_of_other_channels(store: Store) -> None:
    """With FTPCODE_CHANNELS set, a channel outside the list gets no auto-reply."""
    deps = deps_with(store, channels=frozenset({"CALLOWED1"}))
    assert not deliver(deps, event("553 Could not create file", "COTHER001")).posts
    assert deliver(deps, event("553 Could not create file", "CALLOWED1")).posts


def test_mention_only_mode_stays_quiet_without_a_mention(store: Store) -> None:
    """In mention-only mode a plain message with a code is not answered."""
    deps = deps_with(store, mention_only=True)
    assert not deliver(deps, event("553 Could not create file")).posts


def test_mention_is_answered_in_mention_only_mode(store: Store) -> None:
    """Mention-only mode still answers the mention itself."""
    deps = deps_with(store, mention_only=True)
    data = event(f"<@{BOT_USER}> 553", type="app_mention")
    client = FakeClient()
    on_mention({"event_id": "EvM1", "event": data}, data, context(), client, deps)  # type: ignore[arg-type]
    assert client.posts and "ftp/553" in text_of(client.posts[0])


def test_own_messages_are_never_read(store: Store) -> None:
    """The bot's own posts (by user id or bot id) are ignored."""
    deps = deps_with(store)
    assert not should_read(event("553", user=BOT_USER), context(), deps)
    assert not should_read(event("553", bot_id="BFTPBOT01"), context(), deps)


def test_channel_password_gets_a_warning_without_the_password(store: Store) -> None:
    """A channel message leaking a password is warned about; the reply never repeats it."""
    deps = deps_with(store)
    client = deliver(deps, event("can't log in: curl -u ops:Hunter2024 ftp://files.example/"))
    assert client.posts
    body = text_of(client.posts[0])
    assert "Rotate it now" in body
    assert "Hunter2024" not in body


def test_chat_about_passwords_is_not_a_leak(store: Store) -> None:
    """'the password: expired' is chat, not a credential: no warning."""
    assert answers.secret_kinds("the password: expired yesterday for bob") == []


def test_mute_command_silences_the_channel_until_unmute(store: Store) -> None:
    """After `/ftpcode mute 30m` the channel gets no auto-reply; after unmute it does."""
    deps = deps_with(store)
    answer_command(deps, "CMUTED001", "mute 30m")
    assert not deliver(deps, event("553 Could not create file", "CMUTED001")).posts
    answer_command(deps, "CMUTED001", "unmute")
    assert deliver(deps, event("553 Could not create file", "CMUTED001")).posts


def test_mute_with_an_unreadable_duration_explains_itself(store: Store) -> None:
    """`/ftpcode mute soon` says how to write a duration and mutes nothing."""
    deps = deps_with(store)
    _, text = answer_command(deps, "CMUTED002", "mute soon")
    assert "30m" in text
    assert not store.is_muted("CMUTED002")


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("1h", 3600), ("2 hours", 7200), ("1d", 86400)]
)
def test_mute_durations_are_read(text: str, seconds: int) -> None:
    """Minutes, hours and days are understood."""
    duration = answers.parse_duration(text)
    assert duration is not None and duration.total_seconds() == seconds


def test_dm_with_unrecognisable_text_says_what_it_can_read(store: Store) -> None:
    """A DM is always answered, even when nothing in it is an error."""
    deps = deps_with(store)
    client = deliver(deps, event("hello there", "D0000001"))
    assert client.posts
    assert "thread_ts" not in client.posts[0]


def test_incoming_thread_root_is_the_thread_or_the_message() -> None:
    """A top-level message is its own thread root; a reply keeps its thread."""
    top = Incoming.read({}, event("x", ts="1.1"))
    reply = Incoming.read({}, event("x", ts="1.2", thread_ts="1.1"))
    assert top.root == "1.1" and reply.root == "1.1"


@pytest.mark.parametrize(
    ("info", "readable"),
    [
        ({"name": "vsftpd.log", "mimetype": "text/plain"}, True),
        ({"name": "capture.log.gz", "mimetype": "application/gzip"}, True),
        ({"name": "session.txt", "mimetype": "application/octet-stream"}, True),
        ({"name": "screen.png", "mimetype": "image/png", "filetype": "png"}, False),
        ({"name": "report.pdf", "mimetype": "application/pdf", "filetype": "pdf"}, False),
    ],
)
def test_text_files_are_told_from_others(info: dict[str, str], readable: bool) -> None:
    """Logs, transcripts and gzip files are read; images and PDFs are not."""
    assert files.is_text_file(info) is readable


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"FTPCODE_MENTION_ONLY": "maybe"}, "FTPCODE_MENTION_ONLY"),
        ({"FTPCODE_COOLDOWN_SECONDS": "soon"}, "FTPCODE_COOLDOWN_SECONDS"),
        ({"FTPCODE_COOLDOWN_SECONDS": "-5"}, "FTPCODE_COOLDOWN_SECONDS"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], problem: str) -> None:
    """A bad setting is refused with a message naming the variable."""
    with pytest.raises(SettingsError, match=problem):
        Settings.from_env(env)


def test_settings_read_lists_and_flags() -> None:
    """Channel and bot lists split on commas; flags read true/false words."""
    settings = Settings.from_env(
        {"FTPCODE_CHANNELS": "C1, C2", "FTPCODE_MENTION_ONLY": "yes", "SLACK_BOT_TOKEN": "x"}
    )
    assert settings.channels == frozenset({"C1", "C2"})
    assert settings.mention_only
    assert not settings.http_mode


def test_worker_priority_is_one_of_three() -> None:
    """FTPCODE_WORKER_PRIORITY takes idle, low or normal; anything else is named."""
    assert Settings.from_env({}).worker_priority == "idle"
    assert Settings.from_env({"FTPCODE_WORKER_PRIORITY": "Low"}).worker_priority == "low"
    with pytest.raises(SettingsError, match="FTPCODE_WORKER_PRIORITY"):
        Settings.from_env({"FTPCODE_WORKER_PRIORITY": "urgent"})


class FilesClient(FakeClient):
    """A client whose files.info reports one large log file."""

    def files_info(self, **kwargs: Any) -> dict[str, Any]:
        return {
            "ok": True,
            "file": {
                "id": kwargs["file"],
                "name": "huge.log",
                "mimetype": "text/plain",
                "size": 50 * 2**20,
                "url_private_download": "http://127.0.0.1:9/never-fetched",
            },
        }


def test_a_file_over_the_limit_is_not_downloaded(store: Store) -> None:
    """A DM file larger than FTPCODE_MAX_FILE_MB gets a notice naming both sizes."""
    deps = deps_with(store, max_file_bytes=20 * 2**20)
    client = FilesClient()
    data = event("", "D0000009", subtype="file_share", files=[{"id": "FHUGE0001"}])
    on_message({"event_id": "EvHuge"}, data, context(), client, deps)  # type: ignore[arg-type]
    assert client.posts
    body = text_of(client.posts[0])
    assert "50.0 MB" in body and "20 MB" in body
