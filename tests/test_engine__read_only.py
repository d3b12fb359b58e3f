"""Read-only units of work: a long read (a report, a list) never holds up a step, and
nothing it does is kept."""

import threading
from contextlib import nullcontext

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

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
