"""An instance's open tasks and waiting timers — what every completion's answer lists —
cost the same to read however long the instance's history: one index range each."""

import sys
from pathlib import Path

import pytest
from sqlalchemy.dialects import sqlite

from engine.clock import SettableClock
from tasks import records
from webui.composition import build

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import procedure  # noqa: E402
from run import LOOP_BPMN  # noqa: E402


@pytest.fixture
def loop_system(tmp_path):
    system = build(f"sqlite:///{tmp_path / 'loop.sqlite3'}", clock=SettableClock(procedure.NOW))
    system.db.create_all()
    with system.engine.unit_of_work() as uow:
        system.engine.deploy(uow, {"bench_loop.bpmn": LOOP_BPMN}, "owner")
    yield system
    system.db.dispose()


def _vm_steps(session, statement, params) -> int:
    """How much work SQLite's virtual machine does for the statement (in steps of 10
    instructions): it grows with every row the statement reads."""
    counted = [0]
    driver = session.connection().connection.driver_connection

    def count():
        counted[0] += 1

    driver.set_progress_handler(count, 10)
    try:
        session.execute(statement, params).all()
    finally:
        driver.set_progress_handler(None, 10)
    return counted[0]


def test_reading_an_instances_open_tasks_does_not_grow_with_its_history(loop_system):
    engine = loop_system.engine
    with engine.unit_of_work() as uow:
        old = engine.start(uow, "bench_loop", {}, "owner").id
        young = engine.start(uow, "bench_loop", {}, "owner").id
    for _ in range(300):
        assert procedure.complete_open(engine, old, "loop_work", {"again": True})
    with engine.unit_of_work(read_only=True) as uow:
        steps = {
            who: _vm_steps(uow.session, records._OPEN_TASKS, {"instance_id": who})
            for who in (old, young)
        }
        assert len(uow.session.execute(records._OPEN_TASKS, {"instance_id": old}).all()) == 1
    assert steps[young] > 0
    assert steps[old] <= steps[young] + 2, steps  # 300 finished tasks read would be hundreds


@pytest.mark.parametrize(
    ("statement", "index"),
    [
        (records._OPEN_TASKS, "ix_tasks_instance_state (instance_id=? AND state=?)"),
        (records._WAITING_TIMERS, "ix_timers_instance_state (instance_id=? AND state=?)"),
    ],
)
def test_open_tasks_and_waiting_timers_are_one_index_range(loop_system, statement, index):
    sql = str(statement.compile(dialect=sqlite.dialect()))
    with loop_system.engine.unit_of_work(read_only=True) as uow:
        driver = uow.session.connection().connection.driver_connection
        plan = " ".join(
            row[3] for row in driver.execute(f"EXPLAIN QUERY PLAN {sql}", ("x",) * sql.count("?"))
        )
    assert index in plan, plan
