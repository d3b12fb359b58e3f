"""Which waiting timers are due by a time: the query the sweep claims its batches from
(engine/sweep.py) and the read-ahead looks ahead with (engine/prefetch.py). Timers of
instances that are not running, or are suspended, wait; the order is (due_at, id), and
`after` continues past the last (due_at, id) already taken; `since` leaves out timers due
before it.
"""

from sqlalchemy import select, tuple_

from .models import Instance, Timer


def due_by(columns, until, after=None, limit=None, since=None):
    query = (
        select(*columns)
        .join(Timer, Timer.instance_id == Instance.id)
        .where(
            Timer.state == "waiting",
            Timer.due_at <= until,
            Instance.status == "running",
            Instance.suspended.is_(False),
        )
        .order_by(Timer.due_at, Timer.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(Timer.due_at, Timer.id) > tuple_(*after))
    if since is not None:
        query = query.where(Timer.due_at >= since)
    return query
