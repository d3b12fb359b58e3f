"""Named leases: one process holds a name until its lease expires or it lets go.

A holder renews its lease well before it runs out; any other process may take a lease that
ran out, so a holder that died is replaced after at most `ttl`. Leases use the system's
real time — never a settable test clock — and each acquisition is one short transaction
(SQLite's BEGIN IMMEDIATE, or PostgreSQL's row lock on the lease, makes it atomic).

On SQLite the timer scheduler holds the lease `timer-scheduler`, so one scheduler sweeps
and the others stand by. Correctness never rests on a lease: every timer step re-reads its
instance under the database's lock, so a lease that lapses mid-sweep costs work, not a
second firing.
"""

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from .db import insert_on_conflict
from .models import Lease


def new_holder() -> str:
    """A name for this process's claim: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(db, name: str, holder: str, ttl: timedelta, now: datetime | None = None) -> bool:
    """Take or renew the lease `name` for `holder` until now + ttl. True if `holder` has it."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    insert = insert_on_conflict(db.engine.dialect.name)
    with db.session() as session, session.begin():
        session.execute(
            insert(Lease)
            .values(name=name, holder=holder, expires_at=now + ttl)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        lease = session.scalars(select(Lease).where(Lease.name == name).with_for_update()).one()
        if lease.holder != holder and lease.expires_at > now:
            return False  # someone else's, still running
        lease.holder = holder
        lease.expires_at = now + ttl
        return True


def release(db, name: str, holder: str) -> None:
    """Let go of `name` if `holder` has it, so a standby takes over at once."""
    with db.session() as session, session.begin():
        session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


def current(db, name: str) -> Lease | None:
    with db.session() as session:
        return session.get(Lease, name)
