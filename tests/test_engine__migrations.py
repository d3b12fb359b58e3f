"""The migrations build the schema the models describe, on SQLite and PostgreSQL; they adopt
a database made before them, run safely from several processes at once, and are what
`dingdan db upgrade`, `System.setup()` and the servers run."""

import subprocess
import sys

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from engine.db import Database, alembic_config, script_directory
from webui.cli import main
from webui.composition import build

from .postgres import postgres_schema


def head() -> str:
    return script_directory().get_current_head()


@pytest.fixture
def db(database_url):
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def pg_db():
    with postgres_schema() as url:
        db = Database(url)
        yield db
        db.dispose()


def test_the_migrations_build_exactly_the_schema_of_the_models(db):
    db.upgrade()
    assert db.schema_revision() == head()
    assert db.schema_differences() == []


def test_every_migration_goes_down_and_up_again(db):
    db.upgrade()
    command.downgrade(alembic_config(db), "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    db.upgrade()
    assert db.schema_differences() == []


def test_on_postgresql_the_migrations_make_audit_events_append_only(pg_db):
    pg_db.upgrade()
    with pg_db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_events (chain, seq, prev_hash, hash, at, type, data)"
                " VALUES ('system', 1, 'p', 'h', now(), 'test', '{}')"
            )
        )
    for statement in ("UPDATE audit_events SET type = 'forged'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), pg_db.engine.begin() as connection:
            connection.execute(text(statement))


def test_a_database_made_before_migrations_is_adopted_then_upgraded(db):
    db.upgrade("0001")  # the schema create_all made before there were migrations …
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))  # … and nothing recorded
    assert db.schema_revision() is None
    db.upgrade()
    assert db.schema_revision() == head()
    assert db.schema_differences() == []


@pytest.mark.multiprocess
def test_several_processes_upgrading_at_once_all_succeed(database_url):
    # Processes, not threads: Alembic's `context` is one per process.
    command_line = [sys.executable, "-m", "webui.cli", "--database", database_url, "db", "upgrade"]
    processes = [
        subprocess.Popen(command_line, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert [p.returncode for p in processes] == [0] * 4, outputs
    db = Database(database_url)
    try:
        assert db.schema_revision() == head()
        assert db.schema_differences() == []
    finally:
        db.dispose()


def test_dingdan_db_upgrade_and_setup_run_the_migrations(database_url, capsys):
    assert main(["--database", database_url, "db", "upgrade"]) == 0
    assert f"revision {head()}" in capsys.readouterr().out
    assert main(["--database", database_url, "db", "upgrade"]) == 0  # again: nothing to do
    system = build(database_url)
    try:
        system.setup()
        assert system.db.schema_revision() == head()
        assert system.db.schema_differences() == []
    finally:
        system.db.dispose()


def test_create_all_makes_the_same_schema_recorded_as_the_latest_migration(db):
    """What the tests' fixtures use, being quicker: `upgrade` then finds nothing to do."""
    db.create_all()
    assert db.schema_revision() == head()
    assert db.schema_differences() == []
    db.upgrade()
    assert db.schema_revision() == head()
