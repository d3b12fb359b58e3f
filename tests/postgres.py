"""The local PostgreSQL the tests and benchmarks use, and a fresh schema of it per use.

Standard library and SQLAlchemy only: benchmarks/run.py imports it too."""

import os
import uuid
from contextlib import contextmanager

from sqlalchemy import create_engine, text

PG_URL = os.environ.get(
    "DINGDAN_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def postgres_schema(prefix: str = "test", database: str = PG_URL):
    """A fresh schema of `database`, as a URL every process can use; dropped after."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{database}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
