"""Behind a corporate proxy: with HTTPS_PROXY (and HTTP_PROXY) set, the bot's Web API calls,
its response-URL answers, its file downloads and its Socket Mode WebSocket all go through
the proxy, with the credentials the proxy URL carries.

slack-sdk's WebClient and WebhookClient read HTTPS_PROXY (or HTTP_PROXY) themselves and
send absolute-URI requests to the proxy; bot/files.py uses urllib, which picks the proxy by
the URL's scheme (HTTP_PROXY for the fake's http:// download URLs). slack-sdk's builtin
Socket Mode client opens a CONNECT tunnel to the WebSocket host and then always speaks TLS
inside it, whatever the URL's scheme: through a proxy it can reach `wss://` only, never a
plain `ws://` server. So the fake WebSocket server here serves `wss://` with a throwaway
self-signed certificate, which the bot trusts through SSL_CERT_FILE (the default SSL
context of Python's `ssl` module reads it)."""

from __future__ import annotations

import gzip
import shutil
import ssl
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_proxy import FakeProxy, ProxyRequest
from tests.fake_slack import FakeFile, FakeSlack
from tests.fake_socket_mode import FakeSocketMode
from tests.slack_app import SlackApp
from tests.slack_events import Events, answered, posted_text

FIXTURES = Path(__file__).parent / "fixtures"
EVENTS = Events("CP", 1_820_000_000)
channel, ts, message = EVENTS.channel, EVENTS.ts, EVENTS.message
PROXY_CREDENTIALS = ("ftpcode", "fake-proxy-password")


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(scope="module")
def proxy() -> Iterator[FakeProxy]:
    with FakeProxy(credentials=PROXY_CREDENTIALS) as running:
        yield running


def proxy_env(proxy: FakeProxy) -> dict[str, str]:
    # An empty NO_PROXY, so that an inherited one cannot exempt 127.0.0.1 from the proxy.
    return {"HTTPS_PROXY": proxy.url, "HTTP_PROXY": proxy.url, "NO_PROXY": "", "no_proxy": ""}


@pytest.fixture(scope="module")
def app(
    slack: FakeSlack, proxy: FakeProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SlackApp]:
    db = tmp_path_factory.mktemp("state") / "state.sqlite3"
    with SlackApp(slack.api_url, db, proxy_env(proxy)) as running:
        yield running


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 and its key."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.fixture(scope="module")
def socket_mode(slack: FakeSlack, certificate: tuple[Path, Path]) -> Iterator[FakeSocketMode]:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(*certificate)
    with FakeSocketMode(tls=tls) as server:
        slack.socket_mode_url = server.url
        yield server


