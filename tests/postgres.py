"""A throwaway PostgreSQL server for the tests: Debian's binaries, a cluster in a temp dir.

`start()` finds `initdb` and `pg_ctl` (on PATH or under /usr/lib/postgresql/*/bin, where
Debian's `postgresql` package puts them; `scripts/setup --dev` installs it), creates a
cluster owned by the current user or, when running as root (PostgreSQL refuses to), by the
`postgres` user (else `nobody`), and starts it on 127.0.0.1 at a free port with trust
authentication and without fsync. Each test gets a database of its own (`new_database`,
a schema of the tests' database, which is faster to make than a PostgreSQL database);
`stop()` shuts the server down and deletes the cluster. Anything that goes wrong raises
`PostgresUnavailableError` with what was tried and the server's log, for the test to fail on.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import psycopg
from psycopg import sql

SUPERUSER = "ftpcode"
DATABASE = "ftpcode_tests"
_SERVER_SETTINGS = {
    # A throwaway cluster: durability buys nothing and costs start-up and test time.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "200",
    "log_min_messages": "warning",
}
_PREFIX = "ftpcode-pg-"  # the temp directories holding the clusters
_OWNER = "owner.pid"  # in each: the test process that started the cluster
_START_ATTEMPTS = 3  # a free port can be taken by someone else between probe and start


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server could be found or started for the tests."""


def find_bin_dir() -> Path:
    """The directory holding `initdb` and `pg_ctl`: PATH first, then the newest Debian version."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda d: [int(p) if p.isdigit() else 0 for p in Path(d).parent.name.split(".")],
        reverse=True,
    )
    for directory in candidates:
        if (Path(directory) / "initdb").is_file() and (Path(directory) / "pg_ctl").is_file():
            return Path(directory)
    raise PostgresUnavailableError(
        "PostgreSQL not found: no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin. "
        "Install it with `scripts/setup --dev` (Debian package `postgresql`)."
    )


def _server_user() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as, or None to run it as ourselves."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise PostgresUnavailableError("running as root and neither a `postgres` nor a `nobody` user")


def _as_user(user: pwd.struct_passwd | None, argv: Sequence[str]) -> list[str]:
    if user is None:
        return list(argv)
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", user.pw_name, "--", *argv]
    setpriv = shutil.which("setpriv")
    if setpriv:
        ids = [f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
        return [setpriv, *ids, "--", *argv]
    raise PostgresUnavailableError("running as root, and neither runuser nor setpriv to drop it")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresServer:
    """A running throwaway cluster; `new_database()` gives each test an empty database."""

    def __init__(self, bin_dir: Path, root: Path, user: pwd.struct_passwd | None) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.sockets = root / "sockets"
        self.log = root / "server.log"
        self.user = user
        self.port = 0
        self._names = itertools.count(1)

    def _run(self, *argv: str, timeout: float = 60) -> None:
        command = _as_user(self.user, argv)
        try:
            done = subprocess.run(
                command,
                cwd=self.root,  # the server user may not be allowed into ours
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                env={**os.environ, "LC_ALL": "C.UTF-8", "TZ": "UTC"},
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PostgresUnavailableError(
                f"{' '.join(command)}: {exc}\n{self.log_tail()}"
            ) from exc
        if done.returncode != 0:
            raise PostgresUnavailableError(
                f"{' '.join(command)} exited {done.returncode}:\n"
                f"{done.stdout}{done.stderr}{self.log_tail()}"
            )

    def log_tail(self, lines: int = 20) -> str:
        """The end of the server's log, for error messages."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "server log:\n" + "\n".join(text.splitlines()[-lines:])

    def init(self) -> None:
        """Create the cluster: a superuser without password, trusted from this machine only."""
        self.sockets.mkdir()
        if self.user is not None:
            for path in (self.root, self.sockets):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)
        self._run(
            str(self.bin_dir / "initdb"),
            f"--pgdata={self.data}",
            f"--username={SUPERUSER}",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )

    def start(self) -> None:
        """Start the server on a free port of 127.0.0.1; wait until it accepts connections."""
        last: PostgresUnavailableError | None = None
        for _ in range(_START_ATTEMPTS):
            self.port = _free_port()
            settings = {
                **_SERVER_SETTINGS,
                "listen_addresses": "127.0.0.1",
                "port": str(self.port),
                "unix_socket_directories": str(self.sockets),
            }
            options = " ".join(f"-c {key}={value}" for key, value in settings.items())
            try:
                self._run(
                    str(self.bin_dir / "pg_ctl"),
                    "start",
                    f"--pgdata={self.data}",
                    f"--log={self.log}",
                    f"--options={options}",
                    "--wait",
                    "--timeout=60",
                    timeout=90,
                )
            except PostgresUnavailableError as exc:
                last = exc
                continue
            return
        assert last is not None
        raise last

    def create_database(self) -> None:
        """Create the tests' database, owned by the superuser the tests connect as."""
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))

    def stop(self) -> None:
        """Stop the server at once (nothing in it is worth a clean shutdown)."""
        if self.data.is_dir():
            with contextlib.suppress(PostgresUnavailableError):
                self._run(
                    str(self.bin_dir / "pg_ctl"),
                    "stop",
                    f"--pgdata={self.data}",
                    "--mode=immediate",
                    "--wait",
                )

    def url(self, schema: str = "public") -> str:
        """The SQLAlchemy URL (psycopg 3) of the tests' database, with `schema` first on the
        search path: what a Store creates and reads there is that schema's alone."""
        return (
            f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"
            f"?options=-csearch_path%3D{schema}"
        )

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        """An autocommit superuser connection to the tests' database."""
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=DATABASE, autocommit=True
        )

    def new_database(self) -> str:
        """The URL of an empty database of one's own: a new schema in the tests' database
        (a schema costs a millisecond, a CREATE DATABASE a quarter of a second)."""
        name = f"test_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop what `new_database` created for `url`, tables and all."""
        name = url.rsplit("%3D", 1)[1]
        with self.admin() as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_orphans(bin_dir: Path, user: pwd.struct_passwd | None) -> None:
    """Stop and delete clusters left by test sessions that were killed before their clean-up."""
    for owner in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*/{_OWNER}"):
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            continue
        if not _alive(pid):
            PostgresServer(bin_dir, owner.parent, user).stop()
            shutil.rmtree(owner.parent, ignore_errors=True)


def start() -> PostgresServer:
    """Create and start a throwaway cluster; PostgresUnavailableError says why when it cannot."""
    bin_dir = find_bin_dir()
    user = _server_user()
    _remove_orphans(bin_dir, user)
    root = Path(tempfile.mkdtemp(prefix=_PREFIX))
    (root / _OWNER).write_text(str(os.getpid()))
    server = PostgresServer(bin_dir, root, user)
    try:
        server.init()
        server.start()
        server.create_database()
    except BaseException:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server


def stop(server: PostgresServer) -> None:
    """Stop the server and delete its cluster."""
    server.stop()
    shutil.rmtree(server.root, ignore_errors=True)
