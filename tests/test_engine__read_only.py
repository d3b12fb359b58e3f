"""Read-only units of work: a long read (a report, a list) never holds up a step, and
nothing it does is kept."""

import threading
from contextlib import nullcontext

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, InvalidRequestError

from engine.models import Counter
from engine.uow import UnitOfWork


def _counter(system, name):
    with system.engine.unit_of_work() as uow:
        row = uow.session.get(Counter, name)
        return row.value if row else None


def test_a_write_goes_ahead_while_a_read_is_open(system):
    with system.engine.unit_of_work() as uow:
        uow.session.add(Counter(name="reads", value=1))
    done = threading.Event()

    def write():
        with system.engine.unit_of_work() as uow:
            uow.session.get(Counter, "reads").value = 2
        done.set()

    with UnitOfWork(system.engine, read_only=True) as reading:
        assert reading.session.scalar(select(Counter.value).where(Counter.name == "reads")) == 1
        writer = threading.Thread(target=write)
        writer.start()
        # A read that took SQLite's write lock would keep the writer waiting until it ends.
        assert done.wait(10), "the write waited for the read to end"
        # The read still sees the database as it was when it began.
        assert reading.session.scalar(select(Counter.value).where(Counter.name == "reads")) == 1
    writer.join()
    assert _counter(system, "reads") == 2


def test_what_a_read_only_unit_changes_is_not_kept(system, database_url):
    refused = pytest.raises(DBAPIError) if database_url.startswith("postgresql") else nullcontext()
    with refused, UnitOfWork(system.engine, read_only=True) as reading:
        reading.session.add(Counter(name="never", value=7))
        reading.session.flush()  # PostgreSQL refuses it in a read-only transaction
    assert _counter(system, "never") is None


def test_a_read_of_one_statement_refuses_to_write(system):
    # On PostgreSQL it runs without a transaction: a write there could not be undone.
    refused = pytest.raises(InvalidRequestError, match="writes nothing")
    with refused, system.engine.single_read() as reading:
        reading.session.add(Counter(name="never", value=7))
        reading.session.flush()
    assert _counter(system, "never") is None


def test_a_read_sees_what_it_reads_after_it_ended(system):
    with system.engine.unit_of_work() as uow:
        uow.session.add(Counter(name="seen", value=3))
    with system.engine.unit_of_work(read_only=True) as reading:
        row = reading.session.get(Counter, "seen")
    assert row.value == 3  # not expired by the end of the read (a COMMIT on PostgreSQL)
    with system.engine.single_read() as reading:
        row = reading.session.get(Counter, "seen")
    assert row.value == 3
