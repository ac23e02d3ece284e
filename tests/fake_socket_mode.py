"""A local stand-in for Slack's Socket Mode WebSocket server, for tests (stdlib only).

It speaks just enough RFC 6455 for slack-sdk's builtin client: the opening handshake with
Sec-WebSocket-Accept, unmasked text frames from the server, masked frames from the client,
a pong for every ping, and the closing handshake. Like Slack it greets every connection
with `{"type": "hello", ...}`, pushes envelopes (`events_api`, `slash_commands`,
`interactive`) and records the acks the client sends back (`{"envelope_id": ...}`); it can
also ask the client to reconnect (`{"type": "disconnect"}`), as Slack does before it
moves a connection. With an `ssl.SSLContext` it serves `wss://` (what slack-sdk's client
speaks once it has tunnelled through a proxy). Nothing here talks to Slack.

What slack-sdk's builtin client (slack_sdk/socket_mode/builtin) does, read from its source:
- `ws://` works: without a proxy, any port but 443 gets a plain TCP socket (for `wss://`
  too: "only for library testing"); through a proxy it opens a CONNECT tunnel and always
  wraps it in TLS, so behind a proxy only a `wss://` server can be reached.
- It needs no hello (it ignores messages without an envelope_id), pings right after the
  handshake and then every ping interval (10 s under Bolt), and drops a connection whose
  pongs stopped for four intervals.
- It cannot read masked server frames (its unmasking code is broken), so the server never
  masks, as RFC 6455 requires anyway.
- It reconnects at once on `{"type": "disconnect"}`; after a close frame or a failed
  handshake its monitor reconnects within a ping interval, each time with a fresh URL from
  apps.connections.open. `connect()` returns even when the handshake failed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.slack_events import APP_ID, block_actions, event_callback, slash_command

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PATH = "/link"
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CLOSE_NORMAL, CLOSE_PROTOCOL_ERROR = 1000, 1002
HANDSHAKE_LIMIT = 16 * 1024
HANDSHAKE_TIMEOUT_SECONDS = 10.0


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept answer to a client's Sec-WebSocket-Key (RFC 6455, 4.2.2)."""
    digest = hashlib.sha1((key.strip() + WEBSOCKET_GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def encode_frame(opcode: int, payload: bytes, mask: bytes | None = None) -> bytes:
    """One final frame; masked with `mask` (4 bytes) as a client must, unmasked as a server."""
    first = 0x80 | opcode
    mask_bit = 0x80 if mask is not None else 0
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", first, mask_bit | size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", first, mask_bit | 126, size)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, size)
    if mask is None:
        return header + payload
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class ProtocolError(Exception):
    """The client broke RFC 6455 (for example an unmasked frame)."""


@dataclass
class Frame:
    opcode: int
    payload: bytes
    fin: bool = True


@dataclass
class Connection:
    """One WebSocket connection a client opened; `closed` once it ended, either way."""

    number: int
    path: str
    headers: dict[str, str]
    sock: socket.socket
    opened: float = field(default_factory=time.monotonic)
    pings: int = 0
    close_code: int | None = None
    closed: threading.Event = field(default_factory=threading.Event)
    _send_lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, opcode: int, payload: bytes) -> None:
        with self._send_lock:
            self.sock.sendall(encode_frame(opcode, payload))

    def send_json(self, message: dict[str, Any]) -> None:
        self.send(OP_TEXT, json.dumps(message).encode("utf-8"))


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the client closed the connection")
        data += chunk
    return data


def read_frame(sock: socket.socket) -> Frame:
    """The next frame a client sent, unmasked; ProtocolError when it was not masked."""
    first, second = _read_exactly(sock, 2)
    size = second & 0x7F
    if size == 126:
        (size,) = struct.unpack("!H", _read_exactly(sock, 2))
    elif size == 127:
        (size,) = struct.unpack("!Q", _read_exactly(sock, 8))
    if not second & 0x80:
        raise ProtocolError("a client frame was not masked")
    mask = _read_exactly(sock, 4)
    data = _read_exactly(sock, size)
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    return Frame(opcode=first & 0x0F, payload=payload, fin=bool(first & 0x80))


