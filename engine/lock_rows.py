"""The lock's one statement, run on the driver's connection; its rows made the session's
objects.

Every step starts with one statement that locks its instance: by its id or by one of its
tasks', with its stored state when this process holds no workflow of it, and its audit
chain's head. Through the ORM that statement cost a step more than anything the database
did for it (the statement's cache key worked out afresh, the loading machinery); here its
text is made once per process and dialect, the row's values converted by the columns' own
types, and the objects put in the session as loaded — as the ORM would have, its
`populate_existing` included.
"""

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from . import driver_sql
from .models import AuditHead, HumanTask, Instance
from .row_writes import new_row

_plans: dict = {}


def run(session, by_task: bool, with_state: bool, with_head: bool, id_: str):
    """(instance, [task,] [head seq, head hash]) for the instance (`by_task`: the task)
    with this id, locked, the entities in the session; None when there is none."""
    connection = session.connection()
    dialect = connection.dialect
    key = (dialect.name, by_task, with_state, with_head)
    plan = _plans.get(key)
    if plan is None:
        plan = _plans[key] = _Plan(dialect, by_task, with_state, with_head)
    with driver_sql.cursor(session) as cursor:
        with driver_sql.pipelined(session, single=True):  # with its BEGIN: one round trip
            cursor.execute(plan.sql, plan.parameters(id_))
        found = cursor.fetchone()
    return None if found is None else plan.objects(session, found)


class _Plan:
    """One of the lock's statements: its text, and how to read its row."""

    def __init__(self, dialect, by_task: bool, with_state: bool, with_head: bool):
        self.models = [Instance, HumanTask] if by_task else [Instance]
        # (model or None, attribute key, column), in the row's order
        self.parts = [
            (model, column.key, column)
            for model in self.models
            for column in model.__table__.columns
            if with_state or column is not Instance.__table__.c.state
        ]
        if with_head:
            self.parts += [(None, "seq", AuditHead.seq), (None, "hash", AuditHead.hash)]
        statement = _statement(dialect.name == "sqlite", by_task, with_head, self.parts)
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.names = compiled.positiontup if dialect.positional else None
        self.converters = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for _, _, column in self.parts
        ]

    def parameters(self, id_: str):
        return tuple(id_ for _ in self.names) if self.names is not None else {"id": id_}

    def objects(self, session, row) -> list:
        values: dict = {model: {} for model in self.models}
        plain = []
        for (model, key, _), convert, value in zip(self.parts, self.converters, row, strict=True):
            if convert is not None and value is not None:
                value = convert(value)
            if model is None:
                plain.append(value)
            else:
                values[model][key] = value
        return [_persistent(session, model, values[model]) for model in self.models] + plain


def _statement(sqlite: bool, by_task: bool, with_head: bool, parts):
    """On SQLite BEGIN IMMEDIATE has serialised writers, so every row read is the latest:
    the task and the chain's head join as plain rows. On PostgreSQL a lock that waited
    re-reads only the rows it locks at their latest version, any other joined row as the
    statement's snapshot had it, so the task and the head are locked too (a step writes
    them anyway, in this order: instance, tasks, head)."""
    query = select(*[column for _, _, column in parts])
    if by_task:
        query = query.select_from(Instance.__table__).join(
            HumanTask.__table__, HumanTask.instance_id == Instance.id
        )
        query = query.where(HumanTask.id == bindparam("id"))
    else:
        query = query.select_from(Instance.__table__).where(Instance.id == bindparam("id"))
    if with_head:
        join = query.outerjoin if sqlite else query.join
        query = join(AuditHead.__table__, AuditHead.chain == Instance.id)
    if not sqlite:
        locked = [Instance.__table__] + ([HumanTask.__table__] if by_task else [])
        locked += [AuditHead.__table__] if with_head else []
        query = query.with_for_update(of=locked)
    return query


def _persistent(session, model, values: dict):
    """The session's object of this row, its attributes the row's values (those of an
    object the session already has are overwritten, as `populate_existing` does)."""
    mapper = inspect(model)
    identity = mapper.identity_key_from_primary_key([values[mapper.primary_key[0].key]])
    existing = session.identity_map.get(identity)
    if existing is not None:
        for key, value in values.items():
            set_committed_value(existing, key, value)
        return existing
    obj = new_row(model, **values)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj
