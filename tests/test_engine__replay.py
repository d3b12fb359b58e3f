"""Replay: an instance rebuilt from its audit events on the version it ran, held against
what was stored at every step — and what it says when the stored state was tampered with."""

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select, update

from engine.errors import InvalidData, NotFound
from engine.models import (
    AuditEvent,
    AuditHead,
    Counter,
    HumanTask,
    Instance,
    Notice,
    Timer,
)
from engine.replay import replay, segments
from tasks.admin import AdminService

from .driver import ENTERPRISES, SHANGHAI


class Recorder:
    """Drives the procedure and writes down, after every action, what the database held."""

    def __init__(self, driver):
        self.driver = driver
        self.snapshots = []  # (last seq, stored state)

    def snap(self):
        driver = self.driver
        with driver.system.engine.unit_of_work() as uow:
            session = uow.session
            instance = session.get(Instance, driver.instance_id)
            tasks = session.scalars(
                select(HumanTask).where(
                    HumanTask.instance_id == instance.id, HumanTask.state == "open"
                )
            )
            timers = session.scalars(
                select(Timer).where(Timer.instance_id == instance.id, Timer.state == "waiting")
            )
            state = {
                "tasks": sorted((t.id, t.element, t.subject) for t in tasks),
                "timers": sorted((t.element, t.due_at) for t in timers),
                "data": instance.data,
                "status": instance.status,
                "stage": instance.stage,
                "file_number": instance.file_number,
            }
            last = session.scalar(
                select(AuditEvent.seq)
                .where(AuditEvent.chain == instance.id)
                .order_by(AuditEvent.seq.desc())
                .limit(1)
            )
        self.snapshots.append((last, state))

    def do(self, action, *args, **kwargs):
        result = action(*args, **kwargs)
        self.snap()
        return result


def replayed_state(result):
    return {
        "tasks": sorted((t.task_id, t.element, t.subject) for t in result.open_tasks),
        "timers": sorted((t.element, t.due_at) for t in result.timers),
        "data": result.data,
        "status": result.status,
        "stage": result.stage,
        "file_number": result.file_number,
    }


def full_run(driver):
    recorder = Recorder(driver)
    recorder.do(driver.start)
    for element in ("review_application", "plan_survey"):
        recorder.do(driver.complete, element)
    for name in ENTERPRISES:
        recorder.do(driver.complete, "fill_questionnaire", subject=name)
    recorder.do(driver.complete, "site_survey")
    recorder.do(driver.complete, "design_service")
    recorder.do(driver.complete, "confirm_service_design", {"decision": "revise", "comments": "改"})
    recorder.do(driver.complete, "design_service")
    recorder.do(driver.complete, "confirm_service_design")
    recorder.do(driver.complete, "select_experts")
    for row in driver.open_tasks("submit_outline"):
        recorder.do(driver.complete, "submit_outline", subject=row.subject)
    for element in ("review_content", "assign_coordinators", "prepare_budget"):
        recorder.do(driver.complete, element)
    recorder.do(driver.complete, "approve_budget_division")
    recorder.do(driver.complete, "approve_budget_center")
    recorder.do(driver.complete, "issue_official_letter")
    recorder.do(driver.at, datetime(2026, 10, 20, 9, 0, tzinfo=SHANGHAI))
    recorder.do(driver.complete, "record_activity")
    for row in driver.open_tasks("evaluate_service"):
        recorder.do(driver.complete, "evaluate_service", subject=row.subject)
    recorder.do(driver.complete, "track_activity")
    recorder.do(driver.at, datetime(2026, 10, 27, 17, 30, tzinfo=SHANGHAI))
    for row in driver.open_tasks("follow_up_visit"):
        recorder.do(driver.complete, "follow_up_visit", subject=row.subject)
    recorder.do(driver.complete, "archive_file")
    return recorder


def test_a_full_run_replays_to_what_was_stored_after_every_action(driver):
    recorder = full_run(driver)
    assert driver.instance().status == "archived"
    for seq, stored in recorder.snapshots:
        result = replay(driver.system.engine, driver.instance_id, seq)
        assert result.complete and result.divergences == [], (seq, result.divergences)
        assert replayed_state(result) == stored, seq


def test_every_event_of_a_full_run_replays_without_divergence(driver):
    full_run(driver)
    events = driver.events()
    for event in events:
        result = replay(driver.system.engine, driver.instance_id, event.seq)
        assert result.complete, event.seq
        assert result.divergences == [], (event.seq, event.type, result.divergences)
        assert result.event.seq == event.seq and result.event.type == event.type
    last = replay(driver.system.engine, driver.instance_id)
    assert last.seq == events[-1].seq == last.last_seq
    assert (last.status, last.stage, last.open_tasks, last.timers) == ("archived", "done", [], [])
    main = next(d for d in last.diagrams if d.key == "order_service")
    assert "end_archived" in main.completed and main.active == [] and main.overdue == []
    survey = next(d for d in last.diagrams if d.key == "order_service_survey")
    assert survey.counts["design_service"] == {"completed": 2}
    assert survey.counts["fill_questionnaire"] == {"completed": 3}


