"""The deploy files agree with the code: the manifest asks for exactly the scopes and events
the app uses, and .env.example lists every setting the bot reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from slack_sdk import WebClient

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
# What each Web API method, event and feature the app uses needs (Slack's scope docs).
METHOD_SCOPES = {
    "chat_postMessage": {"chat:write"},
    "files_info": {"files:read"},
    "views_publish": set(),
}
EVENT_SCOPES = {
    "app_home_opened": set(),
    "app_mention": {"app_mentions:read"},
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "message.im": {"im:history"},
}
SLASH_COMMAND_SCOPE = "commands"
FILE_DOWNLOAD_SCOPE = "files:read"  # url_private_download with the bot token


def manifest(name: str) -> dict[str, object]:
    loaded = json.loads((DEPLOY / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def methods_called() -> set[str]:
    """The Web API methods the bot's code calls on its client."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot").rglob("*.py"))
    called = set(re.findall(r"client\.([a-z]+_[A-Za-z_]+)\(", source))
    return {name for name in called if hasattr(WebClient, name)}


def registered_events() -> set[str]:
    """The event types the listeners register for."""
    listeners = (ROOT / "bot" / "listeners").glob("*.py")
    source = "\n".join(path.read_text(encoding="utf-8") for path in listeners)
    return set(re.findall(r'@app\.event\("([a-z_]+)"\)', source))


@pytest.mark.parametrize("name", ["manifest.json", "manifest.http.json"])
def test_manifest_requests_exactly_the_scopes_used(name: str) -> None:
    """The bot scopes are those the called methods, the events and the command need."""
    data = manifest(name)
    scopes = set(data["oauth_config"]["scopes"]["bot"])  # type: ignore[index]
    events = set(data["settings"]["event_subscriptions"]["bot_events"])  # type: ignore[index]
    needed = {SLASH_COMMAND_SCOPE, FILE_DOWNLOAD_SCOPE}
    for method in methods_called():
        assert method in METHOD_SCOPES, f"add the scope of {method} to this test"
        needed |= METHOD_SCOPES[method]
    for event in events:
        needed |= EVENT_SCOPES[event]
    assert scopes == needed


def test_manifest_subscribes_to_every_event_with_a_listener() -> None:
    """Each event the app listens to is subscribed, and nothing else is."""
    data = manifest("manifest.json")
    events = set(data["settings"]["event_subscriptions"]["bot_events"])  # type: ignore[index]
    listened = registered_events()
    assert {e.split(".")[0] for e in events} == listened


def test_http_manifest_points_every_url_at_slack_events() -> None:
    """In the HTTP manifest, commands, events and interactivity share /slack/events."""
    data = json.dumps(manifest("manifest.http.json"))
    urls = re.findall(r'"(?:url|request_url)": "([^"]+)"', data)
    assert len(urls) == 3
    assert all(url.endswith("/slack/events") for url in urls)
    assert '"socket_mode_enabled": false' in data


def test_env_example_lists_every_setting() -> None:
    """Every environment variable the bot reads appears in deploy/.env.example."""
    example = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    source = "\n".join(
        (ROOT / "bot" / name).read_text(encoding="utf-8") for name in ("settings.py", "state.py")
    )
    read = set(re.findall(r'"((?:SLACK|FTPCODE)_[A-Z_]+)"', source))
    assert read
    missing = {name for name in read if f"{name}=" not in example}
    assert not missing
