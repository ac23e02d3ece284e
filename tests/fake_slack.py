"""A local stand-in for the Slack Web API, response URLs and file downloads, for tests.

It answers the methods the bot calls, records every call (method, arguments, token), and
can be told to fail a method a few times first (429 with Retry-After, or a 5xx) to prove
the bot's retry handlers. Nothing here talks to Slack.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BOT_USER_ID = "UFTPBOT01"
BOT_ID = "BFTPBOT01"
TEAM_ID = "TFAKE0001"


@dataclass
class Call:
    """One request the bot made: a Web API method, a response URL, or a file download."""

    method: str  # "chat.postMessage", "response_url", "file", ...
    args: dict[str, Any]
    token: str
    path: str
    at: float = field(default_factory=time.monotonic)

    @property
    def body_text(self) -> str:
        """Everything the call carried, as one string (to look for leaked text)."""
        return json.dumps(self.args, ensure_ascii=False)


@dataclass
class FakeFile:
    name: str
    content: bytes
    mimetype: str = "text/plain"
    filetype: str = "text"


class FakeSlack:
    """Start with `with FakeSlack() as slack:`; `slack.api_url` goes into SLACK_API_URL."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.files: dict[str, FakeFile] = {}
        self._failures: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self._answers: dict[str, dict[str, Any]] = {}
        # What apps.connections.open hands out (a FakeSocketMode's url), for Socket Mode.
        self.socket_mode_url = ""
        self._lock = threading.Condition()
        self._ts = 1_700_000_000
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle --

    def __enter__(self) -> FakeSlack:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    @property
    def api_url(self) -> str:
        return self.url + "api/"

    def response_url(self, name: str) -> str:
        """A response URL that records what is posted to it under `name`."""
        return self.url + "respond/" + name

    # -- set-up --

    def add_file(self, file_id: str, file: FakeFile) -> None:
        self.files[file_id] = file

    def fail(self, method: str, status: int, times: int = 1, retry_after: int = 1) -> None:
        """Answer `method` with HTTP `status` the next `times` calls."""
        headers = {"Retry-After": str(retry_after)} if status == 429 else {}
        self._failures.setdefault(method, []).extend([(status, headers)] * times)

    def answer(self, method: str, payload: dict[str, Any]) -> None:
        """Answer `method` with this JSON from now on (for example an ok: false error)."""
        self._answers[method] = payload

    # -- reading what happened --

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def wait_for(
        self, match: Callable[[Call], bool], count: int = 1, timeout: float = 10.0
    ) -> list[Call]:
        """The calls that satisfy `match`, once there are `count` of them (or the timeout)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [call for call in self.calls if match(call)]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self._lock.wait(left)

    def posts(self, channel: str) -> list[Call]:
        """The chat.postMessage calls to `channel` so far."""
        return [c for c in self.calls_to("chat.postMessage") if c.args.get("channel") == channel]

    # -- the server --

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()

    def _next_ts(self) -> str:
        with self._lock:
            self._ts += 1
            return f"{self._ts}.000100"

    def _reply(self, method: str, args: dict[str, Any], token: str = "") -> dict[str, Any]:
        if method in self._answers:
            return self._answers[method]
        if method == "apps.connections.open":
            # Slack wants the app-level token here, and refuses the bot token.
            if not token.startswith("xapp-"):
                return {"ok": False, "error": "not_allowed_token_type"}
            if not self.socket_mode_url:
                return {"ok": False, "error": "fake_no_socket_mode_server"}
            return {"ok": True, "url": self.socket_mode_url}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.example/",
                "team": "Fake",
                "user": "ftpcode",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
            }
        if method in ("chat.postMessage", "chat.postEphemeral"):
            return {"ok": True, "channel": args.get("channel"), "ts": self._next_ts()}
        if method == "files.info":
            file_id = str(args.get("file", ""))
            file = self.files.get(file_id)
            if file is None:
                return {"ok": False, "error": "file_not_found"}
            return {
                "ok": True,
                "file": {
                    "id": file_id,
                    "name": file.name,
                    "title": file.name,
                    "mimetype": file.mimetype,
                    "filetype": file.filetype,
                    "size": len(file.content),
                    "url_private": self.url + "files/" + file_id,
                    "url_private_download": self.url + "files/" + file_id + "?download=1",
                },
            }
        return {"ok": True}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, status: int, body: bytes, kind: str, extra: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _args(self) -> dict[str, Any]:
                parsed = urllib.parse.urlsplit(self.path)
                args: dict[str, Any] = dict(urllib.parse.parse_qsl(parsed.query))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if raw:
                    if "json" in (self.headers.get("Content-Type") or ""):
                        args.update(json.loads(raw))
                    else:
                        args.update(urllib.parse.parse_qsl(raw.decode()))
                for key in ("blocks", "view"):
                    if isinstance(args.get(key), str):
                        args[key] = json.loads(args[key])
                return args

            def _token(self) -> str:
                auth = self.headers.get("Authorization") or ""
                return auth.removeprefix("Bearer ").strip()

            def do_GET(self) -> None:
                self._dispatch()

            def do_POST(self) -> None:
                self._dispatch()

            def _dispatch(self) -> None:
                path = urllib.parse.urlsplit(self.path).path
                args = self._args()
                if path.startswith("/files/"):
                    self._file(path.removeprefix("/files/"), args)
                    return
                if path.startswith("/respond/"):
                    fake._record(Call("response_url", args, self._token(), path))
                    self._send(200, b"ok", "text/plain", {})
                    return
                method = path.removeprefix("/api/")
                fake._record(Call(method, args, self._token(), path))
                failures = fake._failures.get(method)
                if failures:
                    status, headers = failures.pop(0)
                    body = json.dumps({"ok": False, "error": f"fake_{status}"}).encode()
                    self._send(status, body, "application/json", headers)
                    return
                body = json.dumps(fake._reply(method, args, self._token())).encode()
                self._send(200, body, "application/json; charset=utf-8", {})

            def _file(self, file_id: str, args: dict[str, Any]) -> None:
                fake._record(Call("file", {"id": file_id, **args}, self._token(), self.path))
                file = fake.files.get(file_id)
                if file is None:
                    self._send(404, b"not found", "text/plain", {})
                elif not self._token().startswith("xoxb-"):
                    # Slack shows its sign-in page to a request without the bot token.
                    self._send(200, b"<!DOCTYPE html><html>sign in</html>", "text/html", {})
                else:
                    self._send(200, file.content, file.mimetype, {})

        return Handler
