"""Database engine and session factory: SQLite (embedded default) or PostgreSQL."""

import functools
import os
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session, sessionmaker

from . import json_text
from .models import Base
from .write_queue import WriteQueue

DEFAULT_SQLITE_PATH = Path("instance") / "dingdan.sqlite3"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# PostgreSQL ends a session that sits idle inside a transaction this long (seconds; 0: never),
# so a hung process cannot hold an instance's row lock — its claim on the instance's timers —
# for ever: its transaction rolls back and another worker takes the instance over.
IDLE_IN_TRANSACTION_TIMEOUT = int(os.environ.get("DINGDAN_IDLE_IN_TRANSACTION_TIMEOUT", "60"))


def database_url(url: str | None = None) -> str:
    """The configured URL: argument, then DINGDAN_DATABASE_URL, then ./instance/dingdan.sqlite3."""
    if url:
        return url
    if os.environ.get("DINGDAN_DATABASE_URL"):
        return os.environ["DINGDAN_DATABASE_URL"]
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


class Database:
    def __init__(self, url: str | None = None, idle_in_transaction_timeout=None, **engine_options):
        self.url = database_url(url)
        if self.url.startswith("postgresql://"):
            self.url = "postgresql+psycopg://" + self.url.removeprefix("postgresql://")
        # JSON columns keep Chinese as it is (not as \\u escapes), so text search finds it.
        engine_options.setdefault("json_serializer", _json_dumps)
        self.engine: Engine = create_engine(self.url, **engine_options)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.write_queue: WriteQueue | None = None  # SQLite files only
        # Seconds a transaction may sit idle before PostgreSQL ends it (0: never).
        self.idle_in_transaction_timeout = 0.0
        if self.is_sqlite:
            path = self.engine.url.database
            if path and path != ":memory:" and not path.startswith("file:"):
                self.write_queue = WriteQueue(f"{path}-writers.lock")
            _configure_sqlite(self.engine, self.write_queue)
        elif self.engine.dialect.name == "postgresql":
            if idle_in_transaction_timeout is None:
                idle_in_transaction_timeout = IDLE_IN_TRANSACTION_TIMEOUT
            self.idle_in_transaction_timeout = max(0.0, idle_in_transaction_timeout)
            _configure_postgresql(self.engine, idle_in_transaction_timeout)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Reads (lists, inboxes, reports) need no write lock: on SQLite a plain BEGIN lets
        # them run beside a writer (WAL) instead of queueing behind it; on PostgreSQL they
        # are read-only transactions on one snapshot, as SQLite's are.
        read_options = {"dingdan_read_only": True}
        if self.engine.dialect.name == "postgresql":
            read_options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        self.read_sessions = sessionmaker(
            self.engine.execution_options(**read_options), expire_on_commit=False
        )
        # A read of one statement sees one snapshot by itself: on PostgreSQL it runs without
        # a transaction, which saves the BEGIN and ROLLBACK round trips (every API request's
        # token check is one).
        single_options = {"dingdan_one_statement": True}
        if self.engine.dialect.name == "postgresql":
            single_options = {"isolation_level": "AUTOCOMMIT"}
        self.single_read_sessions = sessionmaker(
            self.engine.execution_options(**single_options), expire_on_commit=False
        )
        event.listen(self.single_read_sessions, "before_flush", _refuse_writes)

    def create_all(self) -> None:
        """Create the tables straight from the models and record them as the latest
        migration (Alembic's "create_all, then stamp head"): quicker than `upgrade` on a new
        database, for the tests. `upgrade` is the way everywhere else."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.begin() as connection:
            Base.metadata.create_all(connection)
            MigrationContext.configure(connection).stamp(script_directory(), "head")

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to `revision` with the migrations in engine/migrations/: creates
        a new database, adopts one made before migrations existed, and is safe to run from
        several processes at once."""
        from alembic import command

        if revision == "head" and self.schema_revision() == script_directory().get_current_head():
            return  # the usual start-up: nothing to do, and no lock to wait for
        command.upgrade(alembic_config(self), revision)

    def schema_differences(self) -> list:
        """What the database's schema lacks or has beyond the models (Alembic's autogenerate
        comparison); empty when the migrations and the models agree."""
        from alembic.autogenerate import compare_metadata
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_name": include_name, "compare_type": True}
            )
            return compare_metadata(context, Base.metadata)

    def schema_revision(self) -> str | None:
        """The migration the database is at (None: not created by migrations)."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def session(self, read_only: bool = False, one_statement: bool = False) -> Session:
        if one_statement:
            return self.single_read_sessions()
        return self.read_sessions() if read_only else self.sessions()

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(database: Database):
    """Alembic's configuration, built in code so that it ships inside the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["database"] = database
    return config


@functools.cache
def script_directory():
    """The migration scripts, read once per process."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(None))


def include_name(name, type_, parent_names) -> bool:
    """What migrations compare: everything but Alembic's own version table."""
    return not (type_ == "table" and name == "alembic_version")


def insert_on_conflict(dialect: str):
    """The dialect's `insert`, which can take ON CONFLICT (an upsert) on both databases."""
    return _INSERTS[dialect]


_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _refuse_writes(_session, _flush_context, _instances) -> None:
    # Without a transaction (PostgreSQL's autocommit) nothing would undo a write.
    raise InvalidRequestError("a read of one statement writes nothing")


def _json_dumps(value) -> str:
    return json_text.readable(value)  # json.dumps(value, ensure_ascii=False)


def _configure_sqlite(engine: Engine, queue: WriteQueue | None) -> None:
    """WAL for concurrent readers; every transaction but a read-only one takes the write lock
    at BEGIN, so two steps on one instance serialise instead of failing half-way with
    'database is locked' — queueing first (engine/write_queue.py) where the database is a
    file."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below do it
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Deleted content is still zeroed in every page a write touches anyway; what FAST
        # drops (Debian builds SQLite with ON) is writing freed pages only to zero them:
        # an instance's replaced state freed four pages a step, a sixth of its WAL frames.
        cursor.execute("PRAGMA secure_delete=FAST")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        options = connection.get_execution_options()
        if options.get("dingdan_one_statement"):
            return  # sqlite3 without a BEGIN: each statement its own transaction
        read_only = options.get("dingdan_read_only")
        if queue is not None and not read_only:
            queue.take(connection.connection.record_info)
        # on the driver's connection: SQLAlchemy's execution path costs a step more than
        # the statement (benchmarks/PROFILE.md)
        connection.connection.driver_connection.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")

    if queue is not None:

        @event.listens_for(engine.pool, "checkin")
        def _on_checkin(_dbapi_connection, record):
            queue.release(record.record_info)


def _configure_postgresql(engine: Engine, idle_in_transaction_timeout: float) -> None:
    if idle_in_transaction_timeout <= 0:
        return
    milliseconds = int(idle_in_transaction_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True  # a SET inside a rolled-back transaction is undone
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET idle_in_transaction_session_timeout = {milliseconds}")
        dbapi_connection.autocommit = autocommit