def test_the_state_after_an_event_shows_what_it_changed(driver):
    driver.run_until("plan_survey")
    completion = next(e for e in driver.events("task_completed"))  # review_application
    result = replay(driver.system.engine, driver.instance_id, completion.seq)
    changed = result.changed
    assert set(changed["data"]) == {"review_application", "file_number"}
    assert changed["data"]["file_number"] == {"before": None, "after": "DD-2026-0001"}
    assert [t["element"] for t in changed["tasks_closed"]] == ["review_application"]
    assert [t["element"] for t in changed["tasks_opened"]] == ["plan_survey"]
    assert changed["stage"] == {"before": "application", "after": "survey"}
    assert changed["timers_stopped"] and not changed["timers_started"]
    assert [t.element for t in result.open_tasks] == ["plan_survey"]
    application = next(d for d in result.diagrams if d.key == "order_service_application")
    assert {"review_application", "open_service_file"} <= set(application.completed)
    survey = next(d for d in result.diagrams if d.key == "order_service_survey")
    assert survey.active == ["plan_survey"]

    created = replay(driver.system.engine, driver.instance_id, completion.seq + 1)
    assert created.event.type in ("notice_sent", "task_created")
    assert created.changed["data"] == {} and created.changed["tasks_opened"] == []
    before = replay(driver.system.engine, driver.instance_id, completion.seq - 1)
    assert [t.element for t in before.open_tasks] == ["review_application"]
    assert "file_number" not in before.data


def test_an_overdue_task_shows_overdue_in_the_replay(driver):
    driver.start()
    # The review deadline (five working days) passes: the boundary timer fires.
    assert driver.at(datetime(2026, 10, 28, 9, 0, tzinfo=SHANGHAI)) == 1
    result = replay(driver.system.engine, driver.instance_id)
    assert result.divergences == []
    review = next(t for t in result.open_tasks if t.element == "review_application")
    assert review.overdue
    application = next(d for d in result.diagrams if d.key == "order_service_application")
    assert "review_application" in application.overdue
    main = next(d for d in result.diagrams if d.key == "order_service")
    assert "call_application" in main.overdue
    fired = next(e for e in driver.events("timer_fired"))
    at_fire = replay(driver.system.engine, driver.instance_id, fired.seq)
    assert at_fire.changed["timers_stopped"]


def test_incidents_retries_and_suspensions_replay(driver):
    driver.run_until("plan_survey")
    staff = driver.actors["center_staff"]
    driver.system.operations.suspend(staff, driver.instance_id)
    suspended = replay(driver.system.engine, driver.instance_id)
    assert suspended.suspended and suspended.changed["suspended"]["after"] is True
    driver.system.operations.resume(staff, driver.instance_id)
    driver.complete("plan_survey")
    result = replay(driver.system.engine, driver.instance_id)
    assert result.divergences == [] and not result.suspended


def test_a_tampered_stored_instance_shows_divergences(driver):
    driver.run_until("design_service")
    engine = driver.system.engine
    assert replay(engine, driver.instance_id).divergences == []
    with engine.unit_of_work() as uow:
        instance = uow.session.get(Instance, driver.instance_id)
        instance.data = {**instance.data, "review_application": {"decision": "reject"}}
        row = uow.session.scalar(
            select(HumanTask).where(
                HumanTask.instance_id == driver.instance_id, HumanTask.state == "open"
            )
        )
        row.element = "site_survey"
    kinds = {d.kind for d in replay(engine, driver.instance_id).divergences}
    assert {"data", "tasks"} <= kinds


def test_a_tampered_engine_state_shows_a_divergence(driver):
    driver.run_until("design_service")
    engine = driver.system.engine
    with engine.unit_of_work() as uow:
        instance = uow.session.get(Instance, driver.instance_id)
        state = json.loads(instance.state)
        for sub in state["subprocesses"].values():
            for task in sub["tasks"].values():
                if task["task_spec"] == "design_service" and task["state"] == 16:
                    # Stored as what the task changed of its parent's variables.
                    task["delta"]["updates"]["plan_survey"] = {"enterprises": []}
        instance.state = json.dumps(state)
    engine.cache.drop(driver.instance_id)
    divergences = replay(engine, driver.instance_id).divergences
    assert [d.kind for d in divergences] == ["state"], divergences
    assert "design_service" in divergences[0].message


