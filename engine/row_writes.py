"""A step's rows written as plain DB-API statements at commit.

The ORM's flush sorts a unit of work, builds and executes statements through SQLAlchemy's
execution machinery and keeps books on every object; for the few rows a step writes — the
instance's UPDATE, a task or two, a notice, the audit events — that Python cost several
times what the database does (benchmarks/PROFILE.md, seventh round). The step's own tables
are written here instead: one INSERT or UPDATE text per table and column set, made once
per process, the values converted by the columns' own types, and executed on the driver's
connection inside the session's transaction (on PostgreSQL sent together, one round trip:
driver_sql.pipelined). The instance's version is checked as the ORM checks it. Everything
else in the session is left to the ORM's flush, which follows.
"""

from sqlalchemy import inspect
from sqlalchemy.orm.exc import StaleDataError

from . import driver_sql
from .models import HumanTask, Instance, Notice, StateSegment, Timer

# The tables a step writes, in the order their rows go in (the others name the instance).
STEP_MODELS = (Instance, HumanTask, Timer, StateSegment, Notice)
_RANK = {model: rank for rank, model in enumerate(STEP_MODELS)}


def flush_step_rows(session) -> list:
    """Write the session's new and changed rows of the step tables; they leave the session
    written (its transaction commits next). Left to the ORM when the session also holds
    something they may depend on or that must be deleted. Returns the version checks, to
    run once the statements have answered (`check_versions`): in a pipeline
    (driver_sql.pipelined) an UPDATE's row count is known only at the block's end."""
    all_new, all_dirty = list(session.new), list(session.dirty)
    new = [o for o in all_new if type(o) in _RANK]
    changed = [o for o in all_dirty if type(o) in _RANK]
    if not (new or changed) or session.deleted or _other_new_referenced(session):
        return []
    dialect, driver = driver_sql.connected(session)
    cursor = driver.cursor()
    try:
        for obj in sorted(new, key=_rank):
            _insert(cursor, dialect, obj)
    finally:
        cursor.close()
    updates = [_update(driver, dialect, obj) for obj in sorted(changed, key=_rank)]
    if len(new) == len(all_new) and len(changed) == len(all_dirty):
        # Nothing else to write: the unit of work closes the session after its commit
        # anyway, so every object may leave it now (one call instead of one an object).
        session.expunge_all()
    else:
        for obj in new + changed:
            session.expunge(obj)
    return [update for update in updates if update is not None]


def defer(session, statement, parameters: dict) -> None:
    """A write of a row the step does not hold and whose answer nobody needs (a timer
    settled as cancelled): sent with the step's own rows (`write_deferred`), on PostgreSQL
    in their round trip instead of one of its own in the middle of the step."""
    session.info.setdefault(_DEFERRED, []).append((statement, parameters))


def write_deferred(session) -> None:
    """Send the writes deferred since the last call (the unit of work's commit, or a batch
    of timers stepped ahead before its savepoint ends)."""
    deferred = session.info.pop(_DEFERRED, None)
    if deferred:
        driver_sql.send(session, deferred)


def discard_deferred(session) -> None:
    """Forget the writes deferred since the last `write_deferred`: their steps were rolled
    back to a savepoint."""
    session.info.pop(_DEFERRED, None)


_DEFERRED = "row_writes_deferred"  # session.info key: [(statement, parameters)]


def new_row(model, **values):
    """A new object of `model` with these values, to add to a session: made as the ORM
    makes the objects it loads, without the constructor's attribute events (a step's
    task row has fifteen). Its INSERT, by `flush_step_rows` or the ORM's flush, reads the
    values from the object as the constructor's would have left them."""
    obj = inspect(model).class_manager.new_instance()
    obj.__dict__.update(values)
    return obj


def check_versions(updates: list) -> None:
    """Each UPDATE changed its row, else the row changed meanwhile: StaleDataError (and the
    object's version moves on only when it did)."""
    try:
        for update in updates:
            update.check()
    finally:
        for update in updates:
            update.cursor.close()


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
    sql, procs = _insert_plan(session.connection().dialect, table, names, on_conflict)
    with driver_sql.cursor(session) as cursor:
        cursor.executemany(sql, [_converted([r[n] for n in names], procs) for r in rows])


