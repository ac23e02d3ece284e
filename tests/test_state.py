"""The state store (bot/state.py): what the bot remembers, shared safely between replicas."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from bot import state
from bot.state import CodeCount, FeedbackTally, Store
from tests.postgres import PostgresServer

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BACKENDS = ["sqlite", "postgresql"]
T = TypeVar("T")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database that survives its Store objects: a SQLite file, or a PostgreSQL database."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return f"sqlite:///{tmp_path / 'nested' / 'state.sqlite3'}"


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, clock: Clock) -> Iterator[Store]:
    """One bot's store: in-memory SQLite, or a PostgreSQL database of its own."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else "sqlite://"
    with Store(url, clock=clock) as s:
        yield s


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "state.sqlite3"


@pytest.fixture
def replicas(db_url: str, clock: Clock) -> Iterator[tuple[Store, Store]]:
    """Two replicas of the bot: two Store objects, two engines, one database."""
    with Store(db_url, clock=clock) as first, Store(db_url, clock=clock) as second:
        yield first, second


def _race(stores: Sequence[Store], work: Callable[[Store], T], threads: int = 8) -> list[T]:
    """Run `work` in `threads` threads spread over `stores`, all let go at once; their results.
    An exception in any thread fails the test."""
    results: list[T] = []
    errors: list[BaseException] = []
    guard = threading.Lock()
    barrier = threading.Barrier(threads)

    def worker(store: Store) -> None:
        barrier.wait()
        try:
            result = work(store)
        except BaseException as exc:
            with guard:
                errors.append(exc)
            return
        with guard:
            results.append(result)

    pool = [
        threading.Thread(target=worker, args=(stores[i % len(stores)],)) for i in range(threads)
    ]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
    return results


def _db_bytes(db_file: Path) -> bytes:
    # The database and its write-ahead log: a secret must be in neither.
    return b"".join(p.read_bytes() for p in sorted(db_file.parent.glob(db_file.name + "*")))


# --- configuration ---


def test_default_database_is_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    """Without FTPCODE_DB the state lives in $XDG_DATA_HOME/ftpcode/state.sqlite3."""
    url = state.database_url({"XDG_DATA_HOME": str(tmp_path)})
    assert url == f"sqlite:///{tmp_path}/ftpcode/state.sqlite3"


def test_ftpcode_db_names_the_database() -> None:
    """FTPCODE_DB, when set, is the database URL as given."""
    env = {"FTPCODE_DB": "postgresql://bot@db.example.com/ftpcode"}
    assert state.database_url(env) == "postgresql://bot@db.example.com/ftpcode"


def test_database_file_and_its_directory_are_created_on_first_use(
    db_file: Path, clock: Clock
) -> None:
    """A SQLite file whose directory does not exist yet is created by the first call."""
    with Store(f"sqlite:///{db_file}", clock=clock) as s:
        assert not db_file.exists()
        assert s.claim_event("Ev1")
    assert db_file.is_file()


def test_retention_defaults_to_30_days_and_is_admin_settable() -> None:
    """FTPCODE_RETENTION_DAYS sets the retention period; unset it is 30 days."""
    assert state.retention({}) == timedelta(days=30)
    assert state.retention({"FTPCODE_RETENTION_DAYS": "7"}) == timedelta(days=7)


@pytest.mark.parametrize("bad", ["0", "-3", "two", "1.5"])
def test_retention_rejects_nonsense(bad: str) -> None:
    """A retention that is not a whole number of days from 1 up is refused, not guessed."""
    with pytest.raises(ValueError, match="FTPCODE_RETENTION_DAYS"):
        state.retention({"FTPCODE_RETENTION_DAYS": bad})


# --- de-duplication ---


def test_an_event_is_claimed_once(store: Store) -> None:
    """Slack's retry of an event finds it already claimed."""
    assert store.claim_event("Ev123")
    assert not store.claim_event("Ev123")
    assert store.claim_event("Ev456")


