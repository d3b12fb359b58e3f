"""On SQLite a completion loads the task's workflow before its write transaction, into the
engine's cache: a step another process takes in between must still be seen."""

import pytest
from sqlalchemy import event, select

from engine.models import Instance
from webui.composition import build

from .driver import DEFAULTS


def test_a_step_taken_in_between_is_not_lost(driver, database_url, clock):
    driver.start()
    driver.complete("review_application")
    driver.complete("plan_survey")
    first, second, _ = driver.open_tasks("fill_questionnaire")
    staff = driver.actors["center_staff"]
    driver.system.tasks._load_ahead(first.id)  # this process has read the instance ahead

    other = build(database_url, clock=clock)  # another process steps it in between
    try:
        answers = {"industry": "服务业", "main_problems": "用工难"}
        other.tasks.complete(staff, second.id, answers)
    finally:
        other.db.dispose()

    driver.system.tasks.complete(staff, first.id, DEFAULTS["fill_questionnaire"])
    driver.check_round_trip()
    # The workflow knows the second questionnaire is done: the third is the last one.
    driver.complete("fill_questionnaire")
    assert driver.open_elements() == ["site_survey"]
    with driver.system.engine.unit_of_work(read_only=True) as uow:
        data = uow.session.scalar(select(Instance.data).where(Instance.id == driver.instance_id))
    entries = {e["subject"]: e["data"] for e in data["fill_questionnaire"]}
    assert entries[second.subject] == answers


def test_a_workflow_already_held_is_not_read_again(driver):
    engine = driver.system.engine
    if not engine.db.is_sqlite:
        pytest.skip("loading ahead is for SQLite, where a step's transaction holds every writer")
    driver.start()
    row = driver.task("review_application")
    read, traced = [], []

    def trace(dbapi_connection, _record, _proxy):
        # what the driver runs, the statements sent below SQLAlchemy's execution included
        dbapi_connection.set_trace_callback(read.append)
        traced.append(dbapi_connection)

    event.listen(engine.db.engine.pool, "checkout", trace)
    try:
        driver.system.tasks._load_ahead(row.id)  # the step that started it left it cached
        held = list(read)
        engine.cache.drop(driver.instance_id)
        read.clear()
        driver.system.tasks._load_ahead(row.id)  # another process's step, as it were
    finally:
        event.remove(engine.db.engine.pool, "checkout", trace)
        for dbapi_connection in traced:
            dbapi_connection.set_trace_callback(None)
    assert held and not any("instances.state" in s for s in held), held
    assert any("instances.state" in s for s in read), read
    assert engine.cache.holds(driver.instance_id, driver.instance().lock_version)