class FakeSocketMode:
    """Start with `with FakeSocketMode() as socket_mode:`; give `socket_mode.url` to
    FakeSlack (`slack.socket_mode_url`), which hands it out from apps.connections.open."""

    def __init__(self, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self.connections: list[Connection] = []
        self.messages: list[dict[str, Any]] = []  # every text frame the clients sent
        self.acks: dict[str, dict[str, Any]] = {}  # envelope_id -> the client's ack
        self.refused: list[str] = []  # handshakes refused, and why
        self._tls = tls
        self._lock = threading.Condition()
        self._ids = itertools.count(1)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.2)
        self._accepter = threading.Thread(target=self._accept, name="fake-socket-mode", daemon=True)

    # -- lifecycle --

    def __enter__(self) -> FakeSocketMode:
        self._accepter.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._accepter.join(10)
        self._listener.close()
        with self._lock:
            connections = list(self.connections)
        for connection in connections:
            self._drop(connection)
        for thread in list(self._threads):
            thread.join(10)

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        scheme = "wss" if self._tls is not None else "ws"
        return f"{scheme}://{host}:{port}{PATH}"

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    # -- reading what happened --

    def wait_for_connection(self, count: int = 1, timeout: float = 30.0) -> Connection | None:
        """The `count`-th connection that completed the handshake and got its hello."""
        found = self._wait(lambda: len(self.connections) >= count, timeout)
        return self.connections[count - 1] if found else None

    def wait_for_ack(self, envelope_id: str, timeout: float = 30.0) -> dict[str, Any] | None:
        """The client's ack of `envelope_id`, once it arrived (None after the timeout)."""
        self._wait(lambda: envelope_id in self.acks, timeout)
        return self.acks.get(envelope_id)

    def wait_for_ping(self, connection: Connection, timeout: float = 30.0) -> bool:
        """Whether the client has pinged on `connection` (each ping got its pong)."""
        return self._wait(lambda: connection.pings > 0, timeout)

    def live(self) -> Connection:
        """The newest connection that is still open (what Slack would push on)."""
        with self._lock:
            for connection in reversed(self.connections):
                if not connection.closed.is_set():
                    return connection
        raise RuntimeError("no client is connected")

    def _wait(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    # -- what Slack sends --

    def push(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        envelope_id: str | None = None,
        **extra: Any,
    ) -> str:
        """Send one envelope on the live connection; returns its envelope_id."""
        envelope_id = envelope_id or f"fake-envelope-{next(self._ids):06d}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
            "payload": payload,
            **extra,
        }
        self.live().send_json(envelope)
        return envelope_id

    def event(self, event: dict[str, Any], *, event_id: str | None = None, retry: int = 0) -> str:
        """An Events API envelope carrying `event`; a retry repeats the same event_id."""
        body = event_callback(event, event_id or f"EvSOCK{next(self._ids):06d}")
        extra: dict[str, Any] = {"retry_attempt": retry, "retry_reason": "timeout" if retry else ""}
        return self.push("events_api", body, **extra)

    def command(self, text: str, *, channel: str, response_url: str, user: str = "UASKER01") -> str:
        """A `/ftpcode TEXT` slash command envelope."""
        payload = slash_command(text, channel, response_url, user)
        return self.push("slash_commands", payload, accepts_response_payload=True)

    def action(
        self,
        action_id: str,
        value: str,
        *,
        channel: str,
        response_url: str,
        user: str = "UASKER01",
    ) -> str:
        """A click on one of the bot's buttons (an `interactive` envelope)."""
        payload = block_actions(action_id, value, channel, response_url, user)
        return self.push("interactive", payload, accepts_response_payload=True)

    def ask_to_reconnect(self) -> None:
        """Slack's `disconnect` message: the client should open a new connection."""
        self.live().send_json(
            {"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "fake"}}
        )

    # -- the server --

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, raw: socket.socket) -> None:
        sock: socket.socket = raw
        try:
            raw.settimeout(HANDSHAKE_TIMEOUT_SECONDS)
            if self._tls is not None:
                sock = self._tls.wrap_socket(raw, server_side=True)
            connection = self._handshake(sock)
            if connection is None:
                return
            sock.settimeout(None)
            self._run(connection)
        except (OSError, ConnectionError, ssl.SSLError) as exc:
            with self._lock:
                self.refused.append(f"{type(exc).__name__}: {exc}")
                self._lock.notify_all()
        finally:
            sock.close()
            if sock is not raw:
                raw.close()

    def _handshake(self, sock: socket.socket) -> Connection | None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = sock.recv(1024)
            if not chunk or len(request) > HANDSHAKE_LIMIT:
                return None
            request += chunk
        head = request.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        request_line, *lines = head.split("\r\n")
        headers: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        method, target, _version = [*request_line.split(" "), "", "", ""][:3]
        path = target.split("?", 1)[0]
        problem = ""
        if method != "GET" or path != PATH:
            problem = f"no WebSocket here: {request_line}"
        elif headers.get("upgrade", "").lower() != "websocket":
            problem = "no Upgrade: websocket"
        elif "upgrade" not in headers.get("connection", "").lower():
            problem = "no Connection: Upgrade"
        elif headers.get("sec-websocket-version") != "13" or not headers.get("sec-websocket-key"):
            problem = "no Sec-WebSocket-Key or version 13"
        if problem:
            sock.sendall(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            with self._lock:
                self.refused.append(problem)
                self._lock.notify_all()
            return None
        sock.sendall(
            (
                "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept_key(headers['sec-websocket-key'])}\r\n"
                "\r\n"
            ).encode("ascii")
        )
        with self._lock:
            connection = Connection(len(self.connections) + 1, target, headers, sock)
            connection.send_json(
                {
                    "type": "hello",
                    "num_connections": len(self.connections) + 1,
                    "debug_info": {
                        "host": "fake-socket-mode",
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": APP_ID},
                }
            )
            self.connections.append(connection)
            self._lock.notify_all()
        return connection

    def _run(self, connection: Connection) -> None:
        sock = connection.sock
        fragments: list[bytes] = []
        try:
            while True:
                try:
                    frame = read_frame(sock)
                except ProtocolError:
                    self._close(connection, CLOSE_PROTOCOL_ERROR)
                    return
                if frame.opcode == OP_PING:
                    connection.send(OP_PONG, frame.payload)
                    with self._lock:
                        connection.pings += 1
                        self._lock.notify_all()
                elif frame.opcode == OP_CLOSE:
                    code = struct.unpack("!H", frame.payload[:2])[0] if frame.payload else 1005
                    connection.close_code = code
                    self._close(connection, CLOSE_NORMAL)
                    return
                elif frame.opcode in (OP_TEXT, OP_CONTINUATION):
                    fragments.append(frame.payload)
                    if frame.fin:
                        self._received(b"".join(fragments))
                        fragments = []
        except (OSError, ConnectionError):
            return
        finally:
            connection.closed.set()
            with self._lock:
                self._lock.notify_all()

    def _received(self, data: bytes) -> None:
        try:
            message = json.loads(data.decode("utf-8"))
        except ValueError:
            message = {"unparsed": data.decode("utf-8", errors="replace")}
        with self._lock:
            self.messages.append(message)
            if isinstance(message, dict) and "envelope_id" in message:
                self.acks.setdefault(str(message["envelope_id"]), message)
            self._lock.notify_all()

    def _close(self, connection: Connection, code: int) -> None:
        with contextlib.suppress(OSError):
            connection.send(OP_CLOSE, struct.pack("!H", code))

    def _drop(self, connection: Connection) -> None:
        """End a connection from the server's side (the client sees the socket close)."""
        if connection.closed.is_set():
            return
        self._close(connection, 1001)
        with contextlib.suppress(OSError):
            connection.sock.shutdown(socket.SHUT_RDWR)