def test_a_message_is_claimed_once_whatever_its_event(store: Store) -> None:
    """An @mention delivered as message and app_mention is claimed by the first only."""
    assert store.claim_event("EvMessage") and store.claim_message("C1", "1700000000.000100")
    assert store.claim_event("EvMention") and not store.claim_message("C1", "1700000000.000100")
    assert store.claim_message("C2", "1700000000.000100")


def test_only_one_replica_claims_an_event(replicas: tuple[Store, Store]) -> None:
    """Two replicas sharing a database: the event is claimed by exactly one of them."""
    first, second = replicas
    assert first.claim_event("Ev1")
    assert not second.claim_event("Ev1")
    assert second.claim_message("C1", "1.2")
    assert not first.claim_message("C1", "1.2")


def test_racing_replicas_claim_each_event_once(replicas: tuple[Store, Store]) -> None:
    """Threads on two replicas racing for the same events win each event exactly once."""
    wins = _race(replicas, lambda s: [f"Ev{n}" for n in range(20) if s.claim_event(f"Ev{n}")])
    assert sorted(w for won in wins for w in won) == sorted(f"Ev{n}" for n in range(20))


def test_racing_replicas_claim_each_message_once(replicas: tuple[Store, Store]) -> None:
    """An @mention's two deliveries handled by two replicas at once: one reply per message."""
    messages = [("C1", f"1700000000.{n:06d}") for n in range(20)]
    wins = _race(replicas, lambda s: [m for m in messages if s.claim_message(*m)])
    assert sorted(m for won in wins for m in won) == messages


def test_replicas_starting_together_create_the_schema_once(db_url: str, clock: Clock) -> None:
    """Replicas starting at once on an empty database all work, and one claims the event."""
    stores = [Store(db_url, clock=clock) for _ in range(6)]
    try:
        claims = _race(stores, lambda s: s.claim_event("EvFirst"), threads=6)
    finally:
        for s in stores:
            s.close()
    assert sorted(claims) == [False] * 5 + [True]


@pytest.mark.parametrize(
    "event_id",
    ["Ev" + "x" * 400, "Ev\x00nul", "Ev\udcffbad", "Ev:with:colons"],
    ids=["too-long", "nul", "lone-surrogate", "colons"],
)
def test_any_event_id_is_claimed_once(store: Store, event_id: str) -> None:
    """An event id too long for the key column or with odd characters is claimed once, and
    apart from its look-alikes."""
    assert store.claim_event(event_id)
    assert not store.claim_event(event_id)
    assert store.claim_event(event_id[:-1])
    assert store.claim_message("C1", event_id)


# --- thread context ---


def test_thread_context_is_remembered(store: Store) -> None:
    """What the bot established in a thread comes back: summary and codes in answer order."""
    assert store.context("C1", "1.1") is None
    store.remember("C1", "1.1", "553 on upload: file name not allowed", ["ftp/553"])
    store.remember("C1", "1.1", "then 10060 on the data connection", ["winsock/10060", "ftp/553"])
    ctx = store.context("C1", "1.1")
    assert ctx is not None
    assert ctx.summary == "then 10060 on the data connection"
    assert ctx.codes == ("ftp/553", "winsock/10060")
    assert ctx.updated_at == START
    assert store.context("C1", "2.2") is None


def test_codes_are_never_answered_twice_in_a_thread(store: Store) -> None:
    """The codes answered in a thread are known, per thread."""
    store.remember("C1", "1.1", "first answer", ["ftp/553", "ftp/550"])
    assert store.codes_answered_in_thread("C1", "1.1") == {"ftp/553", "ftp/550"}
    assert store.codes_answered_in_thread("C1", "9.9") == set()
    assert store.codes_answered_in_thread("C2", "1.1") == set()


def test_secrets_are_never_stored(db_file: Path, clock: Clock) -> None:
    """A password pasted in a thread is masked before it reaches the database file."""
    with Store(f"sqlite:///{db_file}", clock=clock) as s:
        s.remember("C1", "1.1", "> USER alice\n> PASS hunter2-test\n< 530 Login incorrect", [])
        ctx = s.context("C1", "1.1")
        assert ctx is not None
        assert "hunter2-test" not in ctx.summary
        assert "530 Login incorrect" in ctx.summary
        assert b"hunter2-test" not in _db_bytes(db_file)
    assert b"hunter2-test" not in _db_bytes(db_file)


