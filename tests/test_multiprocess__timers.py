"""Four `dingdan worker` processes, 2,000 timers falling due together, one worker killed with
SIGKILL half-way: every timer fires exactly once (real PostgreSQL, real processes)."""

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from engine.clock import SettableClock
from engine.db import Database
from engine.models import AuditEvent, Instance, Timer
from webui.composition import build

from .multiprocess import Process, assert_consistent, count_events
from .postgres import postgres_schema

pytestmark = pytest.mark.multiprocess

TIMERS = 2000
WORKERS = 4
# Started an hour and a minute ago in test time, the one-hour timers are all due now.
STARTED = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
TIMER_PROCESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="timer_load_definitions" targetNamespace="http://dingdan.test/timer_load">
  <bpmn:process id="timer_load" name="An hour's wait" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>to_wait</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait_an_hour" name="wait an hour">
      <bpmn:incoming>to_wait</bpmn:incoming><bpmn:outgoing>to_end</bpmn:outgoing>
      <bpmn:timerEventDefinition>
        <bpmn:timeDuration>"PT1H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>to_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="to_wait" sourceRef="start" targetRef="wait_an_hour"/>
    <bpmn:sequenceFlow id="to_end" sourceRef="wait_an_hour" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def database_url():
    with postgres_schema() as url:
        yield url


def _start_instances(system, count, batch=100):
    with system.engine.unit_of_work() as uow:
        system.engine.deploy(uow, {"timer_load.bpmn": TIMER_PROCESS}, "test")
    for first in range(0, count, batch):
        with system.engine.unit_of_work() as uow:
            for _ in range(min(batch, count - first)):
                system.engine.start(uow, "timer_load", {}, "test")


def _waiting(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).where(Timer.state == "waiting"))


def test_four_workers_fire_2000_due_timers_exactly_once_though_one_is_killed(
    database_url, tmp_path
):
    began = time.monotonic()
    system = build(database_url, clock=SettableClock(STARTED))
    system.setup()
    _start_instances(system, TIMERS)
    db = system.db
    assert _waiting(db) == TIMERS
    created = time.monotonic()

    workers = [
        Process(["worker"], database_url, tmp_path / f"worker{i}.log") for i in range(WORKERS)
    ]
    try:
        victim, fired_at_kill = workers[0], None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            fired = count_events(db, "timer_fired")
            if fired_at_kill is None and fired >= TIMERS // 2:
                victim.kill()  # SIGKILL, most likely in the middle of a step
                fired_at_kill = fired
            if fired_at_kill is not None and _waiting(db) == 0:
                break
            time.sleep(0.05)
        swept = time.monotonic()
    finally:
        codes = [w.stop() for w in workers]
    logs = "\n".join(w.output() for w in workers[1:])
    assert fired_at_kill is not None, f"the timers did not get half-way:\n{logs}"
    assert codes[1:] == [0] * (WORKERS - 1), logs

    fired = count_events(db, "timer_fired")
    with db.session() as session:
        twice = session.execute(
            select(AuditEvent.instance_id, AuditEvent.task_id, func.count())
            .where(AuditEvent.type == "timer_fired")
            .group_by(AuditEvent.instance_id, AuditEvent.task_id)
            .having(func.count() > 1)
        ).all()
        statuses = dict(
            session.execute(select(Instance.status, func.count()).group_by(Instance.status)).all()
        )
        by_timer = session.scalar(select(func.count()).where(Timer.state == "fired"))
    print(
        f"\n{TIMERS} timers due, {WORKERS} workers, one SIGKILLed at {fired_at_kill} fired: "
        f"{fired} timer_fired events, {by_timer} timer rows fired, {len(twice)} fired twice, "
        f"instances {statuses}; creating took {created - began:.1f}s, "
        f"firing {swept - created:.1f}s"
    )
    assert fired == TIMERS
    assert twice == []
    assert by_timer == TIMERS and _waiting(db) == 0
    assert statuses == {"archived": TIMERS}
    assert assert_consistent(system) == TIMERS
    db.dispose()


def test_a_worker_that_hangs_holding_a_claim_loses_it_after_the_idle_timeout(database_url):
    """The lease on a claim: a process that stops answering inside its transaction is cut
    off by PostgreSQL's idle_in_transaction_session_timeout, and its instance is free."""
    system = build(database_url, clock=SettableClock(STARTED))
    system.setup()
    _start_instances(system, 1)
    hung = Database(database_url, idle_in_transaction_timeout=1)
    other = build(database_url)
    try:
        with hung.session() as session:
            session.execute(select(Instance).with_for_update())  # claims the instance …
            assert other.engine.fire_due() == 0  # … so the other workers skip it
            time.sleep(1.5)  # … and hangs
            assert other.engine.fire_due() == 1  # the claim is gone
            with pytest.raises(DBAPIError):
                session.execute(select(Instance))  # the hung process finds out later
        assert count_events(system.db, "timer_fired") == 1
    finally:
        for db in (hung, other.db, system.db):
            db.dispose()
