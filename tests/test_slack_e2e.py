"""The Slack app end to end: signed HTTP requests against `ftpcode serve --http`, with its
Web API calls going to a local fake Slack that records what was actually posted."""

from __future__ import annotations

import gzip
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_slack import BOT_USER_ID, FakeFile, FakeSlack
from tests.slack_app import SlackApp
from tests.slack_events import Events, answered, posted_text

FIXTURES = Path(__file__).parent / "fixtures"
EVENTS = Events("C", 1_800_000_000)
channel, ts, message = EVENTS.channel, EVENTS.ts, EVENTS.message
QUIET_SECONDS = 0.6  # how long silence is awaited once a later message was answered


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="module")
def app(slack: FakeSlack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackApp]:
    db = tmp_path_factory.mktemp("state") / "state.sqlite3"
    env = {"FTPCODE_ALLOWED_BOTS": "BMONITOR01"}
    with SlackApp(slack.api_url, db, env) as running:
        # The workers start after the server; the first answer shows they are ready.
        settle(running, slack)
        yield running


def settle(app: SlackApp, slack: FakeSlack) -> None:
    """Wait until a later message that needs an answer got one, and a moment more, so that
    every earlier event has been processed."""
    sentinel = channel()
    app.event(message(sentinel, "curl: (67) Access denied: 530"))
    assert answered(slack, sentinel), "the sentinel message was not answered"
    time.sleep(QUIET_SECONDS)


def stays_silent(app: SlackApp, slack: FakeSlack, channel_id: str) -> bool:
    """True when nothing was posted to `channel_id` once earlier events have settled."""
    settle(app, slack)
    return not slack.posts(channel_id)


# -- the HTTP surface -------------------------------------------------------------------


def test_health_check_answers_200(app: SlackApp) -> None:
    """GET /healthz answers 200 for load balancers and orchestrators."""
    assert app.request("/healthz", method="GET").status == 200


def test_bad_signature_is_rejected_with_401(app: SlackApp, slack: FakeSlack) -> None:
    """A request signed with another secret gets 401 and nothing is posted."""
    where = channel()
    body = json.dumps({"type": "event_callback", "event": message(where, "553")}).encode()
    response = app.signed(body, "application/json", secret="not-the-secret")
    assert response.status == 401
    assert stays_silent(app, slack, where)


def test_stale_timestamp_is_rejected_with_401(app: SlackApp) -> None:
    """A correctly signed request from more than five minutes ago is a replay: 401."""
    body = json.dumps({"type": "event_callback", "event": message(channel(), "553")}).encode()
    response = app.signed(body, "application/json", timestamp=int(time.time()) - 600)
    assert response.status == 401


def test_url_verification_challenge_is_echoed(app: SlackApp) -> None:
    """Slack's URL verification gets its challenge back, so the Request URL can be saved."""
    body = json.dumps({"type": "url_verification", "challenge": "fake-challenge"}).encode()
    response = app.signed(body, "application/json")
    assert response.status == 200
    assert b"fake-challenge" in response.body


# -- /ftpcode ---------------------------------------------------------------------------