def test_private_keys_are_never_stored(store: Store) -> None:
    """A pasted private key is masked whole, body included, not just its header."""
    text = (
        "key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-test\n"
        "-----END OPENSSH PRIVATE KEY-----\nthen ssh said Permission denied (publickey)"
    )
    store.remember("C1", "1.1", text, ["ssh/auth"])
    ctx = store.context("C1", "1.1")
    assert ctx is not None
    assert "b3BlbnNzaC1rZXktdjEAAAAA-test" not in ctx.summary
    assert "Permission denied (publickey)" in ctx.summary


def test_thread_summary_is_short(store: Store) -> None:
    """A huge paste is not kept whole as thread context."""
    store.remember("C1", "1.1", "x" * 100_000, [])
    ctx = store.context("C1", "1.1")
    assert ctx is not None and len(ctx.summary) == state.MAX_SUMMARY


def test_a_paste_with_nul_or_undecodable_characters_is_remembered(store: Store) -> None:
    """A binary-ish paste is stored without its NULs and lone surrogates, on every backend."""
    store.remember("C1", "1.1", "553\x00 on upload \udcff done", ["ftp/553"])
    ctx = store.context("C1", "1.1")
    assert ctx is not None and ctx.summary == "553 on upload ? done"


def test_racing_replicas_remember_one_thread(replicas: tuple[Store, Store]) -> None:
    """Replicas recording the same thread at once neither fail nor lose a code."""

    def remember(s: Store) -> None:
        for n in range(5):
            s.remember("C1", "1.1", f"note {n}", [f"ftp/{550 + n}", "ftp/553", f"ftp/{560 - n}"])

    _race(replicas, remember)
    codes = replicas[0].codes_answered_in_thread("C1", "1.1")
    assert codes == {f"ftp/{c}" for c in [*range(550, 555), *range(556, 561)]}


def test_purge_removes_old_context_and_claims_and_keeps_new(store: Store, clock: Clock) -> None:
    """After the retention period old threads and claims are gone; recent ones stay."""
    store.remember("C1", "old", "old thread", ["ftp/553"])
    store.claim_event("EvOld")
    store.claim_message("C1", "old")
    clock.advance(timedelta(days=31))
    store.remember("C1", "new", "new thread", ["ftp/550"])
    store.claim_event("EvNew")

    removed = store.purge(timedelta(days=30))

    assert removed >= 4
    assert store.context("C1", "old") is None
    assert store.codes_answered_in_thread("C1", "old") == set()
    assert store.context("C1", "new") is not None
    assert store.codes_answered_in_thread("C1", "new") == {"ftp/550"}
    assert store.claim_event("EvOld")
    assert store.claim_message("C1", "old")
    assert not store.claim_event("EvNew")


def test_purge_keeps_the_codes_of_a_thread_still_in_use(store: Store, clock: Clock) -> None:
    """A thread updated recently keeps the codes it answered long ago."""
    store.remember("C1", "1.1", "first", ["ftp/553"])
    clock.advance(timedelta(days=40))
    store.remember("C1", "1.1", "second", ["ftp/550"])
    store.purge(timedelta(days=30))
    assert store.codes_answered_in_thread("C1", "1.1") == {"ftp/553", "ftp/550"}


# --- auto-reply limits ---


def test_cooldown_reserves_the_slot_once(store: Store, clock: Clock) -> None:
    """Within the cooldown a code is not auto-answered again in that channel; after it, it is."""
    assert store.cooldown_ok("C1", "ftp/553", 600)
    assert not store.cooldown_ok("C1", "ftp/553", 600)
    assert store.cooldown_ok("C1", "ftp/550", 600)
    assert store.cooldown_ok("C2", "ftp/553", 600)
    clock.advance(timedelta(seconds=599))
    assert not store.cooldown_ok("C1", "ftp/553", 600)
    clock.advance(timedelta(seconds=1))
    assert store.cooldown_ok("C1", "ftp/553", 600)
    assert not store.cooldown_ok("C1", "ftp/553", 600)


