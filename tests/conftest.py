"""Shared fixtures: a fresh system on a fresh database — SQLite, and the local PostgreSQL."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from engine import fast_tasks, projection, sweep
from engine.clock import SettableClock
from webui.composition import build

from .driver import Driver
from .postgres import postgres_schema

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Wednesday before the National Day holidays, mid-morning in Beijing.
START = datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def check_fast_answers(monkeypatch):
    """Every answer the engine's and the replay's workflows give from their own table of
    unfinished tasks is held against SpiffWorkflow's own walk of the tree, and what a step
    keeps of the rows for the next against the workflow."""
    monkeypatch.setattr(fast_tasks, "CHECK_FAST_TASKS", True)
    monkeypatch.setattr(projection, "CHECK_LEFT", True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'dingdan.sqlite3'}"
        return
    with postgres_schema("test") as url:
        yield url


@pytest.fixture
def clock():
    return SettableClock(START)


@pytest.fixture
def small_batches(monkeypatch):
    """Timer sweeps in batches of three instances, so that a few instances take several."""
    monkeypatch.setattr(sweep, "BATCH_SIZE", {"postgresql": 3, "sqlite": 3})


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
