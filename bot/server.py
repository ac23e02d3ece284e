"""Running the bot: HTTP mode on waitress (a production WSGI server), or Socket Mode.

HTTP mode serves every Slack request on `POST /slack/events` and answers `GET /healthz`;
Bolt's own `app.start()` is a development server and is not used.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from bot.settings import Settings
from bot.state import Store, retention

if TYPE_CHECKING:
    from slack_bolt import App

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
HTTP_THREADS = 16
PURGE_EVERY_SECONDS = 3600.0
CONNECTED_CHECK_SECONDS = 0.1
log = logging.getLogger("ftpcode")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def wsgi_app(app: App) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The WSGI application: Slack requests to Bolt, a health check, 404 for the rest."""
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def serve(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n"]
        return slack(environ, start_response)  # type: ignore[arg-type]

    return serve


def start_housekeeping(store: Store, stop: threading.Event) -> threading.Thread:
    """Purge old thread context and claims now and then every PURGE_EVERY_SECONDS."""
    keep = retention()

    def run() -> None:
        while True:
            try:
                removed = store.purge(keep)
                if removed:
                    log.info("purged %d old state rows", removed)
            except Exception as exc:  # the next round tries again
                log.warning("purging state failed: %s: %s", type(exc).__name__, exc)
            if stop.wait(PURGE_EVERY_SECONDS):
                return

    thread = threading.Thread(target=run, name="ftpcode-housekeeping", daemon=True)
    thread.start()
    return thread


class _QuietClientNotice(logging.Filter):
    """Bolt warns that `token` is unused when a client is given; ours is on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "token` will be unused" not in record.getMessage()


def quiet_bolt_notices() -> None:
    logging.getLogger("ftpcode").addFilter(_QuietClientNotice())


def stop_on_sigterm() -> None:
    """Turn SIGTERM (what a container runtime or systemd sends) into a clean shutdown."""

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


@contextlib.contextmanager
def running_app(settings: Settings) -> Iterator[tuple[App, threading.Event]]:
    """The Bolt app with its workers and housekeeping, and the event that stops them;
    everything is shut down on the way out (SIGTERM included)."""
    from bot.app import build_app
    from bot.dispatch import ProcessDispatcher

    stop_on_sigterm()
    quiet_bolt_notices()
    store = Store()
    stop = threading.Event()
    start_housekeeping(store, stop)
    dispatcher = ProcessDispatcher(settings, settings.workers)
    try:
        yield build_app(settings, dispatcher), stop
    finally:
        stop.set()
        dispatcher.close()
        store.close()


def serve_http(settings: Settings, host: str, port: int, announce: Callable[[str], None]) -> None:
    """Run HTTP mode until interrupted."""
    import waitress

    from bot import render

    with running_app(settings) as (app, _stop):
        server = waitress.create_server(
            wsgi_app(app), host=host, port=port, threads=HTTP_THREADS, ident="ftpcode"
        )
        announce(render.SERVE_STARTED_HTTP.format(host=host, port=server.effective_port))
        try:
            server.run()
        finally:
            server.close()


def serve_socket_mode(settings: Settings, announce: Callable[[str], None]) -> None:
    """Run Socket Mode until interrupted (the proxy comes from HTTPS_PROXY)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot import render

    with running_app(settings) as (app, stop):
        handler = SocketModeHandler(app, settings.app_token)
        try:
            handler.connect()  # type: ignore[no-untyped-call]
            # connect() returns even when the WebSocket could not be opened (refused, a proxy
            # in the way): the client logs the error and retries every ping interval. Say
            # "connected" only once it is.
            if not handler.client.is_connected():
                log.warning("Socket Mode is not connected yet; retrying")
                while not handler.client.is_connected():
                    stop.wait(CONNECTED_CHECK_SECONDS)
            announce(render.SERVE_STARTED_SOCKET)
            stop.wait()
        finally:
            handler.close()  # type: ignore[no-untyped-call]