def test_cooldown_is_reserved_by_one_replica(replicas: tuple[Store, Store], clock: Clock) -> None:
    """Two replicas asking for the same slot: one gets it, also when the cooldown expires."""
    first, second = replicas
    assert first.cooldown_ok("C1", "ftp/553", 60)
    assert not second.cooldown_ok("C1", "ftp/553", 60)
    clock.advance(timedelta(seconds=61))
    assert [second.cooldown_ok("C1", "ftp/553", 60), first.cooldown_ok("C1", "ftp/553", 60)] == [
        True,
        False,
    ]


def test_racing_replicas_reserve_a_new_cooldown_once(replicas: tuple[Store, Store]) -> None:
    """Threads on two replicas racing for a code's first cooldown: exactly one reserves it."""
    assert _race(replicas, lambda s: s.cooldown_ok("C1", "ftp/553", 60)).count(True) == 1


def test_racing_replicas_reserve_an_expired_cooldown_once(
    replicas: tuple[Store, Store], clock: Clock
) -> None:
    """Threads on two replicas racing for an expired cooldown: exactly one reserves it."""
    replicas[0].cooldown_ok("C1", "ftp/553", 60)
    clock.advance(timedelta(seconds=120))
    assert _race(replicas, lambda s: s.cooldown_ok("C1", "ftp/553", 60)).count(True) == 1


