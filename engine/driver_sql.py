"""Statements run on the database driver's own connection, inside the session's
transaction: the step's lock and rows (engine/lock_rows.py, engine/row_writes.py), and the
few small statements every request runs (its token, a completion's answer, a step's file
number and settled rows), where SQLAlchemy's execution path cost more than the statements
themselves."""

from collections import namedtuple
from contextlib import closing, contextmanager, nullcontext

from psycopg.pq import TransactionStatus

_plans: dict = {}
_IDLE = TransactionStatus.IDLE
_CONNECTED = "driver_sql_connected"  # session.info key: (transaction, what `connected` gave)


def connection(session):
    """The driver's own connection under the session's (its transaction begun)."""
    return connected(session)[1]


def connected(session):
    """(dialect, the driver's own connection) of the session's connection, its transaction
    begun. Kept for the transaction: a step asks a dozen times, and session.connection()
    goes through the session's transaction machinery each time (a transaction keeps its
    connection to its end)."""
    transaction = session.get_transaction()
    kept = session.info.get(_CONNECTED)
    if kept is not None and transaction is not None and kept[0] is transaction:
        return kept[1]
    bound = session.connection()
    found = bound.dialect, bound.connection.driver_connection
    session.info[_CONNECTED] = (session.get_transaction(), found)
    return found


def cursor(session):
    """A driver cursor on the session's connection, closed after the `with` block."""
    return closing(connection(session).cursor())


@contextmanager
def pipelined(session, single: bool = False):
    """Statements on the session's connection sent without waiting for each answer (psycopg's
    pipeline mode): the answers come back together when the block ends, a step's writes in
    one round trip instead of one each. A statement that fails raises then. Where the driver
    has no pipeline (sqlite3, in process), or nothing began a transaction (nothing to
    write), the block runs as it is. A `single` statement goes in a pipeline only to take
    the transaction's pending BEGIN along: otherwise the pipeline's own messages cost more
    than they save (40 µs a statement, measured)."""
    pipeline = None
    if session.in_transaction():
        driver = connection(session)
        pipeline = getattr(driver, "pipeline", None)
        if single and pipeline is not None and not _begin_pending(driver):
            pipeline = None
    with pipeline() if pipeline is not None else nullcontext():
        yield


def _begin_pending(driver) -> bool:
    """Whether psycopg sends a BEGIN before the next statement (a transaction, not yet
    begun on the server)."""
    return not driver.autocommit and driver.info.transaction_status == _IDLE


def placeholder(dialect) -> str:
    """The driver's mark for a positional parameter: sqlite3's `?`, psycopg's `%s`."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


def rows(session, statement, parameters: dict | None = None) -> list:
    """The rows of a Core statement (a select, or a write with RETURNING) that is built
    once, run as the session's connection would run it: its text compiled once per
    dialect, values converted by the columns' own types both ways. Each row is a named
    tuple of the statement's columns. A write without RETURNING gives []."""
    return rows_together(session, (statement, parameters))[0]


def rows_together(session, *queries) -> list[list]:
    """The rows of each (statement, parameters) as `rows` gives them, the statements sent
    together (`pipelined`): one round trip for all of them, and for the BEGIN that may
    precede them."""
    return [
        [] if plan.row is None else [plan.converted(row) for row in found]
        for plan, found in _fetched(session, queries)
    ]


def driver_rows(session, statement, parameters: dict | None = None) -> tuple[list, list]:
    """The rows of a select built once as the driver gives them (plain tuples, no value
    converted), and each column's reader (None: the driver's value as it is): for a page
    of hundreds of rows, where a named tuple of converted values a row costs more than the
    query, the caller converts only the columns that need it."""
    ((plan, found),) = _fetched(session, [(statement, parameters)])
    return found, plan.readers


def _fetched(session, queries) -> list[tuple["_Plan", list]]:
    dialect, driver = connected(session)
    plans, cursors = [], []
    try:
        with pipelined(session, single=len(queries) == 1):
            for statement, parameters in queries:
                plan = _plan(statement, dialect)
                found = driver.cursor()
                cursors.append(found)
                found.execute(plan.sql, plan.parameters(parameters or {}))
                plans.append(plan)
        return [
            (plan, found.fetchall() if plan.row is not None else [])
            for plan, found in zip(plans, cursors, strict=True)
        ]
    finally:
        for found in cursors:
            found.close()


def send(session, queries) -> None:
    """Run these writes (statement, parameters), built once, without reading an answer:
    inside a `pipelined` block they go out with its other statements, in its round trip."""
    dialect, driver = connected(session)
    with closing(driver.cursor()) as found:
        for statement, parameters in queries:
            plan = _plan(statement, dialect)
            found.execute(plan.sql, plan.parameters(parameters or {}))


def scalar(session, statement, parameters: dict | None = None):
    """The first column of the first row, or None when there is none."""
    found = rows(session, statement, parameters)
    return found[0][0] if found else None


def _plan(statement, dialect) -> "_Plan":
    key = (id(statement), dialect.name)
    plan = _plans.get(key)
    if plan is None or plan.statement is not statement:
        plan = _plans[key] = _Plan(statement, dialect)
    return plan


class _Plan:
    """A statement's text for one dialect, how to bind its parameters and read its rows."""

    def __init__(self, statement, dialect):
        self.statement = statement  # kept: the cache's key is its id
        compiled = statement.compile(dialect=dialect)
        if any(bind.expanding for bind in compiled.bind_names):
            raise ValueError("an IN list's parameter is expanded per call: not for rows()")
        self.sql = compiled.string
        self.names = compiled.positiontup if dialect.positional else None
        # literal values (`state == "open"`) are parameters too
        self.defaults = {name: bind.effective_value for bind, name in compiled.bind_names.items()}
        self.binders = {
            name: processor
            for bind, name in compiled.bind_names.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
        }
        columns = list(statement.exported_columns)  # a write's: those it RETURNs
        self.row = namedtuple("Row", [c.key for c in columns], rename=True) if columns else None
        self.readers = [
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
        ]

    def parameters(self, given: dict):
        """The statement's own parameters (any other given is left out), converted."""
        values = {name: given.get(name, default) for name, default in self.defaults.items()}
        for name, bind in self.binders.items():
            if values.get(name) is not None:
                values[name] = bind(values[name])
        return tuple(values[n] for n in self.names) if self.names is not None else values

    def converted(self, row):
        return self.row._make(
            [
                value if read is None or value is None else read(value)
                for read, value in zip(self.readers, row, strict=True)
            ]
        )
