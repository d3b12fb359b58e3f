"""Database engine and session factory: SQLite (embedded default) or PostgreSQL."""

import json
import os
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from .models import Base

DEFAULT_SQLITE_PATH = Path("instance") / "dingdan.sqlite3"


def database_url(url: str | None = None) -> str:
    """The configured URL: argument, then DINGDAN_DATABASE_URL, then ./instance/dingdan.sqlite3."""
    if url:
        return url
    if os.environ.get("DINGDAN_DATABASE_URL"):
        return os.environ["DINGDAN_DATABASE_URL"]
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


class Database:
    def __init__(self, url: str | None = None, **engine_options):
        self.url = database_url(url)
        if self.url.startswith("postgresql://"):
            self.url = "postgresql+psycopg://" + self.url.removeprefix("postgresql://")
        # JSON columns keep Chinese as it is (not as \\u escapes), so text search finds it.
        engine_options.setdefault("json_serializer", _json_dumps)
        self.engine: Engine = create_engine(self.url, **engine_options)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def create_all(self) -> None:
        Base.metadata.create_all(self.engine)

    def session(self) -> Session:
        return self.sessions()

    def dispose(self) -> None:
        self.engine.dispose()


def _json_dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _configure_sqlite(engine: Engine) -> None:
    """WAL for concurrent readers; every transaction takes the write lock at BEGIN so two
    steps on one instance serialise instead of failing half-way with 'database is locked'."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below do it
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
