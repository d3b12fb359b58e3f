"""The Alembic environment, configured in code (engine/db.py `alembic_config`), no alembic.ini.

Every migration runs in one transaction that first takes a lock, so processes starting
together (several `serve` and `worker` processes) upgrade one after the other and the later
ones find the schema already at head: PostgreSQL takes an advisory lock, SQLite's BEGIN
IMMEDIATE (engine/db.py) holds its write lock. A database made before migrations existed
(tables, no `alembic_version`) is adopted as the baseline revision and upgraded from there.
"""

from alembic import context
from sqlalchemy import inspect, text

from engine.db import include_name
from engine.models import Base

MIGRATION_LOCK = 4243  # pg_advisory_xact_lock key; audit.py's system chain uses 4242
BASELINE = "0001"


def run_migrations_online() -> None:
    config = context.config
    database = config.attributes["database"]
    with database.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            include_name=include_name,
            transactional_ddl=True,  # SQLite too: the whole upgrade or nothing
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            tables = set(inspect(connection).get_table_names())
            if "instances" in tables and "alembic_version" not in tables:
                context.get_context().stamp(context.script, BASELINE)
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("dingdan migrations run against a database, not as SQL scripts")
run_migrations_online()