def test_an_altered_event_shows_where_the_replay_parts_from_the_record(driver):
    driver.run_until("fill_questionnaire")
    engine = driver.system.engine
    plan = next(e for e in driver.events("task_completed") if e.element == "plan_survey")
    if not engine.db.is_sqlite:
        pytest.skip("PostgreSQL refuses to alter an audit event")
    with engine.unit_of_work() as uow:
        data = dict(plan.data)
        data["data"] = {**data["data"], "enterprises": data["data"]["enterprises"][:1]}
        uow.session.execute(update(AuditEvent).where(AuditEvent.id == plan.id).values(data=data))
    divergences = replay(engine, driver.instance_id).divergences
    assert any(d.seq == plan.seq and d.kind == "tasks" for d in divergences), divergences
    assert any(d.seq is None for d in divergences)


def test_replay_writes_nothing(driver, database_url):
    driver.run_until("fill_questionnaire")
    engine = driver.system.engine

    def everything():
        with engine.unit_of_work() as uow:
            session = uow.session
            return [
                sorted(
                    json.dumps(
                        {c.name: str(getattr(row, c.name)) for c in model.__table__.columns},
                        sort_keys=True,
                    )
                    for row in session.scalars(select(model))
                )
                for model in (Instance, HumanTask, Timer, AuditEvent, AuditHead, Notice, Counter)
            ]

    before = everything()
    statements = []

    def watch(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.split(None, 1)[0].upper())

    sa_event.listen(engine.db.engine, "before_cursor_execute", watch)
    try:
        for event in driver.events():
            replay(engine, driver.instance_id, event.seq)
    finally:
        sa_event.remove(engine.db.engine, "before_cursor_execute", watch)
    assert "SELECT" in statements
    assert set(statements) <= {"SELECT", "BEGIN", "PRAGMA"}, set(statements)
    assert everything() == before


def test_a_seq_outside_the_log_and_an_unknown_instance_are_refused(driver):
    driver.start()
    engine = driver.system.engine
    last = driver.events()[-1].seq
    for seq in (0, last + 1):
        with pytest.raises(InvalidData):
            replay(engine, driver.instance_id, seq)
    with pytest.raises(NotFound):
        replay(engine, "no-such-instance")


def test_steps_are_cut_where_each_began(driver):
    driver.run_until("plan_survey")
    cut = segments(driver.events())
    assert [s[0].type for s in cut] == ["instance_started", "task_completed"]
    assert all(e.type not in ("instance_started", "task_completed") for s in cut for e in s[1:])


def test_the_replay_benchmark_runs(monkeypatch):
    """benchmarks/replay.py still runs (a small instance, one round; nothing timed here)."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import replay as benchmark  # the benchmark script, by its file name

    found = benchmark.measure(events=40, runs=1)
    assert found["events"] >= 40 and found["divergences"] == []
    assert len(found["wall_ms"]) == 1


def test_deadlines_replay_on_the_calendar_as_it_stood_then(driver):
    driver.start()
    [review] = driver.open_tasks("review_application")
    assert review.due_at.astimezone(SHANGHAI).date() == date(2026, 10, 8)
    admin = AdminService(driver.system.engine)
    root = driver.system.tasks.add_user("calendar_admin", ["admin"])
    clock = driver.clock
    clock.advance(timedelta(hours=1))
    admin.set_day(root, date(2026, 10, 8), False, "临时调休")  # after the deadline was set
    clock.advance(timedelta(hours=1))
    driver.complete("review_application")  # the plan's deadline: on the new calendar
    result = replay(driver.system.engine, driver.instance_id)
    assert result.divergences == []
    admin.remove_day(root, date(2026, 10, 8))  # the calendar changes again: still agrees
    assert replay(driver.system.engine, driver.instance_id).divergences == []


def test_a_timer_already_due_when_reached_is_recorded_and_replays(driver):
    """An activity day typed in the past: the timer fires in the very step that reached
    it. The record still shows it firing, and the replay agrees."""
    driver.run_until("issue_official_letter")
    letter = {
        "activity_date": "2026-09-01T09:00:00+08:00",  # before the clock: due at once
        "venue": "石家庄市长安区科技大厦三楼会议室",
        "programme": "09:00 开场",
    }
    driver.complete("issue_official_letter", letter)
    assert "record_activity" in driver.open_elements()
    [fired] = [e for e in driver.events("timer_fired") if e.element == "activity_day"]
    assert fired.data["immediate"] is True
    assert fired.data["due_at"].startswith("2026-09-01T01:00:00")
    assert fired.data["lateness_seconds"] > 0
    assert replay(driver.system.engine, driver.instance_id).divergences == []
