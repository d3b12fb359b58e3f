"""Statements run on the database driver's own connection, inside the session's
transaction: the step's lock and rows (engine/lock_rows.py, engine/row_writes.py), where
SQLAlchemy's execution path cost more than the statements themselves."""

from contextlib import closing


def cursor(session):
    """A driver cursor on the session's connection (its transaction begun), closed after
    the `with` block."""
    return closing(session.connection().connection.driver_connection.cursor())


def placeholder(dialect) -> str:
    """The driver's mark for a positional parameter: sqlite3's `?`, psycopg's `%s`."""
    return "?" if dialect.paramstyle == "qmark" else "%s"
