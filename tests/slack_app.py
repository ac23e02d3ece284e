"""Run the real bot in HTTP mode as a subprocess and talk to it as Slack does: signed requests.

Used by the end-to-end tests and the load benchmark. The signing secret and tokens are
obvious fakes; the bot's Web API calls go to a FakeSlack. With `socket_mode=True` the bot
runs in Socket Mode instead (an app-level token, no signing secret); Slack's side of that
is a FakeSocketMode, whose URL the FakeSlack hands out from apps.connections.open.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.slack_events import block_actions, event_callback, slash_command

ROOT = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "fake-signing-secret-for-tests"
BOT_TOKEN = "xoxb-fake-bot-token-for-tests"
APP_TOKEN = "xapp-fake-app-token-for-tests"
_STARTED = re.compile(r"http://[\d.]+:(\d+)/slack/events")
SOCKET_MODE_CONNECTED = "ftpcode: Socket Mode connected"
_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY")


def sign(body: bytes, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    """Slack's v0 request signature of `body` sent at `timestamp`."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class Response:
    status: int
    body: bytes
    seconds: float


class SlackApp:
    """The bot (`ftpcode serve --http`) on 127.0.0.1 with its Web API pointed at `api_url`;
    with `socket_mode=True`, `ftpcode serve` in Socket Mode (no port, no signed requests)."""

    def __init__(
        self,
        api_url: str,
        db_path: Path,
        env: dict[str, str] | None = None,
        module: str = "bot",
        *,
        socket_mode: bool = False,
    ) -> None:
        self._env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARIABLES}
        self._env.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=api_url,
            FTPCODE_DB=f"sqlite:///{db_path}",
            PYTHONUNBUFFERED="1",
        )
        self._env.pop("SLACK_APP_TOKEN", None)
        if socket_mode:
            del self._env["SLACK_SIGNING_SECRET"]
            self._env["SLACK_APP_TOKEN"] = APP_TOKEN
        self._env.update(env or {})
        self.socket_mode = socket_mode
        self.connected = False  # Socket Mode: the bot said it is connected
        self.log: list[str] = []
        self.port = 0
        self._ids = itertools.count(1)
        self._process: subprocess.Popen[str] | None = None
        self._drain: threading.Thread | None = None
        # `bot` is the real app; bench.bare_app the load benchmark's bare Bolt app.
        self._module = module

    def __enter__(self) -> SlackApp:
        command = [sys.executable, "-m", self._module, "serve"]
        if not self.socket_mode:
            command += ["--http", "--port", "0"]
        self._process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self._env,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its worker processes go with it
        )
        started = threading.Event()

        def drain() -> None:
            assert self._process is not None and self._process.stderr is not None
            for line in self._process.stderr:
                self.log.append(line.rstrip("\n"))
                found = _STARTED.search(line)
                if found:
                    self.port = int(found.group(1))
                    started.set()
                if self.socket_mode and SOCKET_MODE_CONNECTED in line:
                    self.connected = True
                    started.set()
            started.set()

        self._drain = threading.Thread(target=drain, daemon=True)
        self._drain.start()
        if not started.wait(60) or not (self.connected if self.socket_mode else self.port):
            self.__exit__()
            raise RuntimeError("the bot did not start:\n" + "\n".join(self.log[-20:]))
        return self

    def __exit__(self, *_exc: object) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # any worker left behind
        if self._drain is not None:
            self._drain.join(30)
            if self._drain.is_alive():
                return  # never close the pipe under a thread still reading it
        if process.stderr is not None:
            process.stderr.close()

    @property
    def pid(self) -> int:
        """The bot's serving process."""
        assert self._process is not None
        return self._process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- raw requests --

    def request(
        self,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        method: str = "POST",
    ) -> Response:
        request = urllib.request.Request(
            self.url + path, data=body if method == "POST" else None, method=method
        )
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                data = response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            data, status = exc.read(), exc.code
        return Response(status, data, time.perf_counter() - started)

    def signed(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
        extra: dict[str, str] | None = None,
    ) -> Response:
        """POST /slack/events with Slack's signature headers."""
        at = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(at),
            "X-Slack-Signature": sign(body, at, secret),
            **(extra or {}),
        }
        return self.request("/slack/events", body, headers)

    # -- what Slack sends --

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry: int = 0
    ) -> Response:
        """An Events API callback carrying `event`; a retry repeats the same event_id."""
        envelope = event_callback(event, event_id or f"Ev{next(self._ids):08d}")
        extra = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        body = json.dumps(envelope).encode()
        return self.signed(body, "application/json", extra=extra if retry else None)

    def command(
        self, text: str, *, channel: str, response_url: str, user: str = "UASKER01"
    ) -> Response:
        """A `/ftpcode TEXT` slash command."""
        form = slash_command(text, channel, response_url, user)
        body = urllib.parse.urlencode(form).encode()
        return self.signed(body, "application/x-www-form-urlencoded")

    def action(
        self,
        action_id: str,
        value: str,
        *,
        channel: str,
        response_url: str,
        message: dict[str, Any] | None = None,
        user: str = "UASKER01",
    ) -> Response:
        """A click on one of the bot's buttons."""
        payload = block_actions(action_id, value, channel, response_url, user, message)
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return self.signed(body, "application/x-www-form-urlencoded")
