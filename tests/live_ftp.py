"""A throwaway pyftpdlib server on 127.0.0.1 for the live log test; prints its port."""

from __future__ import annotations

import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer


def main() -> None:
    home = sys.argv[1]
    authorizer = DummyAuthorizer()
    authorizer.add_user("alice", "right-pass", home, perm="elr")
    handler = FTPHandler
    handler.authorizer = authorizer
    handler.auth_failed_timeout = 0  # answer a bad password at once
    server = FTPServer(("127.0.0.1", 0), handler)
    print(server.socket.getsockname()[1], flush=True)
    server.serve_forever(timeout=0.5, blocking=True)


if __name__ == "__main__":
    main()
