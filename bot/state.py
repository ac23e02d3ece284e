"""What the bot remembers between events, in one SQL database named by `FTPCODE_DB`.

Slack retries events and delivers an @mention twice (as `message` and `app_mention`), so
every reply starts by claiming the event and the message; auto-replies are limited per
thread, per channel and code, and by mutes; feedback and answer counts feed the App Home.

`FTPCODE_DB` is a SQLAlchemy URL. Unset, it is a SQLite file under the user's data
directory, created on first use; `sqlite://` is an in-memory database for tests. Several
replicas may share one PostgreSQL database (`postgresql://...`, served by psycopg 3, the
`postgres` extra): every decision that must happen once (a claim, a cooldown slot) is a
single `INSERT ... ON CONFLICT` against a unique key, which the database serialises, never
a read followed by a write; a lost race is a row count of 0, not an error (no aborted
transaction, no error in the server's log). Replicas that start together create the schema
one at a time, under a PostgreSQL advisory lock. SQLite must be 3.35 or later (RETURNING);
other databases are refused.

Stored thread context never holds a clear-text credential (`bot.logs.secrets`), nor a NUL
character (PostgreSQL text cannot hold one), and is purged after a retention period
(`FTPCODE_RETENTION_DAYS`, default 30). All timestamps are UTC and must be timezone-aware.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeAlias

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Dialect,
    Engine,
    Integer,
    String,
    Text,
    TypeDecorator,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    exists,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.elements import ColumnClause

from bot.logs import secrets

DEFAULT_RETENTION = timedelta(days=30)
_SCHEMA_ATTEMPTS = 10  # SQLite files: processes starting together may race per table
_SCHEMA_LOCK = 0x66747063  # PostgreSQL advisory lock key held while creating the schema
MAX_SUMMARY = 2000  # characters of thread summary kept; enough for a diagnosis, not a log
_CLAIM_KEY_LENGTH = 255

_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)",
    re.S,
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("state timestamps must be timezone-aware")
    return value.astimezone(UTC)


# --- configuration -----------------------------------------------------------------------


def default_url(env: Mapping[str, str] = os.environ) -> str:
    """The SQLite file used when `FTPCODE_DB` is unset: `$XDG_DATA_HOME/ftpcode/state.sqlite3`."""
    base = env.get("XDG_DATA_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "share"
    path = root / "ftpcode" / "state.sqlite3"
    return URL.create("sqlite", database=str(path)).render_as_string()


def database_url(env: Mapping[str, str] = os.environ) -> str:
    """The state database's SQLAlchemy URL: `FTPCODE_DB`, or the default SQLite file."""
    return env.get("FTPCODE_DB", "").strip() or default_url(env)


def retention(env: Mapping[str, str] = os.environ) -> timedelta:
    """How long thread context is kept: `FTPCODE_RETENTION_DAYS` whole days, default 30."""
    raw = env.get("FTPCODE_RETENTION_DAYS", "").strip()
    if not raw:
        return DEFAULT_RETENTION
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"FTPCODE_RETENTION_DAYS must be a whole number of days >= 1, not {raw!r}")
    return timedelta(days=int(raw))


