"""On SQLite, write transactions queue on a file lock beside the database, held from
before BEGIN IMMEDIATE until the connection is back in the pool."""

import fcntl
import os
import threading

import pytest
from sqlalchemy import event, text

from webui.composition import build


@pytest.fixture
def db(tmp_path):
    system = build(f"sqlite:///{tmp_path / 'dingdan.sqlite3'}")
    system.db.create_all()
    yield system.db
    system.db.dispose()


def _held(db) -> bool:
    """Whether someone holds the queue (tried from a file description of our own)."""
    fd = os.open(db.write_queue.path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _within(seconds, *functions):
    """Run each function in a thread of its own; what each raised (None: nothing), or a
    failure when one has not finished in `seconds` (a deadlock)."""
    raised = [None] * len(functions)

    def run(n, function):
        try:
            function()
        except Exception as exc:
            raised[n] = exc

    threads = [
        threading.Thread(target=run, args=item, daemon=True) for item in enumerate(functions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds)
        assert not thread.is_alive(), "a writer never got through: the queue deadlocked"
    return raised


def test_a_write_holds_the_queue_until_its_connection_is_back_in_the_pool(db):
    session = db.session()
    session.execute(text("SELECT 1"))
    assert _held(db)
    session.commit()
    assert not _held(db)
    session.execute(text("SELECT 1"))
    assert _held(db)
    session.rollback()
    assert not _held(db)
    session.close()


def test_the_queue_is_taken_before_begin_immediate(db):
    # After it, a writer holding SQLite's lock could wait here for one that waits for it.
    held_at_begin = []

    def _seen(statement):
        if statement.startswith("BEGIN IMMEDIATE"):
            held_at_begin.append(_held(db))

    db.engine.dispose()  # the next connection is a new one, traced

    @event.listens_for(db.engine, "connect")
    def _trace(dbapi_connection, _record):  # what the driver runs, however it is sent
        dbapi_connection.set_trace_callback(_seen)

    with db.session() as session, session.begin():
        session.execute(text("SELECT 1"))
    assert held_at_begin == [True]


def test_reads_do_not_queue(db):
    with db.session(read_only=True) as session:
        session.execute(text("SELECT 1"))
        assert not _held(db)


def test_a_connection_kept_after_its_commit_keeps_the_queue_and_does_not_wait_for_itself(db):
    def write_twice():
        with db.engine.connect() as kept:
            kept.execute(text("SELECT 1"))
            kept.commit()
            kept.execute(text("SELECT 1"))  # a second transaction on the same connection
            kept.rollback()
            with db.engine.begin() as other:  # and one on another, the same thread
                other.execute(text("SELECT 1"))

    assert _within(30, write_twice) == [None]
    assert not _held(db)


def test_writers_from_many_threads_all_get_through(db):
    def write():
        for _ in range(20):
            with db.session() as session, session.begin():
                session.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
                session.execute(text("INSERT INTO t VALUES (1)"))

    assert _within(60, *[write] * 6) == [None] * 6
    with db.session(read_only=True) as session:
        assert session.scalar(text("SELECT count(*) FROM t")) == 120
    assert not _held(db)


def test_only_sqlite_files_queue(tmp_path):
    assert build("sqlite://").db.write_queue is None
