"""The audit log is hash-chained: editing or deleting an event row is caught."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from engine import audit

from .test_webui__cli import dingdan


def _verify(driver, chain=None):
    with driver.system.engine.unit_of_work() as uow:
        return audit.verify(uow.session, chain)


def _raw(driver, sql, **params):
    """Tamper with the table directly, as someone with database access might."""
    with driver.system.db.engine.begin() as connection:
        if driver.system.db.engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        connection.execute(text(sql), params)
        if driver.system.db.engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


@pytest.fixture
def reviewed(driver):
    driver.start()
    driver.complete("review_application")
    driver.complete("plan_survey")
    return driver


def test_an_untouched_log_verifies(reviewed):
    assert _verify(reviewed) == []
    assert _verify(reviewed, reviewed.instance_id) == []
    events = reviewed.events()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(e.prev_hash == p.hash for p, e in zip(events, events[1:], strict=False))


def test_a_transaction_of_many_events_writes_them_all_in_order(reviewed):
    before = len(reviewed.events())
    engine = reviewed.system.engine
    with engine.unit_of_work() as uow:
        engine.lock(uow, reviewed.instance_id)  # an instance's events go under its lock
        for n in range(120):
            audit.record(uow.session, reviewed.instance_id, "note", uow.now, data={"n": n})
    events = reviewed.events()
    assert [e.data["n"] for e in events[before:]] == list(range(120))
    assert [e.seq for e in events] == list(range(1, before + 121))
    assert _verify(reviewed, reviewed.instance_id) == []


def test_an_edited_event_is_named(reviewed):
    target = reviewed.events("task_completed")[0]
    _raw(reviewed, "UPDATE audit_events SET actor = 'someone_else' WHERE id = :id", id=target.id)
    [problem] = _verify(reviewed, reviewed.instance_id)
    assert f"event {target.seq} " in problem and "altered" in problem


def test_a_deleted_event_is_named(reviewed):
    target = reviewed.events("task_completed")[0]
    _raw(reviewed, "DELETE FROM audit_events WHERE id = :id", id=target.id)
    [problem] = _verify(reviewed, reviewed.instance_id)
    assert f"expected event {target.seq}" in problem


def test_events_cut_off_the_end_are_caught(reviewed):
    last = reviewed.events()[-1]
    _raw(reviewed, "DELETE FROM audit_events WHERE id = :id", id=last.id)
    [problem] = _verify(reviewed, reviewed.instance_id)
    assert "cut off" in problem


def test_postgresql_refuses_to_change_an_event(reviewed, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the append-only trigger is PostgreSQL's")
    engine = reviewed.system.db.engine
    for statement in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))


def test_audit_verify_on_the_command_line(reviewed, database_url):
    ok = dingdan(database_url, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "audit log intact" in ok.stdout
    target = reviewed.events("task_created")[0]
    _raw(reviewed, "UPDATE audit_events SET data = '{}' WHERE id = :id", id=target.id)
    broken = dingdan(database_url, "audit", "verify", reviewed.instance_id)
    assert broken.returncode == 1
    assert f"event {target.seq} (id {target.id}, task_created)" in broken.stderr
