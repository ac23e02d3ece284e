"""The load benchmark's reference: a bare Bolt app that acks and posts a fixed text.

It runs on the same production server (waitress, same thread count) and Web API client
set-up as the bot, with Bolt's usual threads for the listener, so the benchmark compares
what the bot adds, not the plumbing:

    .venv/bin/python -m bench.bare_app serve --http --port 3000
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import waitress
from slack_bolt import App
from slack_sdk import WebClient

from bot.app import web_client
from bot.render import SERVE_STARTED_HTTP
from bot.server import HTTP_THREADS, wsgi_app
from bot.settings import Settings

FIXED_TEXT = "Noted."
LISTENER_THREADS = 16


def build_bare_app(settings: Settings) -> App:
    app = App(
        signing_secret=settings.signing_secret,
        client=web_client(settings),
        process_before_response=False,
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS),
    )

    @app.event("message")
    def reply(event: dict[str, Any], client: WebClient) -> None:
        client.chat_postMessage(
            channel=event["channel"],
            thread_ts=event.get("thread_ts") or event["ts"],
            text=FIXED_TEXT,
        )

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    app = build_bare_app(Settings.from_env())
    server = waitress.create_server(
        wsgi_app(app), host=args.host, port=args.port, threads=HTTP_THREADS
    )
    print(
        SERVE_STARTED_HTTP.format(host=args.host, port=server.effective_port),
        file=sys.stderr,
        flush=True,
    )
    server.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
