"""Shared fixtures: a fresh system on a fresh database — SQLite, and the local PostgreSQL."""

import os
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from engine.clock import SettableClock
from webui.composition import build

from .driver import Driver

SHANGHAI = ZoneInfo("Asia/Shanghai")
PG_URL = os.environ.get(
    "DINGDAN_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Wednesday before the National Day holidays, mid-morning in Beijing.
START = datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'dingdan.sqlite3'}"
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def clock():
    return SettableClock(START)


@pytest.fixture
def system(database_url, clock, tmp_path):
    system = build(database_url, clock=clock)
    system.drafts.directory = tmp_path / "drafts"  # each test its own diagram drafts
    system.db.create_all()  # quicker than the migrations, which test_engine__migrations runs
    system.setup()
    yield system
    system.db.dispose()


@pytest.fixture
def driver(system, clock):
    return Driver(system, clock)
