"""The timer sweep fires a batch of instances per transaction: one failing instance gets its
incident and the others fire, nothing fires twice, and workflows read ahead of their
timers (engine/prefetch.py) step exactly as freshly read ones."""

import threading
from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select

from engine import audit, prefetch
from engine.models import AuditEvent, Instance
from webui.composition import build

from .conftest import START

# An hour's wait, then a gateway that reads start["go"]: an instance started without it
# fails at the gateway, in the step that fires its timer.
WAIT_THEN_CHOOSE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="sweep_defs" targetNamespace="http://dingdan.test/sweep">
  <bpmn:process id="wait_then_choose" name="Wait, then choose" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>to_wait</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait_an_hour" name="wait an hour">
      <bpmn:incoming>to_wait</bpmn:incoming><bpmn:outgoing>to_choice</bpmn:outgoing>
      <bpmn:timerEventDefinition>
        <bpmn:timeDuration>"PT1H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:exclusiveGateway id="choice">
      <bpmn:incoming>to_choice</bpmn:incoming>
      <bpmn:outgoing>to_yes</bpmn:outgoing><bpmn:outgoing>to_no</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="yes"><bpmn:incoming>to_yes</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="no"><bpmn:incoming>to_no</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="to_wait" sourceRef="start" targetRef="wait_an_hour"/>
    <bpmn:sequenceFlow id="to_choice" sourceRef="wait_an_hour" targetRef="choice"/>
    <bpmn:sequenceFlow id="to_yes" sourceRef="choice" targetRef="yes">
      <bpmn:conditionExpression>start["go"] == 1</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_no" sourceRef="choice" targetRef="no">
      <bpmn:conditionExpression>start["go"] != 1</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>
"""
DUE = (START + timedelta(hours=1, minutes=1)).astimezone(UTC)  # stored times are UTC


def _start(system, starts: list[dict]) -> list[str]:
    engine = system.engine
    with engine.unit_of_work() as uow:
        engine.deploy(uow, {"wait_then_choose.bpmn": WAIT_THEN_CHOOSE}, "test")
    ids = []
    for data in starts:
        with engine.unit_of_work() as uow:
            ids.append(engine.start(uow, "wait_then_choose", data, "test").id)
    return ids


def _statuses(system) -> dict[str, str]:
    with system.engine.unit_of_work(read_only=True) as uow:
        return dict(uow.session.execute(select(Instance.id, Instance.status)).all())


def _fired_per_instance(system) -> dict[str, int]:
    with system.engine.unit_of_work(read_only=True) as uow:
        query = (
            select(AuditEvent.instance_id, func.count())
            .where(AuditEvent.type == "timer_fired")
            .group_by(AuditEvent.instance_id)
        )
        return dict(uow.session.execute(query).all())


def _audit_problems(system) -> list[str]:
    with system.engine.unit_of_work(read_only=True) as uow:
        return audit.verify(uow.session)


def _fail_one(monkeypatch, engine, instance_id, error) -> None:
    """The engine's timer step raises `error` for this one instance."""
    fire_timers = engine.fire_timers

    def failing_for_one(uow, instance):
        if instance.id == instance_id:
            raise error
        return fire_timers(uow, instance)

    monkeypatch.setattr(engine, "fire_timers", failing_for_one)


def test_one_failing_instance_in_a_batch_gets_its_incident_and_the_others_fire(
    system, clock, small_batches
):
    starts = [{"go": 1}] * 4 + [{}] + [{"go": 2}] * 3  # the fifth fails, in the second batch
    ids = _start(system, starts)
    clock.set(DUE)
    assert system.engine.fire_due() == 7
    statuses = _statuses(system)
    failing = ids[4]
    assert statuses.pop(failing) == "failed"
    assert set(statuses.values()) == {"archived"}
    with system.engine.unit_of_work(read_only=True) as uow:
        incident = uow.session.get(Instance, failing).incident
        events = [e.type for e in audit.history(uow.session, failing)]
    assert incident["element"] == "choice" and incident["action"] == {"kind": "timer"}
    assert "timer_fired" not in events and events[-1] == "incident"  # its step rolled back
    assert _fired_per_instance(system) == {i: 1 for i in ids if i != failing}
    assert _audit_problems(system) == []