@pytest.fixture(scope="module")
def socket_app(
    slack: FakeSlack,
    proxy: FakeProxy,
    socket_mode: FakeSocketMode,
    certificate: tuple[Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SlackApp]:
    db = tmp_path_factory.mktemp("socket-state") / "state.sqlite3"
    env = {**proxy_env(proxy), "SSL_CERT_FILE": str(certificate[0])}
    with SlackApp(slack.api_url, db, env, socket_mode=True) as running:
        assert socket_mode.wait_for_connection(), "the bot never opened the WebSocket"
        yield running


def through_proxy(proxy: FakeProxy, slack: FakeSlack, path: str) -> list[ProxyRequest]:
    """The requests for FakeSlack's `path` that the proxy passed on, with credentials."""
    target = slack.url.rstrip("/") + path
    return proxy.seen(lambda r: r.target.split("?")[0] == target and r.authorized)


def assert_every_call_went_through_the_proxy(proxy: FakeProxy, slack: FakeSlack) -> None:
    """Each path FakeSlack served was asked for through the proxy at least as many times."""
    prefix = slack.url.rstrip("/")
    served = Counter(call.path.split("?")[0] for call in list(slack.calls))
    passed = Counter(
        r.target.removeprefix(prefix).split("?")[0]
        for r in proxy.seen(lambda r: r.method != "CONNECT" and r.authorized)
    )
    bypassed = {path: n - passed[path] for path, n in served.items() if passed[path] < n}
    assert not bypassed, f"calls that did not go through the proxy: {bypassed}"


# -- HTTP mode ----------------------------------------------------------------------------


def test_web_api_calls_go_through_the_proxy(
    app: SlackApp, slack: FakeSlack, proxy: FakeProxy
) -> None:
    """auth.test and chat.postMessage reach the Web API as absolute-URI requests to the proxy."""
    where = channel()
    event = message(where, "got 553 on upload to the partner server")
    assert app.event(event).status == 200
    posts = answered(slack, where)
    assert posts and posts[0].args["thread_ts"] == event["ts"]
    assert "ftp/553" in posted_text(posts[0])
    assert through_proxy(proxy, slack, "/api/auth.test")
    posted = through_proxy(proxy, slack, "/api/chat.postMessage")
    assert posted and all(r.method == "POST" for r in posted)
    assert_every_call_went_through_the_proxy(proxy, slack)


def test_response_url_answer_goes_through_the_proxy(
    app: SlackApp, slack: FakeSlack, proxy: FakeProxy
) -> None:
    """The ephemeral answer to `/ftpcode 553` is posted to the response URL via the proxy."""
    url = slack.response_url("proxy-slash-553")
    assert app.command("553", channel=channel(), response_url=url).status == 200
    calls = slack.wait_for(lambda c: c.path.endswith("/proxy-slash-553"), timeout=30)
    assert calls and "ftp/553" in posted_text(calls[0])
    assert through_proxy(proxy, slack, "/respond/proxy-slash-553")
    assert_every_call_went_through_the_proxy(proxy, slack)


def test_dm_file_download_goes_through_the_proxy(
    app: SlackApp, slack: FakeSlack, proxy: FakeProxy
) -> None:
    """A log uploaded in a DM is fetched (files.info, then the download) through the proxy."""
    where = EVENTS.direct()
    content = (FIXTURES / "curl" / "vsftpd-missing-file.txt").read_bytes()
    slack.add_file(
        "FPROXY001", FakeFile("session.log.gz", gzip.compress(content), "application/gzip", "gzip")
    )
    app.event(message(where, "", subtype="file_share", files=[{"id": "FPROXY001"}]))
    posts = answered(slack, where)
    assert posts and "ftp/550" in posted_text(posts[0])
    downloads = through_proxy(proxy, slack, "/files/FPROXY001")
    assert downloads and downloads[0].method == "GET" and downloads[0].status == 200
    assert through_proxy(proxy, slack, "/api/files.info")
    assert_every_call_went_through_the_proxy(proxy, slack)


def test_proxy_refuses_requests_without_credentials(proxy: FakeProxy) -> None:
    """The fake proxy really demands credentials (so the tests above prove they were sent)."""
    import urllib.error
    import urllib.request

    bare = proxy.url.split("@")[-1].replace("http://", "")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": bare}))
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open("http://127.0.0.1:9/api/auth.test", timeout=30)
    refused.value.close()
    assert refused.value.code == 407


# -- Socket Mode --------------------------------------------------------------------------


def test_socket_mode_connects_through_a_connect_tunnel(
    socket_app: SlackApp, slack: FakeSlack, proxy: FakeProxy, socket_mode: FakeSocketMode
) -> None:
    """apps.connections.open goes via the proxy, the WebSocket through a CONNECT tunnel."""
    assert through_proxy(proxy, slack, "/api/apps.connections.open")
    tunnels = proxy.seen(lambda r: r.method == "CONNECT")
    assert tunnels, "no CONNECT tunnel was opened"
    assert [r.target for r in tunnels if r.authorized and r.status == 200] == [
        f"127.0.0.1:{socket_mode.port}"
    ] * len(tunnels)
    assert len(socket_mode.connections) <= len(tunnels)
    assert socket_app.connected


def test_socket_mode_event_through_the_proxy_is_acked_and_answered(
    socket_app: SlackApp, slack: FakeSlack, proxy: FakeProxy, socket_mode: FakeSocketMode
) -> None:
    """An envelope pushed down the tunnel is acked back through it and answered via the proxy."""
    where = channel()
    event = message(where, "got 553 on upload")
    envelope_id = socket_mode.event(event)
    assert socket_mode.wait_for_ack(envelope_id) is not None
    posts = answered(slack, where)
    assert posts and posts[0].args["thread_ts"] == event["ts"]
    assert "ftp/553" in posted_text(posts[0])
    assert_every_call_went_through_the_proxy(proxy, slack)
