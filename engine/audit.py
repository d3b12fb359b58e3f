"""The audit log: one event per change, written in the same transaction as the change.

Events form hash chains (see AuditEvent). `verify` recomputes them; on PostgreSQL a
trigger refuses any UPDATE or DELETE of an event, so only the database owner bypassing
it could alter one — and the chain would show that too.
"""

import hashlib
from datetime import UTC

from sqlalchemy import DDL, event, func, select, text, tuple_

from . import json_text, row_writes
from .models import AuditEvent, AuditHead

SYSTEM_CHAIN = "system"
GENESIS = "0" * 64


def record(session, instance_id, type_, at, *, actor=None, element=None, task_id=None, data=None):
    """Append an event; it is written with the others at commit (`write_pending`). An
    instance's events are serialised by the caller's lock on the instance; the system chain
    takes its own lock."""
    chain = instance_id or SYSTEM_CHAIN
    seq, prev_hash = _next_link(session, chain)
    row = {
        "chain": chain,
        "instance_id": instance_id,
        "seq": seq,
        "at": at,
        "type": type_,
        "actor": actor,
        "element": element,
        "task_id": task_id,
        "data": data or {},
        "prev_hash": prev_hash,
    }
    row["hash"] = _digest(prev_hash, row)
    session.info[_TAILS][chain] = (seq, row["hash"])
    session.info.setdefault(_PENDING, []).append(row)
    return row


def canonical(row: AuditEvent) -> str:
    """The event as canonical JSON: sorted keys, UTC times, no insignificant space."""
    return _canonical({name: getattr(row, name) for name in _HASHED})


def event_hash(row: AuditEvent) -> str:
    return _digest(row.prev_hash, {name: getattr(row, name) for name in _HASHED})


_HASHED = ("chain", "instance_id", "seq", "at", "type", "actor", "element", "task_id", "data")


def _canonical(fields: dict) -> str:
    return json_text.canonical(
        {
            **{name: fields[name] for name in _HASHED},
            "at": fields["at"].astimezone(UTC).isoformat(timespec="microseconds"),
        }
    )


def _digest(prev_hash: str, fields: dict) -> str:
    return hashlib.sha256((prev_hash + _canonical(fields)).encode("utf-8")).hexdigest()


# session.info key: the events recorded in this transaction and not yet written.
_PENDING = "audit_pending"
# session.info key: the events the transaction wrote, for whoever counts them once it
# commits (webui/metrics.py).
WRITTEN = "audit_written"

# session.info key: each chain's last link (seq, hash) in this transaction; `record` counts
# on from it and `write_pending` stores it at commit.
_TAILS = "audit_tail"


def _next_link(session, chain: str) -> tuple[int, str]:
    # Read the chain's tail once per transaction, then count on from it.
    tails = session.info.setdefault(_TAILS, {})
    if chain not in tails:
        if chain == SYSTEM_CHAIN and session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(4242)"))  # one writer at a time
        last = session.execute(
            select(AuditEvent.seq, AuditEvent.hash)
            .where(AuditEvent.chain == chain)
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        ).first()
        tails[chain] = (last.seq, last.hash) if last else (0, GENESIS)
    seq, prev_hash = tails[chain]
    return seq + 1, prev_hash


def know_tail(session, chain: str, seq: int, hash_: str) -> None:
    """The chain's last link as its head row gives it, read along with something else (the
    instance's lock): `record` needs no query of its own then."""
    session.info.setdefault(_TAILS, {}).setdefault(chain, (seq, hash_))


def read_tails(session, chains: list[str]) -> None:
    """The last links of these instance chains in one query, for a batch of steps that
    would otherwise read them one query each."""
    if not chains:
        return
    last = (
        select(AuditEvent.chain, func.max(AuditEvent.seq))
        .where(AuditEvent.chain.in_(chains))
        .group_by(AuditEvent.chain)
    )
    rows = session.execute(
        select(AuditEvent.chain, AuditEvent.seq, AuditEvent.hash).where(
            tuple_(AuditEvent.chain, AuditEvent.seq).in_(last)
        )
    )
    found = {chain: (seq, hash_) for chain, seq, hash_ in rows}
    tails = session.info.setdefault(_TAILS, {})
    for chain in chains:  # a chain this transaction already wrote to knows better
        tails.setdefault(chain, found.get(chain, (0, GENESIS)))