def test_an_instance_failing_for_another_reason_is_left_for_the_next_sweep(
    system, clock, small_batches, monkeypatch
):
    ids = _start(system, [{"go": 1}] * 5)
    engine, broken = system.engine, ids[1]
    fire_timers = engine.fire_timers
    _fail_one(monkeypatch, engine, broken, RuntimeError("the database went away for this one"))
    clock.set(DUE)
    assert engine.fire_due() == 4
    assert _statuses(system)[broken] == "running"  # no incident: not the process's fault
    monkeypatch.setattr(engine, "fire_timers", fire_timers)
    assert engine.fire_due() == 1
    assert _fired_per_instance(system) == {i: 1 for i in ids}
    assert _audit_problems(system) == []


def test_a_second_sweep_fires_nothing(system, clock, small_batches):
    ids = _start(system, [{"go": 1}] * 7)
    clock.set(DUE)
    assert system.engine.fire_due() == 7
    assert system.engine.fire_due() == 0
    assert _fired_per_instance(system) == {i: 1 for i in ids}
    assert _audit_problems(system) == []


def test_timers_not_yet_due_wait(system, clock):
    _start(system, [{"go": 1}] * 3)
    clock.set(DUE - timedelta(minutes=2))
    assert system.engine.fire_due() == 0
    assert set(_statuses(system).values()) == {"running"}


def test_prefetched_workflows_step_as_read_ones_and_a_stale_one_is_read_again(system, clock):
    ids = _start(system, [{"go": 1}] * 4)
    engine = system.engine
    assert prefetch.prefetch(engine, DUE) == 4
    assert prefetch.prefetch(engine, DUE) == 0  # held already
    with engine.unit_of_work() as uow:  # changed after it was read: its copy is stale
        instance = engine.lock(uow, ids[0])
        instance.data = {**instance.data, "note": "changed"}
    clock.set(DUE)
    assert engine.fire_due() == 4
    assert set(_statuses(system).values()) == {"archived"}
    assert len(prefetch.store(engine)) == 0
    assert _audit_problems(system) == []


def test_prefetch_keeps_to_its_budget_and_forgets_what_is_no_longer_due(system, clock, monkeypatch):
    monkeypatch.setattr(prefetch, "CHUNK", 1)  # the budget is checked before each chunk
    ids = _start(system, [{"go": 1}] * 4)
    engine = system.engine
    with engine.unit_of_work(read_only=True) as uow:
        size = len(uow.session.scalar(select(Instance.state).where(Instance.id == ids[0])))
    assert prefetch.prefetch(engine, DUE, max_bytes=size * 3 // 2) == 2  # the second ends it
    assert len(prefetch.store(engine)) == 2
    assert prefetch.prefetch(engine, START.astimezone(UTC)) == 0  # none due by then
    assert len(prefetch.store(engine)) == 0


def test_two_sweepers_on_postgresql_fire_each_timer_once(database_url, clock, tmp_path):
    if database_url.startswith("sqlite"):
        pytest.skip("on SQLite one scheduler sweeps (the lease)")
    systems = [build(database_url, clock=clock) for _ in range(2)]
    systems[0].db.create_all()
    ids = _start(systems[0], [{"go": 1}] * 250)
    clock.set(DUE)
    fired = [0, 0]
    barrier = threading.Barrier(2)

    def sweep_with(index):
        barrier.wait()
        fired[index] = systems[index].engine.fire_due()

    threads = [threading.Thread(target=sweep_with, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(fired) == 250
    assert _fired_per_instance(systems[0]) == {i: 1 for i in ids}
    assert _audit_problems(systems[0]) == []
    for system in systems:
        system.db.dispose()
