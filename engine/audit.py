"""The audit log: one event per change, written in the same transaction as the change."""

from sqlalchemy import func, select

from .models import AuditEvent


def record(session, instance_id, type_, at, *, actor=None, element=None, task_id=None, data=None):
    """Append an event; the caller holds the instance's lock, so seq cannot race."""
    seq = _next_seq(session, instance_id)
    event = AuditEvent(
        instance_id=instance_id,
        seq=seq,
        at=at,
        type=type_,
        actor=actor,
        element=element,
        task_id=task_id,
        data=data or {},
    )
    session.add(event)
    return event


def _next_seq(session, instance_id) -> int:
    # Read the stored maximum once per transaction, then count on from it.
    counters = session.info.setdefault("audit_seq", {})
    if instance_id not in counters:
        counters[instance_id] = (
            session.scalar(
                select(func.max(AuditEvent.seq)).where(AuditEvent.instance_id == instance_id)
            )
            or 0
        )
    counters[instance_id] += 1
    return counters[instance_id]


def history(session, instance_id) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.seq)
        )
    )