def test_slash_command_answers_ephemerally_with_meaning_and_verdict(
    app: SlackApp, slack: FakeSlack
) -> None:
    """`/ftpcode 553` is acked at once and answered privately through the response URL."""
    url = slack.response_url("slash-553")
    response = app.command("553", channel=channel(), response_url=url)
    assert response.status == 200
    calls = slack.wait_for(lambda c: c.path.endswith("/slash-553"))
    assert calls, "no answer reached the response URL"
    args = calls[0].args
    assert args["response_type"] == "ephemeral"
    assert "ftp/553" in posted_text(calls[0])
    action_ids = [
        element["action_id"]
        for block in args["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert action_ids == ["share_answer", "feedback_helpful", "feedback_wrong"]


def test_slash_command_with_text_answers_the_phrase(app: SlackApp, slack: FakeSlack) -> None:
    """`/ftpcode can't open data connection` finds 425 from the words alone."""
    url = slack.response_url("slash-425")
    app.command("can't open data connection", channel=channel(), response_url=url)
    calls = slack.wait_for(lambda c: c.path.endswith("/slash-425"))
    assert calls and "ftp/425" in posted_text(calls[0])


@pytest.mark.parametrize(("name", "text"), [("usage-empty", ""), ("usage-help", "help")])
def test_slash_command_empty_and_help_show_usage(
    app: SlackApp, slack: FakeSlack, name: str, text: str
) -> None:
    """An empty `/ftpcode` and `/ftpcode help` both answer with how to ask."""
    app.command(text, channel=channel(), response_url=slack.response_url(name))
    calls = slack.wait_for(lambda c: c.path.endswith("/" + name))
    assert calls and "How to ask ftpcode" in posted_text(calls[0])


def test_slash_command_unknown_text_suggests(app: SlackApp, slack: FakeSlack) -> None:
    """Input the bot cannot place gets a 'nothing recognised' answer, not silence."""
    url = slack.response_url("slash-unknown")
    app.command("lunch menu", channel=channel(), response_url=url)
    calls = slack.wait_for(lambda c: c.path.endswith("/slash-unknown"))
    assert calls and "No FTP, SFTP" in posted_text(calls[0])


# -- auto-reply in channels -------------------------------------------------------------


def test_channel_message_with_code_is_answered_in_its_thread(
    app: SlackApp, slack: FakeSlack
) -> None:
    """A code in a channel message gets one reply, threaded under that message."""
    where = channel()
    event = message(where, "got 553 on upload to the partner server, any idea?")
    app.event(event)
    posts = answered(slack, where)
    assert len(posts) == 1
    assert posts[0].args["thread_ts"] == event["ts"]
    assert "ftp/553" in posted_text(posts[0])
    assert posts[0].token.startswith("xoxb-")


def test_thread_reply_is_answered_in_the_same_thread(app: SlackApp, slack: FakeSlack) -> None:
    """A message that is itself a thread reply is answered in that thread."""
    where, root = channel(), ts()
    app.event(message(where, "now it says 425 Can't open data connection", thread_ts=root))
    posts = answered(slack, where)
    assert posts and posts[0].args["thread_ts"] == root


@pytest.mark.parametrize(
    "text",
    ["meeting at 4:25", "PR #425 is merged", "530 users on the tenant", "lunch at 12:30?"],
)
def test_ordinary_chat_gets_no_reply(app: SlackApp, slack: FakeSlack, text: str) -> None:
    """Numbers that are not error codes get silence."""
    where = channel()
    app.event(message(where, text))
    assert stays_silent(app, slack, where)


def test_same_code_is_not_answered_twice_in_a_thread(app: SlackApp, slack: FakeSlack) -> None:
    """A second mention of an answered code in the same thread gets no second reply."""
    where, root = channel(), ts()
    app.event(message(where, "550 Permission denied on STOR", ts=root))
    assert answered(slack, where)
    app.event(message(where, "still 550 Permission denied", thread_ts=root))
    settle(app, slack)
    assert len(slack.posts(where)) == 1


def test_cooldown_holds_back_the_same_code_in_a_channel(app: SlackApp, slack: FakeSlack) -> None:
    """The same code in two separate top-level messages of a channel is answered once."""
    where = channel()
    app.event(message(where, "421 Too many connections from your IP"))
    assert answered(slack, where)
    app.event(message(where, "and again: 421 Too many connections from your IP"))
    settle(app, slack)
    assert len(slack.posts(where)) == 1


def test_retried_event_is_answered_once(app: SlackApp, slack: FakeSlack) -> None:
    """Slack's retry of an event (same event_id) never produces a second reply."""
    where = channel()
    event = message(where, "curl: (9) Server denied you to change to the given directory")
    app.event(event, event_id="EvRETRY0001")
    app.event(event, event_id="EvRETRY0001", retry=1)
    app.event(event, event_id="EvRETRY0001", retry=2)
    assert answered(slack, where)
    settle(app, slack)
    assert len(slack.posts(where)) == 1


def test_mention_arriving_as_message_and_app_mention_is_answered_once(
    app: SlackApp, slack: FakeSlack
) -> None:
    """An @mention arrives twice with different event ids: one reply."""
    where = channel()
    event = message(where, f"<@{BOT_USER_ID}> what does 452 mean?")
    app.event(event)
    app.event({**event, "type": "app_mention"})
    posts = answered(slack, where)
    assert posts and "ftp/452" in posted_text(posts[0])
    settle(app, slack)
    assert len(slack.posts(where)) == 1


def test_mention_answers_an_informational_code(app: SlackApp, slack: FakeSlack) -> None:
    """Asked by mention, even a success code is explained (limits are for auto-replies)."""
    where = channel()
    event = message(where, f"<@{BOT_USER_ID}> 226", type="app_mention")
    app.event(event)
    posts = answered(slack, where)
    assert posts and "ftp/226" in posted_text(posts[0])
    assert posts[0].args["thread_ts"] == event["ts"]


@pytest.mark.parametrize(
    "extra",
    [
        {"subtype": "message_changed"},
        {"subtype": "message_deleted"},
        {"subtype": "channel_join"},
        {"bot_id": "BOTHER0001"},
        {"subtype": "bot_message", "bot_id": "BOTHER0002"},
    ],
)
def test_edits_deletions_joins_and_bots_are_ignored(
    app: SlackApp, slack: FakeSlack, extra: dict[str, str]
) -> None:
    """Edits, deletions, joins and other bots' messages get no reply."""
    where = channel()
    app.event(message(where, "553 Could not create file", **extra))
    assert stays_silent(app, slack, where)


def test_allowlisted_monitoring_bot_is_answered(app: SlackApp, slack: FakeSlack) -> None:
    """A bot named in FTPCODE_ALLOWED_BOTS is read like a person."""
    where = channel()
    app.event(message(where, "transfer job failed: 553 Could not create file", bot_id="BMONITOR01"))
    posts = answered(slack, where)
    assert posts and "ftp/553" in posted_text(posts[0])


def test_reply_never_echoes_mentions_or_links(app: SlackApp, slack: FakeSlack) -> None:
    """A message with <!channel>, a user mention and a link is answered without them."""
    where = channel()
    text = "<!channel> <@UOTHER001> upload fails: <http://evil.example/x|553 Could not create file>"
    app.event(message(where, text))
    posts = answered(slack, where)
    assert posts
    body = posted_text(posts[0])
    for leaked in ("<!channel>", "<@UOTHER001>", "<http", "evil.example"):
        assert leaked not in body


# -- buttons ----------------------------------------------------------------------------


def test_share_button_posts_in_channel_and_removes_the_ephemeral(
    app: SlackApp, slack: FakeSlack
) -> None:
    """Share posts the answer for everyone and deletes the private copy."""
    url = slack.response_url("share-1")
    app.action("share_answer", "553", channel=channel(), response_url=url)
    calls = slack.wait_for(lambda c: c.path.endswith("/share-1"), count=2)
    assert len(calls) == 2
    shared = [c for c in calls if c.args.get("response_type") == "in_channel"]
    assert shared and "ftp/553" in posted_text(shared[0])
    assert "Shared by <@UASKER01>" in posted_text(shared[0])
    assert any(c.args.get("delete_original") for c in calls)


def test_wrong_feedback_is_stored_and_shown_on_app_home(app: SlackApp, slack: FakeSlack) -> None:
    """'Wrong' is stored, thanked privately, and listed on the App Home tab."""
    url = slack.response_url("feedback-1")
    app.action("feedback_wrong", "ftp/504", channel=channel(), response_url=url, user="UVOTER01")
    thanks = slack.wait_for(lambda c: c.path.endswith("/feedback-1"))
    assert thanks and thanks[0].args["response_type"] == "ephemeral"
    app.event({"type": "app_home_opened", "user": "UVOTER01", "tab": "home"})
    views = slack.wait_for(
        lambda c: c.method == "views.publish" and c.args.get("user_id") == "UVOTER01"
    )
    assert views
    home = json.dumps(views[0].args["view"])
    assert "Answers marked wrong" in home and "ftp/504" in home


def test_stop_replying_button_mutes_the_thread(app: SlackApp, slack: FakeSlack) -> None:
    """After 'Stop replying in this thread', new codes in that thread get no reply."""
    where, root = channel(), ts()
    app.event(message(where, "553 Could not create file", ts=root))
    assert answered(slack, where)
    app.action(
        "mute_thread",
        "thread",
        channel=where,
        response_url=slack.response_url("mute-thread-1"),
        message={"ts": ts(), "thread_ts": root},
    )
    assert slack.wait_for(lambda c: c.path.endswith("/mute-thread-1"))
    app.event(message(where, "now 421 Too many connections", thread_ts=root))
    settle(app, slack)
    assert len(slack.posts(where)) == 1


def test_mute_command_silences_the_channel_until_unmute(app: SlackApp, slack: FakeSlack) -> None:
    """`/ftpcode mute 1h` stops auto-replies in the channel; `/ftpcode unmute` restores them."""
    where = channel()
    app.command("mute 1h", channel=where, response_url=slack.response_url("mute-1"))
    confirmed = slack.wait_for(lambda c: c.path.endswith("/mute-1"))
    assert confirmed and "1 hour" in posted_text(confirmed[0])
    app.event(message(where, "553 Could not create file"))
    assert stays_silent(app, slack, where)
    app.command("unmute", channel=where, response_url=slack.response_url("unmute-1"))
    assert slack.wait_for(lambda c: c.path.endswith("/unmute-1"))
    app.event(message(where, "553 Could not create file"))
    assert answered(slack, where)


# -- DMs, files, follow-ups, secrets ----------------------------------------------------


def test_direct_message_is_answered_in_the_conversation(app: SlackApp, slack: FakeSlack) -> None:
    """A DM with a bare code is answered (in the DM, not in a thread)."""
    where = EVENTS.direct()
    app.event(message(where, "10060"))
    posts = answered(slack, where)
    assert posts and "winsock/10060" in posted_text(posts[0])
    assert "thread_ts" not in posts[0].args


def test_dm_file_share_is_downloaded_with_the_bot_token_and_diagnosed(
    app: SlackApp, slack: FakeSlack
) -> None:
    """A gzipped log uploaded in a DM: files.info, a download with the bot token, a diagnosis."""
    where = EVENTS.direct()
    content = (FIXTURES / "curl" / "vsftpd-missing-file.txt").read_bytes()
    slack.add_file(
        "FLOG00001", FakeFile("session.log.gz", gzip.compress(content), "application/gzip", "gzip")
    )
    app.event(
        message(
            where, "", subtype="file_share", files=[{"id": "FLOG00001", "name": "session.log.gz"}]
        )
    )
    posts = answered(slack, where)
    assert posts, "no diagnosis was posted"
    assert "ftp/550" in posted_text(posts[0])
    downloads = slack.calls_to("file")
    assert any(c.args["id"] == "FLOG00001" and c.token.startswith("xoxb-") for c in downloads)
    assert slack.wait_for(lambda c: c.method == "files.info" and c.args.get("file") == "FLOG00001")


def test_dm_image_upload_gets_a_one_line_notice(app: SlackApp, slack: FakeSlack) -> None:
    """A file that is not a text log is not downloaded; the user is told why."""
    where = EVENTS.direct()
    slack.add_file("FIMG00001", FakeFile("screen.png", b"\x89PNG....", "image/png", "png"))
    app.event(message(where, "", subtype="file_share", files=[{"id": "FIMG00001"}]))
    posts = answered(slack, where)
    assert posts and "screen.png" in posted_text(posts[0])
    assert not [c for c in slack.calls_to("file") if c.args["id"] == "FIMG00001"]


def test_pasted_log_with_password_warns_and_never_repeats_it(
    app: SlackApp, slack: FakeSlack
) -> None:
    """A pasted transcript with a clear-text PASS is diagnosed, flagged, and not echoed."""
    where = EVENTS.direct()
    log_text = (FIXTURES / "nc" / "proftpd-acct.txt").read_text()
    assert "s3cret-test" in log_text
    app.event(message(where, "```" + log_text + "```"))
    posts = answered(slack, where)
    assert posts
    body = posted_text(posts[0])
    assert "ftp/502" in body
    assert "Rotate" in body
    assert all("s3cret-test" not in call.body_text for call in slack.calls)


def test_log_in_a_bot_thread_gets_a_deeper_answer_with_thread_context(
    app: SlackApp, slack: FakeSlack
) -> None:
    """A log pasted in a thread where the bot answered is diagnosed, relating to the thread."""
    where, root = channel(), ts()
    app.event(message(where, "rename fails with 550 on the partner server", ts=root))
    assert answered(slack, where)
    log_text = (FIXTURES / "curl" / "vsftpd-rename-disabled.txt").read_text()
    app.event(message(where, log_text, thread_ts=root))
    posts = answered(slack, where, count=2)
    assert len(posts) == 2
    deeper = posted_text(posts[1])
    assert posts[1].args["thread_ts"] == root
    assert "ftp/550" in deeper
    assert "thread already found" in deeper


def test_log_file_in_a_bot_thread_is_diagnosed(app: SlackApp, slack: FakeSlack) -> None:
    """A .log file uploaded in a bot thread is fetched and diagnosed in that thread."""
    where, root = channel(), ts()
    app.event(message(where, "client gets 530 Login incorrect", ts=root))
    assert answered(slack, where)
    content = (FIXTURES / "lftp" / "pureftpd-rename-disabled.txt").read_bytes()
    slack.add_file("FLOG00002", FakeFile("lftp-debug.log", content))
    app.event(message(where, "", subtype="file_share", thread_ts=root, files=[{"id": "FLOG00002"}]))
    posts = answered(slack, where, count=2)
    assert len(posts) == 2 and posts[1].args["thread_ts"] == root
    assert "Earlier in this thread" in posted_text(posts[1])
    assert all("s3cret-test" not in call.body_text for call in slack.calls)


def test_file_in_a_channel_outside_bot_threads_is_left_alone(
    app: SlackApp, slack: FakeSlack
) -> None:
    """An upload at the top level of a channel is not fetched: the bot was not asked."""
    where = channel()
    slack.add_file("FLOG00003", FakeFile("other.log", b"550 nope\n"))
    app.event(message(where, "", subtype="file_share", files=[{"id": "FLOG00003"}]))
    assert stays_silent(app, slack, where)
    assert not [c for c in slack.calls_to("file") if c.args["id"] == "FLOG00003"]


# -- Web API failures -------------------------------------------------------------------


def test_rate_limited_post_is_retried_after_retry_after(app: SlackApp, slack: FakeSlack) -> None:
    """A 429 from chat.postMessage is retried (after Retry-After) and the reply lands."""
    where = channel()
    slack.fail("chat.postMessage", 429, times=1, retry_after=1)
    app.event(message(where, "451 Requested action aborted: local error in processing"))
    attempts = slack.wait_for(
        lambda c: c.method == "chat.postMessage" and c.args.get("channel") == where, count=2
    )
    assert len(attempts) == 2
    assert attempts[1].at - attempts[0].at >= 0.9


def test_server_error_post_is_retried(app: SlackApp, slack: FakeSlack) -> None:
    """A 503 from chat.postMessage is retried and the reply lands."""
    where = channel()
    slack.fail("chat.postMessage", 503, times=1)
    app.event(message(where, "SSH_FX_NO_SUCH_FILE when listing /outbound"))
    attempts = answered(slack, where, count=2)
    assert len(attempts) == 2


def test_api_error_does_not_kill_the_listener(app: SlackApp, slack: FakeSlack) -> None:
    """A post Slack refuses (channel_not_found) is logged; the next message is answered."""
    where = channel()
    slack.answer("chat.postMessage", {"ok": False, "error": "channel_not_found"})
    try:
        app.event(message(where, "426 Connection closed; transfer aborted"))
        assert answered(slack, where)
    finally:
        slack._answers.pop("chat.postMessage")
    later = channel()
    app.event(message(later, "426 Connection closed; transfer aborted"))
    assert answered(slack, later)


# -- heavy work after the ack ---


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (read from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it exited meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_workers_run_at_idle_priority(app: SlackApp) -> None:
    """The answering workers run under SCHED_IDLE, so acks never wait behind answers."""
    workers = [
        pid
        for pid in children(app.pid)
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()  # not the resource tracker
    ]
    assert len(workers) == 2
    assert all(os.sched_getscheduler(pid) == os.SCHED_IDLE for pid in workers)


def test_a_big_log_is_acked_before_it_is_analysed(app: SlackApp, slack: FakeSlack) -> None:
    """A DM with a multi-megabyte log file is acked at once; the diagnosis follows later."""
    where = EVENTS.direct()
    session = (FIXTURES / "curl" / "vsftpd-missing-file.txt").read_bytes()
    content = session * (4_000_000 // len(session))
    slack.add_file("FBIG00001", FakeFile("huge.log", content))
    response = app.event(message(where, "", subtype="file_share", files=[{"id": "FBIG00001"}]))
    acked_at = time.monotonic()
    assert response.status == 200
    posts = answered(slack, where)
    assert posts, "the big log was never diagnosed"
    assert posts[0].at > acked_at
    assert "ftp/550" in posted_text(posts[0])


# -- bad input --------------------------------------------------------------------------


def test_corrupt_gzip_upload_gets_a_one_line_notice(app: SlackApp, slack: FakeSlack) -> None:
    """A .gz upload that is not gzip inside gets a notice saying it could not be read."""
    where = EVENTS.direct()
    broken = FakeFile("broken.log.gz", b"\x1f\x8bnot gzip at all", "application/gzip", "gzip")
    slack.add_file("FBAD00001", broken)
    app.event(message(where, "", subtype="file_share", files=[{"id": "FBAD00001"}]))
    posts = answered(slack, where)
    assert posts and "could not read" in posted_text(posts[0])
    assert "Traceback" not in posted_text(posts[0])


def test_malformed_events_do_not_stop_the_bot(app: SlackApp, slack: FakeSlack) -> None:
    """Events with missing or odd fields are acked and dropped; the next one is answered."""
    for odd in (
        {"type": "message"},
        {"type": "message", "channel": channel(), "text": None, "ts": ts()},
        {"type": "message", "channel": channel(), "text": "553", "ts": ts(), "files": "x"},
        {"type": "app_mention", "text": f"<@{BOT_USER_ID}> 553"},
    ):
        assert app.event(odd).status == 200
    settle(app, slack)
