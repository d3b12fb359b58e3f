"""File numbers DD-YYYY-NNNN: unique and gap-free per year.

The counter row is incremented inside the step's own transaction, so a step that fails
rolls its number back, and two steps racing for the next number queue on the row lock.
"""

import functools
from datetime import datetime

from sqlalchemy import bindparam, update

from . import driver_sql
from .calendar import SHANGHAI
from .db import insert_on_conflict
from .models import Counter

_COUNTERS = Counter.__table__
# Core statements, built once: a number is taken inside a step's transaction, where every
# statement it saves shortens the time other steps queue on the counter's row.
_INCREMENT = (
    update(_COUNTERS)
    .where(_COUNTERS.c.name == bindparam("counter"))
    .values(value=_COUNTERS.c.value + 1)
    .returning(_COUNTERS.c.value)
)


def next_file_number(session, prefix: str, now: datetime) -> str:
    year = now.astimezone(SHANGHAI).year
    name = f"{prefix}-{year}"
    value = driver_sql.scalar(session, _INCREMENT, {"counter": name})
    if value is None:  # the year's first number: create its row (a racing creator waits)
        session.execute(_create(session.get_bind().dialect.name), {"name": name, "value": 0})
        value = session.execute(_INCREMENT, {"counter": name}).scalar_one()
    return f"{prefix}-{year}-{value:04d}"


@functools.cache
def _create(dialect: str):
    return insert_on_conflict(dialect)(_COUNTERS).on_conflict_do_nothing()
