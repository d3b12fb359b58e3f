"""A step's rows written as plain DB-API statements at commit.

The ORM's flush sorts a unit of work, builds and executes statements through SQLAlchemy's
execution machinery and keeps books on every object; for the few rows a step writes — the
instance's UPDATE, a task or two, the audit events — that Python cost several times what
the database does (benchmarks/PROFILE.md, seventh round). The step's own tables are
written here instead: one INSERT or UPDATE text per table and column set, made once per
process, the values converted by the columns' own types, and executed on the driver's
connection inside the session's transaction. The instance's version is checked as the
ORM checks it. Everything else in the session is left to the ORM's flush, which follows.
"""

from sqlalchemy import inspect
from sqlalchemy.orm.exc import StaleDataError

from .models import HumanTask, Instance, StateSegment, Timer

# The tables a step writes, in the order their rows go in (the others name the instance).
STEP_MODELS = (Instance, HumanTask, Timer, StateSegment)
_RANK = {model: rank for rank, model in enumerate(STEP_MODELS)}


def flush_step_rows(session) -> None:
    """Write the session's new and changed rows of the step tables; they leave the session
    written (its transaction commits next). Left to the ORM when the session also holds
    something they may depend on or that must be deleted."""
    new = [o for o in session.new if type(o) in _RANK]
    changed = [o for o in session.dirty if type(o) in _RANK]
    if not (new or changed) or session.deleted or _other_new_referenced(session):
        return
    writer = _Writer(session)
    new.sort(key=lambda o: _RANK[type(o)])
    for obj in new:
        writer.insert(obj)
    for obj in sorted(changed, key=lambda o: _RANK[type(o)]):
        writer.update(obj)
    for obj in new + changed:
        session.expunge(obj)


def _other_new_referenced(session) -> bool:
    """A new row of another table that a step table refers to (a process version deployed
    in the same transaction as its first instance) must be written first: the ORM's job."""
    return any(type(o).__table__ in _REFERENCED for o in session.new if type(o) not in _RANK)


_REFERENCED = {fk.column.table for model in STEP_MODELS for fk in model.__table__.foreign_keys} - {
    model.__table__ for model in STEP_MODELS
}


def insert_many(session, table, names: tuple, rows: list[dict], on_conflict: str = "") -> None:
    """INSERT these rows (dicts of the `names` columns) in one executemany; `on_conflict`,
    the statement's ON CONFLICT clause when there is one."""
    dialect = session.connection().dialect
    cache_key = (dialect.name, table.name, names, on_conflict)
    plan = _plans.get(cache_key)
    if plan is None:
        sql = _insert_sql(dialect, table.name, names) + on_conflict
        plan = _plans[cache_key] = (sql, _converters(dialect, [table.c[n] for n in names]))
    sql, procs = plan
    _execute(session, sql, [_converted([r[n] for n in names], procs) for r in rows], many=True)


def _execute(session, sql: str, rows: list[tuple], many=False) -> int:
    """Run one statement on the session's connection (inside its transaction); the number
    of rows it changed."""
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        if many:
            cursor.executemany(sql, rows)
        else:
            cursor.execute(sql, rows[0])
        return cursor.rowcount
    finally:
        cursor.close()


def _placeholder(dialect) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _converters(dialect, columns) -> list:
    """Each column's conversion of a Python value to what the driver takes (None: as is)."""
    return [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]


def _converted(values, procs) -> tuple:
    return tuple(v if p is None or v is None else p(v) for v, p in zip(values, procs, strict=True))


class _Writer:
    def __init__(self, session):
        self.session = session
        self.dialect = session.connection().dialect

    def insert(self, obj) -> None:
        table = type(obj).__table__
        values = obj.__dict__
        for column in table.columns:  # the columns' Python defaults, as the ORM applies them
            if values.get(column.key) is None and column.default is not None:
                setattr(obj, column.key, _default(column))
        sql, procs = _plan(self.dialect, table, None, None)
        row = _converted([values.get(c.key) for c in table.columns], procs)
        _execute(self.session, sql, [row])

    def update(self, obj) -> None:
        state = inspect(obj)
        mapper = state.mapper
        table = mapper.local_table
        keys = tuple(sorted(k for k in state.committed_state if k in table.c))
        if not keys:
            return
        version = mapper.version_id_col
        values = obj.__dict__
        set_values = [values[k] for k in keys]
        where = [values[mapper.primary_key[0].key]]
        if version is not None:
            old = values[version.key]
            set_values.append(old + 1)
            where.append(old)
        sql, procs = _plan(self.dialect, table, keys, version)
        if _execute(self.session, sql, [_converted(set_values, procs) + tuple(where)]) != 1:
            raise StaleDataError(f"{table.name} {where[0]} was changed meanwhile")
        if version is not None:
            values[version.key] = old + 1


def _default(column):
    default = column.default
    return default.arg(None) if default.is_callable else default.arg


_plans: dict = {}


def _plan(dialect, table, keys, version) -> tuple[str, list]:
    """The statement's text and its values' converters: an INSERT of every column (keys
    None) or an UPDATE of these columns (and the version) by primary key; made once."""
    cache_key = (dialect.name, table.name, keys)
    plan = _plans.get(cache_key)
    if plan is None:
        if keys is None:
            columns = list(table.columns)
            sql = _insert_sql(dialect, table.name, [c.name for c in columns])
        else:
            columns = [table.c[k] for k in keys] + ([version] if version is not None else [])
            sql = _update_sql(dialect, table, [c.name for c in columns], version)
        plan = _plans[cache_key] = (sql, _converters(dialect, columns))
    return plan


def _insert_sql(dialect, table_name, names) -> str:
    quote = dialect.identifier_preparer.quote
    marks = ", ".join([_placeholder(dialect)] * len(names))
    return f"INSERT INTO {quote(table_name)} ({', '.join(map(quote, names))}) VALUES ({marks})"


def _update_sql(dialect, table, names, version) -> str:
    quote, mark = dialect.identifier_preparer.quote, _placeholder(dialect)
    sets = ", ".join(f"{quote(n)} = {mark}" for n in names)
    where = f"{quote(list(table.primary_key)[0].name)} = {mark}"
    if version is not None:
        where += f" AND {quote(version.name)} = {mark}"
    return f"UPDATE {quote(table.name)} SET {sets} WHERE {where}"
