"""The Slack app end to end in Socket Mode: `ftpcode serve` with an app-level token connects
to a local fake of Slack's WebSocket server, acks the envelopes pushed to it and answers
through a local fake Web API that records what was actually posted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.fake_slack import FakeSlack
from tests.fake_socket_mode import FakeSocketMode
from tests.slack_app import APP_TOKEN, SOCKET_MODE_CONNECTED, SlackApp
from tests.slack_events import Events, answered, posted_text

QUIET_SECONDS = 0.6  # how long silence is awaited once a later message was answered

EVENTS = Events("CS", 1_810_000_000)
channel, ts, message = EVENTS.channel, EVENTS.ts, EVENTS.message


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="module")
def socket_mode(slack: FakeSlack) -> Iterator[FakeSocketMode]:
    with FakeSocketMode() as server:
        slack.socket_mode_url = server.url
        yield server


@pytest.fixture(scope="module")
def app(
    slack: FakeSlack, socket_mode: FakeSocketMode, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SlackApp]:
    db = tmp_path_factory.mktemp("state") / "state.sqlite3"
    with SlackApp(slack.api_url, db, socket_mode=True) as running:
        assert socket_mode.wait_for_connection(), "the bot never opened the WebSocket"
        yield running


def settle(socket_mode: FakeSocketMode, slack: FakeSlack) -> None:
    """Wait until a later message that needs an answer got one, and a moment more, so that
    every earlier envelope has been processed."""
    sentinel = channel()
    socket_mode.event(message(sentinel, "curl: (67) Access denied: 530"))
    assert answered(slack, sentinel), "the sentinel message was not answered"
    time.sleep(QUIET_SECONDS)


# -- the connection -----------------------------------------------------------------------


def test_bot_opens_the_websocket_with_the_app_token(
    app: SlackApp, slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    """The WebSocket URL comes from apps.connections.open called with the xapp- token."""
    opens = slack.calls_to("apps.connections.open")
    assert opens and all(call.token == APP_TOKEN for call in opens)
    connection = socket_mode.wait_for_connection()
    assert connection is not None and connection.path.startswith("/link")
    assert app.connected


def test_client_keeps_the_connection_alive_with_pings(
    app: SlackApp, socket_mode: FakeSocketMode
) -> None:
    """The client pings on its connection (the fake answers each ping with a pong)."""
    assert socket_mode.wait_for_ping(socket_mode.live())


# -- envelopes ----------------------------------------------------------------------------


def test_channel_message_is_acked_and_answered_in_its_thread(
    app: SlackApp, slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    """A channel message with 553 is acked by envelope_id and answered in its thread."""
    where = channel()
    event = message(where, "got 553 on upload")
    envelope_id = socket_mode.event(event)
    ack = socket_mode.wait_for_ack(envelope_id)
    assert ack is not None and ack["envelope_id"] == envelope_id
    posts = answered(slack, where)
    assert len(posts) == 1
    assert posts[0].args["thread_ts"] == event["ts"]
    assert "ftp/553" in posted_text(posts[0])
    assert posts[0].token.startswith("xoxb-")


def test_slash_command_is_acked_and_answered_ephemerally(
    app: SlackApp, slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    """`/ftpcode 553` over the socket is acked, then answered privately on the response URL."""
    url = slack.response_url("socket-slash-553")
    envelope_id = socket_mode.command("553", channel=channel(), response_url=url)
    assert socket_mode.wait_for_ack(envelope_id) is not None
    calls = slack.wait_for(lambda c: c.path.endswith("/socket-slash-553"), timeout=30)
    assert calls, "no answer reached the response URL"
    assert calls[0].args["response_type"] == "ephemeral"
    assert "ftp/553" in posted_text(calls[0])


def test_button_click_is_acked_and_handled(
    app: SlackApp, slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    """An `interactive` envelope (the Share button) is acked and shares the answer."""
    url = slack.response_url("socket-share-1")
    envelope_id = socket_mode.action("share_answer", "553", channel=channel(), response_url=url)
    assert socket_mode.wait_for_ack(envelope_id) is not None
    calls = slack.wait_for(lambda c: c.path.endswith("/socket-share-1"), count=2, timeout=30)
    shared = [c for c in calls if c.args.get("response_type") == "in_channel"]
    assert shared and "ftp/553" in posted_text(shared[0])


def test_ordinary_chat_is_acked_and_gets_no_reply(
    app: SlackApp, slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    """'meeting at 4:25' is acked (Slack would resend it otherwise) and gets silence."""
    where = channel()
    envelope_id = socket_mode.event(message(where, "meeting at 4:25"))
    assert socket_mode.wait_for_ack(envelope_id) is not None
    settle(socket_mode, slack)
    assert not slack.posts(where)


def test_retried_envelope_is_answered_once(
    app: SlackApp, slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    """Slack's redelivery of an event (same event_id, retry_attempt 1) gets no second reply."""
    where = channel()
    event = message(where, "421 Too many connections from your IP")
    first = socket_mode.event(event, event_id="EvSOCKRETRY1")
    again = socket_mode.event(event, event_id="EvSOCKRETRY1", retry=1)
    assert socket_mode.wait_for_ack(first) is not None
    assert socket_mode.wait_for_ack(again) is not None
    assert answered(slack, where)
    settle(socket_mode, slack)
    assert len(slack.posts(where)) == 1


def test_disconnect_request_reconnects_and_keeps_answering(
    app: SlackApp, slack: FakeSlack, socket_mode: FakeSocketMode
) -> None:
    """On Slack's `disconnect` message the bot opens a new connection and answers on it."""
    before = socket_mode.live()
    opens = len(slack.calls_to("apps.connections.open"))
    socket_mode.ask_to_reconnect()
    fresh = socket_mode.wait_for_connection(before.number + 1)
    assert fresh is not None, "the bot did not reconnect"
    assert len(slack.calls_to("apps.connections.open")) > opens
    assert before.closed.wait(30), "the old connection was left open"
    where = channel()
    envelope_id = socket_mode.event(message(where, "450 Requested file action not taken"))
    assert socket_mode.live() is fresh
    assert socket_mode.wait_for_ack(envelope_id) is not None
    posts = answered(slack, where)
    assert posts and "ftp/450" in posted_text(posts[0])


@pytest.mark.slow
def test_connected_is_announced_only_once_the_websocket_is_open(tmp_path: Path) -> None:
    """While the WebSocket handshake fails the bot retries without claiming to be connected;
    it says "Socket Mode connected" once a connection is open."""
    with FakeSlack() as slack, FakeSocketMode() as server:
        slack.socket_mode_url = server.url.replace("/link", "/not-a-websocket")
        app = SlackApp(slack.api_url, tmp_path / "state.sqlite3", socket_mode=True)
        pool = ThreadPoolExecutor(max_workers=1)
        try:
            started = pool.submit(app.__enter__)
            # The first attempt, the monitor's at once, and one a ping interval later.
            opens = slack.wait_for(lambda c: c.method == "apps.connections.open", 3, timeout=60)
            assert len(opens) == 3 and len(server.refused) >= 2
            said = list(app.log)
            assert not started.done()
            assert not any(SOCKET_MODE_CONNECTED in line for line in said)
            assert any("not connected yet" in line for line in said)
            slack.socket_mode_url = server.url
            started.result(timeout=60)
            assert app.connected and server.connections
        finally:
            slack.socket_mode_url = server.url  # lets a start still under way finish
            pool.shutdown(wait=True)
            app.__exit__()
