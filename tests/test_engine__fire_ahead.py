"""A burst of timers due at one instant is stepped before the instant and committed at it
(engine/sweep.py `fire_ahead`, PostgreSQL): nothing shows early, everything shows at the
instant with the instant as its time, and whatever could not be stepped ahead is left to
the sweep at the instant."""

import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine import sweep
from engine.clock import SettableClock, SystemClock
from engine.errors import ProcessError
from engine.models import AuditEvent, Timer
from webui.composition import build
from webui.scheduler import AHEAD_FROM, AHEAD_MAX, TimerScheduler

from .conftest import START
from .test_engine__timer_sweep import (
    DUE,
    _audit_problems,
    _fail_one,
    _fired_per_instance,
    _start,
    _statuses,
)

AT = DUE - timedelta(minutes=1)  # the instant the hour's wait of every instance ends


@pytest.fixture
def postgres_only(database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("stepping ahead is for PostgreSQL (see the SQLite test below)")


class Ahead(threading.Thread):
    """`fire_ahead` in a thread of its own, as a scheduler runs it; `stepped` is set, with
    the count, once it waits for its instant."""

    def __init__(self, engine, at=AT, **kwargs):
        super().__init__()
        self.engine, self.at, self.kwargs = engine, at, kwargs
        self.stepped_count = None
        self.stepped = threading.Event()
        self.fired = None

    def run(self):
        self.fired = sweep.fire_ahead(self.engine, self.at, prepared=self._prepared, **self.kwargs)
        self.stepped.set()  # also when it never got as far as the wait

    def _prepared(self, count):
        self.stepped_count = count
        self.stepped.set()


def _timer_events(system) -> list[AuditEvent]:
    with system.engine.unit_of_work(read_only=True) as uow:
        return list(uow.session.scalars(select(AuditEvent).where(AuditEvent.type == "timer_fired")))


def test_a_burst_stepped_ahead_shows_at_its_instant_and_not_before(
    system, clock, postgres_only, small_batches
):
    ids = _start(system, [{"go": 1}] * 7)
    clock.set(START - timedelta(seconds=1))
    early = _start(system, [{"go": 1}])[0]  # due a second before the burst
    clock.set(AT - timedelta(seconds=3))
    ahead = Ahead(system.engine)
    ahead.start()
    assert ahead.stepped.wait(30) and ahead.stepped_count == 7  # three batches
    # Stepped and flushed, not committed: every other transaction still sees them waiting.
    assert set(_statuses(system).values()) == {"running"}
    assert _fired_per_instance(system) == {}
    clock.set(AT - timedelta(seconds=1))
    assert system.engine.fire_due() == 1  # the early one, at its own time
    assert _fired_per_instance(system) == {early: 1}
    clock.set(AT)
    ahead.join(30)
    assert ahead.fired == 7
    assert set(_statuses(system).values()) == {"archived"}
    assert _fired_per_instance(system) == {i: 1 for i in [*ids, early]}
    events = [e for e in _timer_events(system) if e.instance_id != early]
    assert {e.at for e in events} == {AT} and {e.data["lateness_seconds"] for e in events} == {0}
    with system.engine.unit_of_work(read_only=True) as uow:
        fired_at = uow.session.scalars(select(Timer.fired_at).where(Timer.instance_id.in_(ids)))
        assert set(fired_at) == {AT}
    assert system.engine.fire_due(AT) == 0  # nothing left for the sweep
    assert _audit_problems(system) == []


def test_a_step_on_an_instance_held_ahead_waits_for_the_instant_and_sees_the_timer_fired(
    system, clock, postgres_only
):
    ids = _start(system, [{"go": 1}] * 2)
    clock.set(AT - timedelta(seconds=3))
    ahead = Ahead(system.engine)
    ahead.start()
    assert ahead.stepped.wait(30) and ahead.stepped_count == 2
    seen = {}

    def lock_one():
        with system.engine.unit_of_work() as uow:
            seen["status"] = system.engine.lock(uow, ids[0]).status

    waiter = threading.Thread(target=lock_one)
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive() and seen == {}  # held by the transaction stepped ahead
    clock.set(AT)
    ahead.join(30)
    waiter.join(30)
    assert ahead.fired == 2 and seen == {"status": "archived"}


def test_nothing_fires_early_when_the_clock_never_reaches_the_instant(system, clock, postgres_only):
    ids = _start(system, [{"go": 1}] * 3)
    clock.set(AT - timedelta(seconds=3))
    ahead = Ahead(system.engine, patience=-2.9)  # gives up 0.1 s into a 3 s wait
    ahead.start()
    ahead.join(30)
    assert ahead.stepped_count == 3 and ahead.fired == 0
    assert set(_statuses(system).values()) == {"running"}
    assert _fired_per_instance(system) == {}
    clock.set(AT)
    assert system.engine.fire_due() == 3  # the workflows stepped in memory are not reused
    assert _fired_per_instance(system) == {i: 1 for i in ids}
    assert _audit_problems(system) == []


def test_a_process_that_stops_while_stepping_ahead_commits_nothing(
    system, clock, postgres_only, small_batches
):
    ids = _start(system, [{"go": 1}] * 7)
    clock.set(AT - timedelta(seconds=3))
    asked = itertools.count()
    ahead = Ahead(system.engine, stopping=lambda: next(asked) >= 1)  # after the first batch
    ahead.start()
    ahead.join(30)
    assert ahead.stepped_count == 3 and ahead.fired == 0
    assert set(_statuses(system).values()) == {"running"}
    clock.set(AT)
    assert system.engine.fire_due() == 7
    assert _fired_per_instance(system) == {i: 1 for i in ids}


def test_a_failing_instance_stops_stepping_ahead_and_gets_its_incident_at_the_instant(
    system, clock, postgres_only, small_batches, monkeypatch
):
    ids = _start(system, [{"go": 1}] * 8)
    with system.engine.unit_of_work(read_only=True) as uow:  # batches go by timer id
        order = list(uow.session.scalars(select(Timer.instance_id).order_by(Timer.id)))
    failing = order[3]  # the first of the second batch
    engine = system.engine
    _fail_one(monkeypatch, engine, failing, ProcessError("choice: name 'go' is not defined"))
    clock.set(AT - timedelta(seconds=3))
    ahead = Ahead(engine)
    ahead.start()
    assert ahead.stepped.wait(30) and ahead.stepped_count == 3  # the first batch only
    clock.set(AT)
    ahead.join(30)
    assert ahead.fired == 3
    assert _fired_per_instance(system) == {i: 1 for i in order[:3]}
    assert engine.fire_due() == 4  # the sweep at the instant: the rest but one
    statuses = _statuses(system)
    assert statuses.pop(failing) == "failed"
    assert set(statuses.values()) == {"archived"}
    assert _fired_per_instance(system) == {i: 1 for i in ids if i != failing}
    assert _audit_problems(system) == []


def test_two_workers_stepping_ahead_fire_each_timer_once(database_url, clock, postgres_only):
    systems = [build(database_url, clock=clock) for _ in range(2)]
    systems[0].db.create_all()
    ids = _start(systems[0], [{"go": 1}] * 250)
    clock.set(AT - timedelta(seconds=3))
    aheads = [Ahead(s.engine) for s in systems]
    for ahead in aheads:
        ahead.start()
    assert all(ahead.stepped.wait(60) for ahead in aheads)
    assert sum(ahead.stepped_count for ahead in aheads) == 250
    clock.set(AT)
    for ahead in aheads:
        ahead.join(60)
    assert sum(ahead.fired for ahead in aheads) == 250
    assert _fired_per_instance(systems[0]) == {i: 1 for i in ids}
    assert _audit_problems(systems[0]) == []
    for s in systems:
        s.db.dispose()


def test_on_sqlite_nothing_is_stepped_ahead(system, clock, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    _start(system, [{"go": 1}] * 3)
    clock.set(AT - timedelta(seconds=3))
    assert sweep.fire_ahead(system.engine, AT) == 0
    assert set(_statuses(system).values()) == {"running"}


def test_a_scheduler_steps_ahead_only_bursts_on_postgresql_with_a_clock_that_passes(
    database_url,
):
    system = build(database_url, clock=SystemClock())
    scheduler = TimerScheduler(system)
    scheduler.seconds_per_timer = 0.001
    few = int(AHEAD_FROM / 0.001) - 1
    if database_url.startswith("sqlite"):  # one writer: it would stop every request
        assert scheduler.lead(10_000) == 0
    else:
        assert scheduler.lead(few) == 0  # a sweep at the instant fires them in time
        assert scheduler.lead(3_000) == pytest.approx(3.0)
        assert scheduler.lead(100_000) == AHEAD_MAX
        system.db.idle_in_transaction_timeout = 8  # the wait must not be cut off by it
        assert scheduler.lead(100_000) == 4
    on_a_settable_clock = TimerScheduler(build(database_url, clock=SettableClock(AT)))
    assert on_a_settable_clock.lead(100_000) == 0  # time passes only when someone moves it
    system.db.dispose()


def test_a_scheduler_wakes_ahead_of_a_burst_and_at_the_instant_for_a_few(database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("no stepping ahead on SQLite")
    system = build(database_url, clock=SystemClock())
    scheduler = TimerScheduler(system)
    scheduler.seconds_per_timer = 0.001
    scheduler.scheduler.start(paused=True)  # jobs are planned, none runs
    try:
        instant = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
        scheduler.wake_at(instant, 3_000)
        job = scheduler.scheduler.get_job("wake")
        assert job.next_run_time == instant - timedelta(seconds=3) and job.args == (instant,)
        later = instant + timedelta(minutes=5)
        scheduler.wake_at(later, 10)  # an earlier wake is set: it plans the next itself
        assert scheduler.scheduler.get_job("wake").args == (instant,)
        scheduler.scheduler.remove_job("wake")
        scheduler.wake_at(later, 10)
        job = scheduler.scheduler.get_job("wake")
        assert job.next_run_time == later and job.args == (None,)  # swept at the instant
    finally:
        scheduler.scheduler.shutdown(wait=False)
        system.db.dispose()