def write_pending(session) -> None:
    """Write the transaction's events, then each chain's new tail, one statement each
    (executemany on the driver's connection, engine/row_writes.py); the unit of work calls
    this just before it commits. Events go in as plain rows: the ORM's bookkeeping per
    object would cost a step more than the event itself."""
    rows = session.info.pop(_PENDING, [])
    tails = session.info.pop(_TAILS, {})
    if rows:
        row_writes.insert_many(session, AuditEvent.__table__, _EVENT_COLUMNS, rows)
        session.info.setdefault(WRITTEN, []).extend(rows)
    if tails:
        heads = [{"chain": c, "seq": seq, "hash": hash_} for c, (seq, hash_) in tails.items()]
        row_writes.insert_many(session, AuditHead.__table__, _HEAD_COLUMNS, heads, _HEAD_UPSERT)


_EVENT_COLUMNS = (
    "chain",
    "instance_id",
    "seq",
    "prev_hash",
    "hash",
    "at",
    "type",
    "actor",
    "element",
    "task_id",
    "data",
)
_HEAD_COLUMNS = ("chain", "seq", "hash")
# The same text on SQLite and PostgreSQL.
_HEAD_UPSERT = " ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"


def discard_pending(session) -> None:
    """Forget the events recorded since the last `write_pending` and the tails counted for
    them: their steps were rolled back to a savepoint."""
    session.info.pop(_PENDING, None)
    session.info.pop(_TAILS, None)


def history(session, instance_id) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.chain == instance_id).order_by(AuditEvent.seq)
        )
    )


def verify(session, chain: str | None = None) -> list[str]:
    """Recompute the chains (one, or all); the problems found, first one per chain."""
    query = select(AuditEvent).order_by(AuditEvent.chain, AuditEvent.seq)
    if chain is not None:
        query = query.where(AuditEvent.chain == chain)
    heads = {h.chain: h for h in session.scalars(select(AuditHead))}
    problems = []
    current, expected_seq, prev_hash, broken = None, 0, GENESIS, False
    tails = {}
    for row in session.scalars(query):
        if row.chain != current:
            current, expected_seq, prev_hash, broken = row.chain, 1, GENESIS, False
        tails[row.chain] = row
        if broken:
            continue
        where = f"chain {row.chain} event {row.seq} (id {row.id}, {row.type})"
        if row.seq != expected_seq:
            problems.append(f"{where}: expected event {expected_seq} — an event is missing")
            broken = True
        elif row.prev_hash != prev_hash:
            problems.append(
                f"{where}: does not follow the previous event — one was removed or changed"
            )
            broken = True
        elif event_hash(row) != row.hash:
            problems.append(f"{where}: its content does not match its hash — it was altered")
            broken = True
        expected_seq, prev_hash = row.seq + 1, row.hash
    for name, head in heads.items():
        if chain not in (None, name) or any(p.startswith(f"chain {name} ") for p in problems):
            continue
        tail = tails.get(name)
        if tail is None or (tail.seq, tail.hash) != (head.seq, head.hash):
            problems.append(
                f"chain {name} event {head.seq}: the chain ends at "
                f"{tail.seq if tail else 0} — events were cut off its end"
            )
    return problems


def count(session, chain: str | None = None) -> int:
    query = select(func.count()).select_from(AuditEvent)
    if chain is not None:
        query = query.where(AuditEvent.chain == chain)
    return session.scalar(query)


_REFUSE_CHANGES = DDL(
    """
    CREATE OR REPLACE FUNCTION dingdan_audit_append_only() RETURNS trigger AS $$
    BEGIN
      RAISE EXCEPTION 'audit events are append-only';
    END $$ LANGUAGE plpgsql;
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
      FOR EACH ROW EXECUTE FUNCTION dingdan_audit_append_only();
    """
).execute_if(dialect="postgresql")
event.listen(AuditEvent.__table__, "after_create", _REFUSE_CHANGES)