def test_channel_mute_expires(store: Store, clock: Clock) -> None:
    """A channel muted for an hour is quiet for that hour and no longer."""
    store.mute_channel("C1", START + timedelta(hours=1))
    assert store.is_muted("C1")
    assert not store.is_muted("C2")
    assert store.is_muted("C1", START + timedelta(minutes=59))
    assert not store.is_muted("C1", START + timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    assert not store.is_muted("C1")


def test_mute_again_replaces_the_end(store: Store) -> None:
    """Muting a muted channel sets the new end, shorter or longer."""
    store.mute_channel("C1", START + timedelta(days=1))
    store.mute_channel("C1", START + timedelta(minutes=5))
    assert not store.is_muted("C1", START + timedelta(minutes=10))


def test_unmute_channel_ends_the_mute_at_once(store: Store) -> None:
    """/ftpcode unmute lifts a channel mute immediately."""
    store.mute_channel("C1", START + timedelta(hours=1))
    store.unmute_channel("C1")
    assert not store.is_muted("C1")
    store.unmute_channel("C1")  # unmuting an unmuted channel is harmless


def test_mute_needs_an_aware_time(store: Store) -> None:
    """A naive datetime is refused rather than guessed to be UTC or local."""
    with pytest.raises(ValueError, match="timezone-aware"):
        store.mute_channel("C1", datetime(2026, 3, 1, 13, 0))


def test_thread_mute_is_per_thread(store: Store) -> None:
    """ "Stop replying in this thread" quiets that thread only."""
    store.mute_thread("C1", "1.1")
    store.mute_thread("C1", "1.1")  # a second click is harmless
    assert store.is_thread_muted("C1", "1.1")
    assert not store.is_thread_muted("C1", "2.2")
    assert not store.is_thread_muted("C2", "1.1")
    store.unmute_thread("C1", "1.1")
    assert not store.is_thread_muted("C1", "1.1")


# --- feedback and the App Home ---


def test_top_codes_counts_answers_across_channels_and_days(store: Store, clock: Clock) -> None:
    """The App Home lists the entries answered most, most first."""
    assert store.top_codes() == []
    for _ in range(3):
        store.note_answer("ftp/553", "C1")
    store.note_answer("ftp/553", "C2")
    clock.advance(timedelta(days=1))
    store.note_answer("ftp/553", "C1")
    store.note_answer("winsock/10060", "C1")
    store.note_answer("winsock/10060", "C1")
    store.note_answer("sftp/3", "C1")
    assert store.top_codes(2) == [CodeCount("ftp/553", 5), CodeCount("winsock/10060", 2)]


def test_racing_replicas_count_every_answer(replicas: tuple[Store, Store]) -> None:
    """Answers counted by replicas at once all count: no update is lost."""

    def answer(s: Store) -> None:
        for _ in range(10):
            s.note_answer("ftp/553", "C1")
            s.record_feedback("U1", "ftp/553", False, "C1")

    _race(replicas, answer)
    assert replicas[1].top_codes() == [CodeCount("ftp/553", 80)]
    assert replicas[1].marked_wrong() == [FeedbackTally("ftp/553", helpful=0, wrong=1)]


def test_feedback_aggregates_per_entry(store: Store) -> None:
    """Wrong votes are counted per entry, one vote per person, the latest click winning."""
    store.record_feedback("U1", "ftp/553", False, "C1")
    store.record_feedback("U2", "ftp/553", False, "C1")
    store.record_feedback("U3", "ftp/553", True, "C1")
    store.record_feedback("U1", "ftp/550", False, "C1")
    store.record_feedback("U1", "ftp/550", True, "C1")  # changed their mind
    store.record_feedback("U1", "sftp/3", True, "C1")
    store.record_feedback("U4", "winsock/10060", False, "C2")
    assert store.marked_wrong() == [
        FeedbackTally("ftp/553", helpful=1, wrong=2),
        FeedbackTally("winsock/10060", helpful=0, wrong=1),
    ]
    assert store.marked_wrong(1) == [FeedbackTally("ftp/553", helpful=1, wrong=2)]


def test_feedback_and_counts_survive_the_purge(store: Store, clock: Clock) -> None:
    """Retention applies to thread context and claims, not to the App Home's tallies."""
    store.note_answer("ftp/553", "C1")
    store.record_feedback("U1", "ftp/553", False, "C1")
    clock.advance(timedelta(days=365))
    store.purge(timedelta(days=30))
    assert store.top_codes() == [CodeCount("ftp/553", 1)]
    assert store.marked_wrong() == [FeedbackTally("ftp/553", helpful=0, wrong=1)]


def test_state_persists_across_restarts(db_url: str, clock: Clock) -> None:
    """A restarted bot still knows what it claimed, muted and answered."""
    url = db_url
    with Store(url, clock=clock) as before:
        before.claim_event("Ev1")
        before.mute_thread("C1", "1.1")
        before.remember("C1", "1.1", "553", ["ftp/553"])
    with Store(url, clock=clock) as after:
        assert not after.claim_event("Ev1")
        assert after.is_thread_muted("C1", "1.1")
        ctx = after.context("C1", "1.1")
        assert ctx is not None and ctx.updated_at == START


def test_racing_replicas_purge_while_others_write(
    replicas: tuple[Store, Store], clock: Clock
) -> None:
    """Replicas purging together while others claim and remember neither fail nor deadlock."""
    for n in range(50):
        replicas[n % 2].claim_event(f"EvOld{n}")
        replicas[n % 2].remember("C1", f"old{n}", "old", ["ftp/553", "ftp/550"])
    clock.advance(timedelta(days=31))

    def work(s: Store) -> None:
        for n in range(10):
            s.purge(timedelta(days=30))
            s.claim_event(f"EvNew{n}")
            s.remember("C1", f"old{n}", "new", ["ftp/550", "ftp/421"])

    _race(replicas, work)
    assert replicas[0].context("C1", "old49") is None
    ctx = replicas[1].context("C1", "old9")
    assert ctx is not None and ctx.codes == ("ftp/421", "ftp/550")


def test_only_sqlite_and_postgresql_are_accepted() -> None:
    """A FTPCODE_DB for another database is refused with a clear error, not half-supported."""
    with pytest.raises(ValueError, match="SQLite or PostgreSQL"):
        Store("mysql://bot@db.example.com/ftpcode")


# --- PostgreSQL specifics ---


def test_postgresql_urls_are_served_by_psycopg_3(postgres_url: str) -> None:
    """A plain postgresql:// URL, as an admin writes it, uses psycopg 3."""
    with Store(postgres_url.replace("postgresql+psycopg://", "postgresql://")) as s:
        assert s.claim_event("Ev1")
        assert not s.claim_event("Ev1")


def test_lost_races_leave_no_errors_in_the_postgresql_log(
    postgres_server: PostgresServer, postgres_url: str, clock: Clock
) -> None:
    """Losing a claim or a cooldown is an ordinary result, not a failed statement that fills
    the server's log and rolls back a transaction at every Slack retry."""
    before = postgres_server.log.read_text(errors="replace").count("ERROR")
    with Store(postgres_url, clock=clock) as first, Store(postgres_url, clock=clock) as second:
        _race([first, second], lambda s: [s.claim_event("Ev1"), s.cooldown_ok("C1", "x", 60)])
        _race([first, second], lambda s: s.remember("C1", "1.1", "note", ["ftp/553"]))
    assert postgres_server.log.read_text(errors="replace").count("ERROR") == before


def test_a_replica_survives_its_database_connections_being_dropped(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    """After a PostgreSQL restart or failover kills its connections, a replica works on."""
    with Store(postgres_url) as s:
        assert s.claim_event("Ev1")
        with postgres_server.admin() as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) >= 1 FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
        assert killed == (True,)
        assert not s.claim_event("Ev1")
        assert s.claim_event("Ev2")


# --- the one-transaction forms the Slack handlers use ---


def test_claim_takes_event_and_message_together(store: Store) -> None:
    """claim() is True once; a new event id for the same message is still refused."""
    assert store.claim("Ev1", "C1", "1.1")
    assert not store.claim("Ev1", "C1", "1.1")
    assert not store.claim("Ev2", "C1", "1.1")
    assert store.claim("", "C1", "1.2")


def test_claim_races_have_one_winner_across_replicas(replicas: tuple[Store, Store]) -> None:
    """Replicas racing to claim one message: exactly one wins."""
    results = _race(replicas, lambda s: s.claim("EvRace", "CRACE", "9.9"))
    assert results.count(True) == 1


def test_thread_state_reads_mutes_context_and_codes(store: Store, clock: Clock) -> None:
    """thread_state() reports the channel mute, the thread mute, the context and the codes."""
    empty = store.thread_state("C1", "1.0")
    assert not empty.channel_muted and not empty.thread_muted
    assert empty.context is None and empty.answered == frozenset()
    store.record_answer("C1", "1.0", "ftp/553 file name not allowed", ["ftp/553", "ftp/550"])
    store.mute_thread("C1", "1.0")
    store.mute_channel("C1", clock() + timedelta(hours=1))
    state = store.thread_state("C1", "1.0")
    assert state.channel_muted and state.thread_muted
    assert state.context is not None and state.context.summary.startswith("ftp/553")
    assert state.answered == {"ftp/553", "ftp/550"}


def test_record_answer_counts_each_code_once(store: Store) -> None:
    """record_answer() counts every code of the answer for the App Home, once each."""
    store.record_answer("C1", "1.0", "two codes", ["ftp/553", "ftp/550", "ftp/553"])
    counts = {row.entry_id: row.answers for row in store.top_codes()}
    assert counts == {"ftp/553": 1, "ftp/550": 1}


def test_reserve_cooldowns_grants_each_slot_once(store: Store, clock: Clock) -> None:
    """Within the cooldown a code is reserved once; after it, again."""
    assert store.reserve_cooldowns("C1", ["ftp/553", "ftp/550"], 600) == ["ftp/553", "ftp/550"]
    assert store.reserve_cooldowns("C1", ["ftp/553", "ftp/421"], 600) == ["ftp/421"]
    clock.advance(timedelta(seconds=601))
    assert store.reserve_cooldowns("C1", ["ftp/553"], 600) == ["ftp/553"]
