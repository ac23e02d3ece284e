"""Fixtures several test modules may share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import postgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[postgres.PostgresServer]:
    """A throwaway PostgreSQL server for the session; the test fails, never skips, without one."""
    try:
        server = postgres.start()
    except postgres.PostgresUnavailableError as exc:
        pytest.fail(f"PostgreSQL is needed for this test and could not be started: {exc}")
    try:
        yield server
    finally:
        postgres.stop(server)


@pytest.fixture
def postgres_url(postgres_server: postgres.PostgresServer) -> Iterator[str]:
    """An empty database of its own on the session's PostgreSQL server, dropped afterwards."""
    url = postgres_server.new_database()
    yield url
    postgres_server.drop_database(url)
