"""What a batch of steps reads, loaded for the whole batch at once (a query each instead of
one per instance); the audit chains' tails are engine/audit.py's `read_tails`.

The steps look rows up by id (`session.get`), which finds a row the session already holds
— but the session holds a loaded row only while something refers to it, so callers keep
what these functions return until the steps are done.
"""

from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from .models import Instance, Timer


def waiting_timers(session, instance_ids: list[str]) -> list[Timer]:
    return list(
        session.scalars(
            select(Timer)
            .where(Timer.instance_id.in_(instance_ids), Timer.state == "waiting")
            .execution_options(populate_existing=True)
        )
    )


def states(session, instances) -> None:
    """Read the stored state of these instances (a deferred column) in one query."""
    by_id = {i.id: i for i in instances}
    if not by_id:
        return
    query = select(Instance.id, Instance.state).where(Instance.id.in_(by_id))
    for instance_id, state in session.execute(query):
        set_committed_value(by_id[instance_id], "state", state)
