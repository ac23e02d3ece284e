"""A small forward proxy, as a corporate network has, for tests (stdlib only).

It forwards absolute-URI requests (`POST http://host:port/path HTTP/1.1`, what an HTTP
client sends to a proxy for an `http://` address) and opens CONNECT tunnels (what a client
does for TLS, slack-sdk's Socket Mode client included), and records every request line
and CONNECT target. With `credentials` it demands Basic proxy authentication (407
otherwise), as many corporate proxies do. It only ever connects to 127.0.0.1.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_HOP_BY_HOP = frozenset(
    (
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
    )
)
_ALLOWED_HOSTS = frozenset(("127.0.0.1", "localhost"))
UPSTREAM_TIMEOUT_SECONDS = 30


@dataclass
class ProxyRequest:
    """One request the proxy got: `target` is the absolute URI, or host:port for CONNECT."""

    method: str
    target: str
    authorized: bool
    status: int = 0
    at: float = field(default_factory=time.monotonic)

    @property
    def path(self) -> str:
        """The path of an absolute-URI request ("" for CONNECT)."""
        return urllib.parse.urlsplit(self.target).path if self.method != "CONNECT" else ""


class FakeProxy:
    """Start with `with FakeProxy() as proxy:`; `proxy.url` goes into HTTPS_PROXY."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.requests: list[ProxyRequest] = []
        self._credentials = credentials
        self._lock = threading.Condition()
        self._tunnels: set[socket.socket] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        with self._lock:
            tunnels = list(self._tunnels)
        for sock in tunnels:  # wakes the pumps of tunnels still open; they close their ends
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join(10)

    @property
    def url(self) -> str:
        """The proxy's URL, with the credentials when it demands them."""
        host, port = self._server.server_address[:2]
        if self._credentials is None:
            return f"http://{host!s}:{port}"
        user, password = (urllib.parse.quote(part, safe="") for part in self._credentials)
        return f"http://{user}:{password}@{host!s}:{port}"

    def seen(self, match: Callable[[ProxyRequest], bool]) -> list[ProxyRequest]:
        with self._lock:
            return [request for request in self.requests if match(request)]

    def wait_for(
        self, match: Callable[[ProxyRequest], bool], count: int = 1, timeout: float = 30.0
    ) -> list[ProxyRequest]:
        """The requests that satisfy `match`, once there are `count` of them (or the timeout)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [request for request in self.requests if match(request)]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self._lock.wait(left)

    def _record(self, request: ProxyRequest) -> None:
        with self._lock:
            self.requests.append(request)
            self._lock.notify_all()

    def _authorized(self, header: str | None) -> bool:
        if self._credentials is None:
            return True
        scheme, _, value = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except ValueError:
            return False
        return given == ":".join(self._credentials)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _refuse(self, request: ProxyRequest, status: int, reason: str) -> None:
                request.status = status
                self.send_response(status, reason)
                if status == 407:
                    self.send_header("Proxy-Authenticate", 'Basic realm="fake-proxy"')
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True

            def _admit(self) -> ProxyRequest | None:
                """Record the request; None (after answering) when it may not pass."""
                authorized = proxy._authorized(self.headers.get("Proxy-Authorization"))
                request = ProxyRequest(self.command, self.path, authorized)
                proxy._record(request)
                if not authorized:
                    self._refuse(request, 407, "Proxy Authentication Required")
                    return None
                return request

            def do_CONNECT(self) -> None:
                request = self._admit()
                if request is None:
                    return
                host, _, port = self.path.rpartition(":")
                if host.strip("[]") not in _ALLOWED_HOSTS or not port.isdigit():
                    self._refuse(request, 403, "Forbidden")
                    return
                try:
                    upstream = socket.create_connection((host, int(port)), 10)
                except OSError:
                    self._refuse(request, 502, "Bad Gateway")
                    return
                upstream.settimeout(None)
                request.status = 200
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                self.close_connection = True
                with proxy._lock:
                    proxy._tunnels.update((upstream, self.connection))
                try:
                    self._pump(upstream)
                finally:
                    with proxy._lock:
                        proxy._tunnels.discard(upstream)
                        proxy._tunnels.discard(self.connection)
                    upstream.close()

            def _pump(self, upstream: socket.socket) -> None:
                """Copy bytes both ways until both sides are done."""
                client = self.connection

                def down() -> None:
                    with contextlib.suppress(OSError):
                        while data := upstream.recv(65536):
                            client.sendall(data)
                    with contextlib.suppress(OSError):
                        client.shutdown(socket.SHUT_WR)

                thread = threading.Thread(target=down, daemon=True)
                thread.start()
                with contextlib.suppress(OSError, ValueError):
                    # read1 first hands over whatever the request parser already buffered
                    while data := self.rfile.read1(65536):
                        upstream.sendall(data)
                with contextlib.suppress(OSError):
                    upstream.shutdown(socket.SHUT_WR)
                thread.join()

            def _forward(self) -> None:
                request = self._admit()
                if request is None:
                    return
                parts = urllib.parse.urlsplit(self.path)
                if parts.scheme != "http" or parts.hostname not in _ALLOWED_HOSTS:
                    self._refuse(request, 403, "Forbidden")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {
                    name: value
                    for name, value in self.headers.items()
                    if name.lower() not in _HOP_BY_HOP
                }
                path = parts.path + ("?" + parts.query if parts.query else "")
                upstream = http.client.HTTPConnection(
                    parts.hostname, parts.port or 80, timeout=UPSTREAM_TIMEOUT_SECONDS
                )
                try:
                    upstream.request(self.command, path or "/", body=body, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                    status, reason = response.status, response.reason
                    answer_headers = response.getheaders()
                except OSError:
                    self._refuse(request, 502, "Bad Gateway")
                    return
                finally:
                    upstream.close()
                request.status = status
                self.send_response(status, reason)
                for name, value in answer_headers:
                    if name.lower() not in _HOP_BY_HOP and name.lower() not in ("date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

        return Handler