def _insert(cursor, dialect, obj) -> None:
    table = type(obj).__table__
    values = obj.__dict__
    for column in table.columns:  # the columns' Python defaults, as the ORM applies them
        if values.get(column.key) is None and column.default is not None:
            setattr(obj, column.key, _default(column))
    # a key the database numbers (a notice's) is left out: it numbers it
    numbered = table.autoincrement_column
    names = tuple(
        c.key for c in table.columns if c is not numbered or values.get(c.key) is not None
    )
    sql, procs = _insert_plan(dialect, table, names)
    cursor.execute(sql, _converted([values.get(n) for n in names], procs))


class _Update:
    """An UPDATE sent, its row count to be checked once it has answered."""

    def __init__(self, cursor, table, values: dict, version, row_id):
        self.cursor = cursor
        self.table = table
        self.values = values  # the object's attributes: its version moves on once checked
        self.version = version
        self.row_id = row_id

    def check(self) -> None:
        if self.cursor.rowcount != 1:
            raise StaleDataError(f"{self.table.name} {self.row_id} was changed meanwhile")
        if self.version is not None:
            self.values[self.version.key] += 1


def _rank(obj) -> int:
    return _RANK[type(obj)]


def _update(driver, dialect, obj) -> _Update | None:
    state = inspect(obj)
    mapper = state.mapper
    table = mapper.local_table
    keys = tuple(sorted(k for k in state.committed_state if k in table.c))
    if not keys:
        return None
    version = mapper.version_id_col
    values = obj.__dict__
    set_values = [values[k] for k in keys]
    where = [values[mapper.primary_key[0].key]]
    if version is not None:
        old = values[version.key]
        set_values.append(old + 1)
        where.append(old)
    sql, procs = _update_plan(dialect, table, keys, version)
    # a cursor of its own: its row count is this statement's
    cursor = driver.cursor()
    cursor.execute(sql, _converted(set_values, procs) + tuple(where))
    return _Update(cursor, table, values, version, where[0])


def _default(column):
    default = column.default
    return default.arg(None) if default.is_callable else default.arg


def _converters(dialect, columns) -> list:
    """Each column's conversion of a Python value to what the driver takes (None: as is)."""
    return [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]


def _converted(values, procs) -> tuple:
    # a list made at once, not a generator resumed for each of a row's values
    return tuple(
        [v if p is None or v is None else p(v) for v, p in zip(values, procs, strict=True)]
    )


# (dialect, table, "insert" or "update", columns, clause) -> (text, converters): each
# statement's text and its values' converters, made once per process
_plans: dict = {}


def _insert_plan(dialect, table, names: tuple, on_conflict: str = "") -> tuple[str, list]:
    cache_key = (dialect.name, table.name, "insert", names, on_conflict)
    plan = _plans.get(cache_key)
    if plan is None:
        quote = dialect.identifier_preparer.quote
        marks = ", ".join([driver_sql.placeholder(dialect)] * len(names))
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, names))}) "
            f"VALUES ({marks}){on_conflict}"
        )
        plan = _plans[cache_key] = (sql, _converters(dialect, [table.c[n] for n in names]))
    return plan


def _update_plan(dialect, table, keys: tuple, version) -> tuple[str, list]:
    """An UPDATE of these columns (and the version, checked) by primary key."""
    cache_key = (dialect.name, table.name, "update", keys, "")
    plan = _plans.get(cache_key)
    if plan is None:
        quote, mark = dialect.identifier_preparer.quote, driver_sql.placeholder(dialect)
        columns = [table.c[k] for k in keys] + ([version] if version is not None else [])
        sets = ", ".join(f"{quote(c.name)} = {mark}" for c in columns)
        where = f"{quote(list(table.primary_key)[0].name)} = {mark}"
        if version is not None:
            where += f" AND {quote(version.name)} = {mark}"
        sql = f"UPDATE {quote(table.name)} SET {sets} WHERE {where}"
        plan = _plans[cache_key] = (sql, _converters(dialect, columns))
    return plan
