"""File numbers DD-YYYY-NNNN: unique and gap-free per year.

The counter row is incremented inside the step's own transaction, so a step that fails
rolls its number back, and two steps racing for the next number queue on the row lock.
"""

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from .calendar import SHANGHAI
from .models import Counter

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def next_file_number(session, prefix: str, now: datetime) -> str:
    year = now.astimezone(SHANGHAI).year
    name = f"{prefix}-{year}"
    insert = _INSERT[session.get_bind().dialect.name]
    # Create the year's row if it is missing; a racing creator waits here and does nothing.
    session.execute(insert(Counter).values(name=name, value=0).on_conflict_do_nothing())
    value = session.execute(
        update(Counter)
        .where(Counter.name == name)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    ).scalar_one()
    return f"{prefix}-{year}-{value:04d}"
