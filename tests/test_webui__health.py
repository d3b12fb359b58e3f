"""/healthz, /metrics, and the lease that keeps one timer scheduler sweeping on SQLite."""

import os
import time
from datetime import datetime, timedelta

import pytest

from engine import audit, leases
from engine.clock import SettableClock
from webui.app import create_app
from webui.composition import build
from webui.health import HEARTBEAT_ENV, SCHEDULER_EXTENSION
from webui.scheduler import STALE_AFTER, TimerScheduler

from .conftest import START
from .driver import SHANGHAI, Driver
from .multiprocess import metric_value
from .postgres import postgres_schema

OVERDUE = datetime(2026, 10, 9, 9, 0, tzinfo=SHANGHAI)  # the review was due 10-08 17:30
LATENESS = 15.5 * 3600


def test_healthz_answers_ok_with_the_database_and_no_scheduler_here(system):
    response = create_app(system).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": True,
        "scheduler": "not running here",
    }


def test_healthz_reports_a_scheduler_that_stopped_sweeping(system):
    app = create_app(system)
    scheduler = app.extensions[SCHEDULER_EXTENSION] = TimerScheduler(system)
    scheduler.sweep()
    assert app.test_client().get("/healthz").get_json()["scheduler"] == "alive"
    scheduler.heartbeat.at = time.time() - STALE_AFTER - 1
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "degraded", "database": True, "scheduler": "stale"}
    scheduler.shutdown()


def test_healthz_reads_the_heartbeat_file_of_the_timer_worker(system, tmp_path, monkeypatch):
    """What the web workers of `serve --workers N` do: the timer worker is another process."""
    heartbeat = tmp_path / "scheduler.heartbeat"
    monkeypatch.setenv(HEARTBEAT_ENV, str(heartbeat))
    client = create_app(system).test_client()
    assert client.get("/healthz").get_json()["scheduler"] == "stale"  # never beaten
    scheduler = TimerScheduler(system, heartbeat_file=heartbeat)
    scheduler.sweep()
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()["scheduler"]) == (200, "alive")
    old = time.time() - STALE_AFTER - 1
    os.utime(heartbeat, (old, old))
    assert client.get("/healthz").status_code == 503


def test_healthz_is_degraded_when_the_database_does_not_answer():
    system = build("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    try:
        response = create_app(system).test_client().get("/healthz")
    finally:
        system.db.dispose()
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "degraded",
        "database": False,
        "scheduler": "not running here",
    }


def _sample(client, name, **labels) -> float:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return metric_value(response.get_data(as_text=True), name, **labels)


def test_metrics_count_requests_completions_timers_and_show_open_tasks_per_role(driver):
    client = create_app(driver.system).test_client()
    names = (
        "dingdan_task_completions_total",
        "dingdan_timers_fired_total",
        "dingdan_timer_lateness_seconds_count",
        "dingdan_timer_lateness_seconds_sum",
    )
    before = {name: _sample(client, name) for name in names}
    healthz = {"route": "/healthz", "status": "200"}
    requests_before = _sample(client, "dingdan_http_requests_total", **healthz)

    driver.start()
    assert _sample(client, "dingdan_open_tasks", role="center_staff") == 1
    assert _sample(client, "dingdan_timers_waiting") == 1
    assert driver.at(OVERDUE) == 1  # the review deadline: center_head is told
    assert _sample(client, "dingdan_open_tasks", role="center_head") == 1
    driver.complete("review_application")
    client.get("/healthz")

    after = {name: _sample(client, name) - before[name] for name in names}
    assert after == {
        "dingdan_task_completions_total": 1,
        "dingdan_timers_fired_total": 1,
        "dingdan_timer_lateness_seconds_count": 1,
        "dingdan_timer_lateness_seconds_sum": pytest.approx(LATENESS),
    }
    assert _sample(client, "dingdan_http_requests_total", **healthz) == requests_before + 1
    assert _sample(client, "dingdan_open_tasks", role="center_staff") == 1  # plan_survey
    assert _sample(client, "dingdan_open_tasks", role="center_head") == 0


def test_a_step_that_rolls_back_counts_nothing(system):
    client = create_app(system).test_client()
    before = _sample(client, "dingdan_task_completions_total")
    with pytest.raises(RuntimeError), system.engine.unit_of_work() as uow:
        audit.record(uow.session, "some-instance", "task_completed", uow.now)
        uow.session.flush()
        raise RuntimeError("the step fails after its events were written")
    assert _sample(client, "dingdan_task_completions_total") == before


# -- leases -------------------------------------------------------------------------------


def test_a_lease_is_held_until_it_expires_or_is_released(system):
    db, ttl, now = system.db, timedelta(seconds=15), datetime.now(SHANGHAI)
    assert leases.acquire(db, "job", "a", ttl, now)
    assert leases.acquire(db, "job", "a", ttl, now + timedelta(seconds=5))  # renewed
    assert not leases.acquire(db, "job", "b", ttl, now + timedelta(seconds=10))
    assert leases.acquire(db, "job", "b", ttl, now + timedelta(seconds=21))  # a's ran out
    assert leases.current(db, "job").holder == "b"
    leases.release(db, "job", "a")  # not a's any more: nothing happens
    assert leases.current(db, "job").holder == "b"
    leases.release(db, "job", "b")
    assert leases.current(db, "job") is None


def test_on_sqlite_one_scheduler_sweeps_while_another_stands_by(tmp_path):
    clock = SettableClock(START)
    system = build(f"sqlite:///{tmp_path / 'one.sqlite3'}", clock=clock)
    system.setup()
    driver = Driver(system, clock)
    first, second = TimerScheduler(system), TimerScheduler(system)
    try:
        driver.start()
        first.sweep()
        clock.set(OVERDUE)
        assert (second.sweep(), second.sweeping) == (0, False)  # the timer waits for first
        assert second.status() == "alive"  # standing by is alive
        assert (first.sweep(), first.sweeping) == (1, True)
        first.shutdown()  # lets go of the lease: the other takes over at once
        driver.start()
        clock.set(datetime(2026, 10, 12, 9, 0, tzinfo=SHANGHAI))
        assert (second.sweep(), second.sweeping) == (1, True)
    finally:
        second.shutdown()
        system.db.dispose()


def test_on_postgresql_every_scheduler_sweeps():
    clock = SettableClock(START)
    with postgres_schema() as url:
        system = build(url, clock=clock)
        system.setup()
        driver = Driver(system, clock)
        first, second = TimerScheduler(system), TimerScheduler(system)
        try:
            driver.start()
            first.sweep()
            clock.set(OVERDUE)
            assert (second.sweep(), second.sweeping) == (1, True)
            assert first.sweeping and leases.current(system.db, "timer-scheduler") is None
        finally:
            system.db.dispose()