# --- schema ------------------------------------------------------------------------------


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = _aware(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class _Base(DeclarativeBase):
    pass


class _Claim(_Base):
    """An event or message the bot has taken on; the unique key makes the claim atomic."""

    __tablename__ = "ftpcode_claims"
    claim_key: Mapped[str] = mapped_column(String(_CLAIM_KEY_LENGTH), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class _ThreadNote(_Base):
    """What the bot established in a thread: a short, secret-free summary."""

    __tablename__ = "ftpcode_thread_context"
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    thread_ts: Mapped[str] = mapped_column(String(64), primary_key=True)
    summary: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class _ThreadCode(_Base):
    """A code the bot answered in a thread (never answered twice there)."""

    __tablename__ = "ftpcode_thread_codes"
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    thread_ts: Mapped[str] = mapped_column(String(64), primary_key=True)
    code: Mapped[str] = mapped_column(String(128), primary_key=True)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class _Cooldown(_Base):
    """The last auto-reply slot reserved for a code in a channel."""

    __tablename__ = "ftpcode_cooldowns"
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    code: Mapped[str] = mapped_column(String(128), primary_key=True)
    reserved_at: Mapped[datetime] = mapped_column(UTCDateTime())


class _ChannelMute(_Base):
    __tablename__ = "ftpcode_channel_mutes"
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    muted_until: Mapped[datetime] = mapped_column(UTCDateTime())


class _ThreadMute(_Base):
    __tablename__ = "ftpcode_thread_mutes"
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    thread_ts: Mapped[str] = mapped_column(String(64), primary_key=True)
    muted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class _AnswerCount(_Base):
    """How often an entry was answered in a channel on a UTC day (a counter, not a log)."""

    __tablename__ = "ftpcode_answer_counts"
    entry_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    answers: Mapped[int] = mapped_column(Integer)


class _Feedback(_Base):
    """One person's latest verdict on an entry's answers in a channel."""

    __tablename__ = "ftpcode_feedback"
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- results -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ThreadContext:
    """What a thread has established: its summary and the codes answered, oldest first."""

    channel: str
    thread_ts: str
    summary: str
    codes: tuple[str, ...]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ThreadState:
    """Everything an auto-reply checks about a thread, read in one transaction."""

    channel_muted: bool
    thread_muted: bool
    context: ThreadContext | None
    answered: frozenset[str]


@dataclass(frozen=True, slots=True)
class CodeCount:
    entry_id: str
    answers: int


@dataclass(frozen=True, slots=True)
class FeedbackTally:
    entry_id: str
    helpful: int
    wrong: int


def scrub_secrets(text: str) -> str:
    """`text` with every clear-text credential and private key replaced by a mask."""
    found = secrets.find(text)
    if any(f.kind == "private-key" for f in found):
        text = _PRIVATE_KEY.sub(secrets.MASK, text)
    return secrets.scrub(text, {f.value for f in found if f.value})


def _storable(text: str) -> str:
    """`text` as every backend stores it: no NUL, no lone surrogate (from undecodable bytes)."""
    text = text.replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")


def _claim_key(*parts: str) -> str:
    """The unique key of a claim; one too long or odd for the column becomes a digest of it."""
    key = ":".join(parts)
    if len(key) <= _CLAIM_KEY_LENGTH and key == _storable(key):
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{parts[0]}:sha256:{digest}"


_Insert: TypeAlias = postgresql.Insert | sqlite.Insert


def _engine_for(url: URL) -> tuple[Engine, bool]:
    """An engine for `url`, and whether it is one in-memory SQLite connection to serialise."""
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+psycopg")  # psycopg 3, not SQLAlchemy's psycopg2
    backend = url.get_backend_name()
    if backend not in {"sqlite", "postgresql"}:
        raise ValueError(f"FTPCODE_DB must be a SQLite or PostgreSQL URL, not {backend!r}")
    if backend == "postgresql":
        return create_engine(url, pool_pre_ping=True), False
    database = url.database or ""
    if database in {"", ":memory:"} or url.query.get("mode") == "memory":
        # One shared connection, or each thread would see its own empty database.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
        return engine, True
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _wal(dbapi_connection: Any, _record: Any) -> None:
        # Readers need not wait for a writer; several threads or processes share the file.
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        # In WAL mode NORMAL stays consistent after a crash and skips an fsync per commit;
        # at worst the last moments of state (a claim, a cooldown) are lost on power loss.
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    return engine, False


def _wrote_in(conn: Connection, stmt: _Insert) -> bool:
    """Run an INSERT ... ON CONFLICT; whether it wrote a row (RETURNING, because drivers
    need not report a row count for an INSERT: psycopg's is -1)."""
    return conn.execute(stmt.returning(literal_column("1"))).first() is not None


class _Hot:
    """The statements every answered message runs, built once per store: building a
    statement costs more Python than running it, and SQLAlchemy caches the compiled form."""

    def __init__(self, insert: Callable[[type[_Base]], _Insert]) -> None:
        one: ColumnClause[Any] = literal_column("1")
        self.claim = (
            insert(_Claim)
            .values(claim_key=bindparam("key"), claimed_at=bindparam("now"))
            .on_conflict_do_nothing()
            .returning(one)
        )
        self.channel_muted = select(_ChannelMute.channel).where(
            _ChannelMute.channel == bindparam("channel"),
            _ChannelMute.muted_until > bindparam("now"),
        )
        self.thread_muted = select(_ThreadMute.channel).where(
            _ThreadMute.channel == bindparam("channel"),
            _ThreadMute.thread_ts == bindparam("thread_ts"),
        )
        self.note = select(_ThreadNote.summary, _ThreadNote.updated_at).where(
            _ThreadNote.channel == bindparam("channel"),
            _ThreadNote.thread_ts == bindparam("thread_ts"),
        )
        self.codes = (
            select(_ThreadCode.code)
            .where(
                _ThreadCode.channel == bindparam("channel"),
                _ThreadCode.thread_ts == bindparam("thread_ts"),
            )
            .order_by(_ThreadCode.answered_at, _ThreadCode.code)
        )
        cooldown = insert(_Cooldown).values(
            channel=bindparam("channel"), code=bindparam("code"), reserved_at=bindparam("now")
        )
        # One statement: a new row, or the expired slot taken over; else nothing changes.
        self.reserve = cooldown.on_conflict_do_update(
            index_elements=["channel", "code"],
            set_={"reserved_at": cooldown.excluded.reserved_at},
            where=_Cooldown.reserved_at <= bindparam("cutoff", type_=UTCDateTime()),
        ).returning(one)
        note = insert(_ThreadNote).values(
            channel=bindparam("channel"),
            thread_ts=bindparam("thread_ts"),
            summary=bindparam("summary"),
            updated_at=bindparam("now"),
        )
        self.upsert_note = note.on_conflict_do_update(
            index_elements=["channel", "thread_ts"],
            set_={"summary": note.excluded.summary, "updated_at": note.excluded.updated_at},
        )
        self.add_codes = insert(_ThreadCode).on_conflict_do_nothing()
        count = insert(_AnswerCount).values(
            entry_id=bindparam("entry_id"),
            channel=bindparam("channel"),
            day=bindparam("day"),
            answers=1,
        )
        self.count = count.on_conflict_do_update(
            index_elements=["entry_id", "channel", "day"],
            set_={"answers": _AnswerCount.answers + 1},
        )


class Store:
    """The bot's state in the database at `url` (default: `database_url()`).

    Thread-safe; several Store objects, in one process or many, may share a database.
    `clock` gives the current time (tests move it).
    """

    def __init__(
        self, url: str | URL | None = None, *, clock: Callable[[], datetime] = _utcnow
    ) -> None:
        self._url = make_url(url if url is not None else database_url())
        self._engine, serialise = _engine_for(self._url)
        self._postgres = self._engine.dialect.name == "postgresql"
        self._lock: contextlib.AbstractContextManager[object] = (
            threading.Lock() if serialise else contextlib.nullcontext()
        )
        self._clock = clock
        self._ready = False
        self._ready_lock = threading.Lock()
        self._hot = _Hot(self._insert)

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- plumbing ---

    def _now(self) -> datetime:
        return _aware(self._clock())

    def _create_schema(self) -> None:
        with self._ready_lock:
            if self._ready:
                return
            database = self._url.database or ""
            if (
                not self._postgres
                and database not in {"", ":memory:"}
                and not database.startswith("file:")
            ):
                Path(database).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            for attempt in range(_SCHEMA_ATTEMPTS):
                try:
                    with self._lock, self._engine.begin() as conn:
                        if self._postgres:
                            # Replicas starting together take turns; the later ones find the
                            # tables there, instead of failing on half-created ones.
                            conn.execute(select(func.pg_advisory_xact_lock(_SCHEMA_LOCK)))
                        _Base.metadata.create_all(conn)
                    break
                except DBAPIError:
                    # Another process created a table between our check and our CREATE;
                    # the next pass sees it. Not a race after many passes: a real error.
                    if attempt == _SCHEMA_ATTEMPTS - 1:
                        raise
            self._ready = True

    @contextlib.contextmanager
    def _begin(self) -> Iterator[Connection]:
        if not self._ready:
            self._create_schema()
        with self._lock, self._engine.begin() as conn:
            yield conn

    def _insert(self, table: type[_Base]) -> _Insert:
        """An INSERT with this backend's ON CONFLICT clause (both spell it the same)."""
        return (postgresql.insert if self._postgres else sqlite.insert)(table)

    def _wrote(self, stmt: _Insert) -> bool:
        """Run an INSERT ... ON CONFLICT in a transaction of its own; whether it wrote a row."""
        with self._begin() as conn:
            return _wrote_in(conn, stmt)

    def _insert_new(self, table: type[_Base], **values: Any) -> bool:
        """Insert a row; False, changing nothing, when its key exists already."""
        return self._wrote(self._insert(table).values(values).on_conflict_do_nothing())

    def _upsert(self, table: type[_Base], key: Mapping[str, Any], **values: Any) -> None:
        """Insert the row with primary key `key`, or set `values` on the one already there."""
        stmt = self._insert(table).values({**key, **values})
        with self._begin() as conn:
            conn.execute(stmt.on_conflict_do_update(index_elements=list(key), set_=values))

    # --- de-duplication ---

    def claim_event(self, event_id: str) -> bool:
        """True for the first caller only, across all replicas: this event is ours to handle."""
        return self._claim_keys([_claim_key("event", event_id)])

    def claim_message(self, channel: str, ts: str) -> bool:
        """True for the first caller only: one reply per message, whatever its event ids."""
        return self._claim_keys([_claim_key("message", channel, ts)])

    def claim(self, event_id: str, channel: str, ts: str) -> bool:
        """`claim_event` and `claim_message` in one transaction: True only for the first
        caller of both (an empty `event_id` claims the message alone)."""
        keys = [_claim_key("event", event_id)] if event_id else []
        return self._claim_keys([*keys, _claim_key("message", channel, ts)])

    def _claim_keys(self, keys: list[str]) -> bool:
        """Claim every key in one transaction; False at the first one already taken."""
        now = self._now()
        with self._begin() as conn:
            for key in keys:
                if conn.execute(self._hot.claim, {"key": key, "now": now}).first() is None:
                    return False
        return True

    # --- thread context ---

    def remember(self, channel: str, thread_ts: str, text: str, codes: Iterable[str]) -> None:
        """Record what the bot established in a thread: `text` replaces the summary (secrets
        masked, at most MAX_SUMMARY characters) and `codes` join those already answered."""
        with self._begin() as conn:
            self._note_thread(conn, channel, thread_ts, text, codes)

    def record_answer(self, channel: str, thread_ts: str, text: str, codes: Sequence[str]) -> None:
        """`remember` the answer and `note_answer` each of its codes, in one transaction."""
        with self._begin() as conn:
            self._note_thread(conn, channel, thread_ts, text, codes)
            for code in dict.fromkeys(codes):
                self._count_answer(conn, code, channel)

    def _note_thread(
        self, conn: Connection, channel: str, thread_ts: str, text: str, codes: Iterable[str]
    ) -> None:
        now = self._now()
        summary = _storable(scrub_secrets(text))[:MAX_SUMMARY]
        thread = {"channel": channel, "thread_ts": thread_ts}
        # The note first: a replica remembering the same thread waits for this one.
        conn.execute(self._hot.upsert_note, {**thread, "summary": summary, "now": now})
        new_codes = [{**thread, "code": code, "answered_at": now} for code in sorted(set(codes))]
        if new_codes:
            conn.execute(self._hot.add_codes, new_codes)

    def context(self, channel: str, thread_ts: str) -> ThreadContext | None:
        """What the bot established in this thread, or None if nothing (or it was purged)."""
        with self._begin() as conn:
            note = conn.execute(
                select(_ThreadNote.summary, _ThreadNote.updated_at).where(
                    _ThreadNote.channel == channel, _ThreadNote.thread_ts == thread_ts
                )
            ).first()
            if note is None:
                return None
            codes = conn.execute(
                select(_ThreadCode.code)
                .where(_ThreadCode.channel == channel, _ThreadCode.thread_ts == thread_ts)
                .order_by(_ThreadCode.answered_at, _ThreadCode.code)
            ).scalars()
            return ThreadContext(channel, thread_ts, note[0], tuple(codes), note[1])

    def thread_state(self, channel: str, thread_ts: str) -> ThreadState:
        """The mutes, the context and the answered codes of a thread, in one transaction."""
        hot = self._hot
        where = {"channel": channel, "thread_ts": thread_ts}
        with self._begin() as conn:
            muted = conn.execute(hot.channel_muted, {"channel": channel, "now": self._now()})
            channel_muted = muted.first() is not None
            thread_muted = conn.execute(hot.thread_muted, where).first() is not None
            note = conn.execute(hot.note, where).first()
            codes = list(conn.execute(hot.codes, where).scalars())
        context = (
            ThreadContext(channel, thread_ts, note[0], tuple(codes), note[1]) if note else None
        )
        return ThreadState(channel_muted, thread_muted, context, frozenset(codes))

    def codes_answered_in_thread(self, channel: str, thread_ts: str) -> set[str]:
        """The codes the bot has already answered in this thread."""
        with self._begin() as conn:
            return set(
                conn.execute(
                    select(_ThreadCode.code).where(
                        _ThreadCode.channel == channel, _ThreadCode.thread_ts == thread_ts
                    )
                ).scalars()
            )

    def purge(self, older_than: timedelta) -> int:
        """Delete thread context and claims older than `older_than` (and expired mutes and
        stale cooldowns); return how many rows went. Feedback and answer counts stay."""
        now = self._now()
        cutoff = now - older_than
        live_note = exists().where(
            _ThreadNote.channel == _ThreadCode.channel,
            _ThreadNote.thread_ts == _ThreadCode.thread_ts,
        )
        statements = [
            delete(_Claim).where(_Claim.claimed_at < cutoff),
            delete(_ThreadNote).where(_ThreadNote.updated_at < cutoff),
            # A thread's codes live as long as its context: a busy thread keeps its old codes.
            delete(_ThreadCode).where(_ThreadCode.answered_at < cutoff, ~live_note),
            delete(_Cooldown).where(_Cooldown.reserved_at < cutoff),
            delete(_ChannelMute).where(_ChannelMute.muted_until <= now),
        ]
        removed = 0
        with self._begin() as conn:
            for stmt in statements:
                removed += conn.execute(stmt).rowcount
        return removed

    # --- auto-reply limits ---

    def cooldown_ok(self, channel: str, code: str, seconds: float) -> bool:
        """True, reserving the slot, when `code` was not auto-answered in `channel` within the
        last `seconds`; of several replicas asking at once, only one gets True."""
        return bool(self.reserve_cooldowns(channel, [code], seconds))

    def reserve_cooldowns(self, channel: str, codes: Iterable[str], seconds: float) -> list[str]:
        """`cooldown_ok` for several codes in one transaction: the codes whose slot this
        caller reserved, in the order given."""
        now = self._now()
        cutoff = now - timedelta(seconds=seconds)
        reserved: list[str] = []
        with self._begin() as conn:
            for code in dict.fromkeys(codes):
                slot = {"channel": channel, "code": code, "now": now, "cutoff": cutoff}
                if conn.execute(self._hot.reserve, slot).first() is not None:
                    reserved.append(code)
        return reserved

    def mute_channel(self, channel: str, until: datetime) -> None:
        """No auto-replies in `channel` before `until` (timezone-aware)."""
        self._upsert(_ChannelMute, {"channel": channel}, muted_until=_aware(until))

    def unmute_channel(self, channel: str) -> None:
        """Auto-replies in `channel` again, at once."""
        with self._begin() as conn:
            conn.execute(delete(_ChannelMute).where(_ChannelMute.channel == channel))

    def is_muted(self, channel: str, now: datetime | None = None) -> bool:
        """Whether `channel` is muted at `now` (default: the store's clock)."""
        at = _aware(now) if now is not None else self._now()
        with self._begin() as conn:
            return (
                conn.execute(
                    select(_ChannelMute.channel).where(
                        _ChannelMute.channel == channel, _ChannelMute.muted_until > at
                    )
                ).first()
                is not None
            )

    def mute_thread(self, channel: str, thread_ts: str) -> None:
        """No more auto-replies in this thread."""
        self._insert_new(_ThreadMute, channel=channel, thread_ts=thread_ts, muted_at=self._now())

    def unmute_thread(self, channel: str, thread_ts: str) -> None:
        """Auto-replies in this thread again."""
        with self._begin() as conn:
            conn.execute(
                delete(_ThreadMute).where(
                    _ThreadMute.channel == channel, _ThreadMute.thread_ts == thread_ts
                )
            )

    def is_thread_muted(self, channel: str, thread_ts: str) -> bool:
        """Whether someone asked the bot to stop replying in this thread."""
        with self._begin() as conn:
            return (
                conn.execute(
                    select(_ThreadMute.channel).where(
                        _ThreadMute.channel == channel, _ThreadMute.thread_ts == thread_ts
                    )
                ).first()
                is not None
            )

    # --- feedback and the App Home ---

    def note_answer(self, entry_id: str, channel: str) -> None:
        """Count one answer about `entry_id` in `channel`, for `top_codes`."""
        with self._begin() as conn:
            self._count_answer(conn, entry_id, channel)

    def _count_answer(self, conn: Connection, entry_id: str, channel: str) -> None:
        day = self._now().date()
        conn.execute(self._hot.count, {"entry_id": entry_id, "channel": channel, "day": day})

    def top_codes(self, limit: int = 10) -> list[CodeCount]:
        """The entries answered most, most first (ties by id)."""
        total = func.sum(_AnswerCount.answers).label("total")
        with self._begin() as conn:
            rows = conn.execute(
                select(_AnswerCount.entry_id, total)
                .group_by(_AnswerCount.entry_id)
                .order_by(total.desc(), _AnswerCount.entry_id)
                .limit(limit)
            ).all()
        return [CodeCount(entry_id, int(count)) for entry_id, count in rows]

    def record_feedback(self, user: str, entry_id: str, helpful: bool, channel: str) -> None:
        """Store `user`'s verdict on an answer about `entry_id`; a later click replaces it."""
        key = {"user_id": user, "entry_id": entry_id, "channel": channel}
        self._upsert(_Feedback, key, helpful=helpful, given_at=self._now())

    def marked_wrong(self, limit: int = 10) -> list[FeedbackTally]:
        """The entries people marked wrong, most wrong votes first, with their helpful votes."""
        wrong = func.sum(case((_Feedback.helpful.is_(False), 1), else_=0)).label("wrong")
        helpful = func.sum(case((_Feedback.helpful.is_(True), 1), else_=0)).label("helpful")
        with self._begin() as conn:
            rows = conn.execute(
                select(_Feedback.entry_id, helpful, wrong)
                .group_by(_Feedback.entry_id)
                .having(wrong > 0)
                .order_by(wrong.desc(), _Feedback.entry_id)
                .limit(limit)
            ).all()
        return [FeedbackTally(entry_id, int(h), int(w)) for entry_id, h, w in rows]
