"""A step's lock and its rows go through the database driver, below the ORM
(engine/lock_rows.py, engine/row_writes.py): what they read and write is what the ORM
would have — the same values back, the version checked, the session's objects kept right."""

from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm.attributes import set_committed_value

from engine import driver_sql, row_writes
from engine.errors import Conflict
from engine.models import HumanTask, Instance, Notice, ProcessVersion, Timer

TINY = (Path(__file__).parent / "diagrams" / "tiny_review.bpmn").read_bytes()


def test_rows_written_below_the_orm_read_back_as_they_were_written(driver):
    instance = driver.start()
    driver.complete("review_application")
    row = driver.task("plan_survey")
    stored = driver.instance()
    assert stored.data["application"]["unit_name"] == instance.data["application"]["unit_name"]
    assert stored.started_at == instance.started_at and stored.started_at.tzinfo is not None
    assert stored.suspended is False and stored.incident is None
    assert row.created_at.tzinfo is not None and row.state == "open"
    assert row.due_at is None or row.due_at.tzinfo is not None
    done = driver.events("task_completed")[-1]
    assert done.element == "review_application" and done.data["data"]["decision"] == "accept"
    # JSON keeps Chinese as it is (the instance search looks for it in the stored text)
    with driver.system.engine.unit_of_work(read_only=True) as uow:
        raw = uow.session.execute(
            text("SELECT CAST(data AS TEXT) FROM instances WHERE id = :id"), {"id": instance.id}
        ).scalar()
    unit_name = instance.data["application"]["unit_name"]
    assert unit_name in raw and "\\u" not in raw


def test_a_step_that_finds_its_instance_changed_meanwhile_writes_nothing(driver):
    driver.start()
    engine = driver.system.engine
    row = driver.task("review_application")
    events = driver.event_count()
    with pytest.raises(Conflict, match="changed by someone else"), engine.unit_of_work() as uow:
        task, instance = engine.lock_task(uow, row.id)
        # as if another process had stepped the instance after this one read it
        set_committed_value(instance, "lock_version", instance.lock_version - 1)
        engine.complete(uow, instance, task.id, {"decision": "accept"}, "tester")
    assert driver.open_elements() == ["review_application"]
    assert driver.event_count() == events
    driver.complete("review_application")  # and the next step goes through
    assert "plan_survey" in driver.open_elements()


def test_the_lock_refreshes_an_instance_the_session_already_holds(driver):
    driver.start()
    engine = driver.system.engine
    with engine.unit_of_work() as uow:
        held = uow.session.get(Instance, driver.instance_id)
        set_committed_value(held, "status", "not what is stored")
        locked = engine.lock(uow, driver.instance_id)
        assert locked is held and held.status == "running"
        # the stored state is read when asked for, not with the lock, while it is cached
        assert engine.cache.holds(driver.instance_id)
        assert "state" not in held.__dict__
        stored = uow.session.execute(
            select(Instance.state).where(Instance.id == driver.instance_id)
        ).scalar()
        assert held.state == stored != ""


def test_a_task_locked_with_its_instance_is_the_sessions_own_row(driver):
    driver.start()
    engine = driver.system.engine
    row_id = driver.task("review_application").id
    with engine.unit_of_work() as uow:
        task, instance = engine.lock_task(uow, row_id)
        assert uow.session.get(HumanTask, row_id) is task
        assert task.instance_id == instance.id and task.state == "open"
    with engine.unit_of_work() as uow:
        assert engine.lock_task(uow, row_id)[0].state == "open"  # nothing was written


def test_a_process_deployed_and_started_in_one_transaction(system):
    engine = system.engine
    with engine.unit_of_work() as uow:
        engine.deploy(uow, {"tiny_review.bpmn": TINY}, "owner")
        instance = engine.start(uow, "tiny_review", {}, "owner")
    with engine.unit_of_work(read_only=True) as uow:
        assert uow.session.get(Instance, instance.id).process_version_id == uow.session.scalar(
            select(ProcessVersion.id).where(ProcessVersion.key == "tiny_review")
        )
        rows = uow.session.execute(
            select(HumanTask.element, HumanTask.state, HumanTask.created_at).where(
                HumanTask.instance_id == instance.id
            )
        ).all()
    # the ORM's own flush wrote the task row the step made (engine/row_writes.py new_row)
    assert [tuple(r) for r in rows] == [("review", "open", instance.started_at)]


def test_a_new_instance_written_below_the_orm_gets_the_columns_defaults(system):
    engine = system.engine
    with engine.unit_of_work() as uow:
        engine.deploy(uow, {"tiny_review.bpmn": TINY}, "owner")
    with engine.unit_of_work() as uow:
        version = uow.session.scalar(select(ProcessVersion))
        instance = Instance(
            id="0f0e0d0c-0000-4000-8000-000000000001",
            process_key=version.key,
            process_version_id=version.id,
            version=version.version,
            status="running",
            started_by="owner",
            started_at=uow.now,
            state="",
        )
        uow.session.add(instance)
        row_writes.check_versions(row_writes.flush_step_rows(uow.session))
        assert instance not in uow.session  # written: it left the session
    with engine.unit_of_work(read_only=True) as uow:
        stored = uow.session.get(Instance, instance.id)
        assert (stored.lock_version, stored.suspended, stored.data, stored.incident) == (
            1,
            False,
            {},
            None,
        )


def test_reads_below_the_orm_give_the_rows_the_orm_gives(driver):
    """The token check and a completion's answer read on the driver's connection: the same
    values, converted as SQLAlchemy converts them (aware datetimes, booleans, None)."""
    from tasks import records, tokens

    driver.start()
    driver.complete("review_application")
    system = driver.system
    with system.engine.unit_of_work() as uow:
        token = tokens.issue_token(uow.session, "center_staff", uow.now)
    queries = [
        (tokens._ACTOR_FOR_TOKEN, {"token_hash": tokens._hash(token)}),
        (records._OPEN_TASKS, {"instance_id": driver.instance_id}),
        (records._WAITING_TIMERS, {"instance_id": driver.instance_id}),
    ]
    with system.engine.unit_of_work(read_only=True) as uow:
        by_orm = [uow.session.execute(s, p).all() for s, p in queries]
        below = driver_sql.rows_together(uow.session, *queries)
        one_by_one = [driver_sql.rows(uow.session, s, p) for s, p in queries]
    assert [[tuple(r) for r in rows] for rows in below] == [
        [tuple(r) for r in rows] for rows in by_orm
    ]
    assert one_by_one == below
    actor_rows, open_tasks, _ = below
    assert actor_rows[0].active is True and actor_rows[0].expires_at.tzinfo is not None
    assert [t.element for t in open_tasks] == ["plan_survey"]
    assert open_tasks[0].created_at.tzinfo is not None


def test_notices_written_below_the_orm_are_numbered_by_the_database(driver):
    for _ in range(2):  # two instances: each acceptance notice its own number
        driver.start()
        driver.complete("review_application")
        (notice,) = driver.notices()
        assert notice.text.startswith("申请已受理") and notice.role is None
        assert notice.username == "applicant" and notice.created_at.tzinfo is not None
    with driver.system.engine.unit_of_work(read_only=True) as uow:
        numbers = uow.session.scalars(select(Notice.id)).all()
    assert len(numbers) == len(set(numbers)) == 2 and None not in numbers


def test_a_lone_statement_goes_in_a_pipeline_only_to_take_its_begin_along(system):
    """PostgreSQL: a transaction's first statement goes out with its BEGIN in one round
    trip (a pipeline); a later lone statement, or one without a transaction, needs none."""
    if system.db.is_sqlite:
        pytest.skip("sqlite3 runs in process: no round trips, no pipeline")

    def pipelining(session) -> list[bool]:
        seen = []
        driver = driver_sql.connection(session)
        for _ in range(2):
            with driver_sql.pipelined(session, single=True):
                seen.append(bool(driver.pgconn.pipeline_status))
                driver.execute("SELECT 1")
        return seen

    with system.engine.unit_of_work(read_only=True) as uow:
        in_transaction = pipelining(uow.session)
    with system.engine.single_read() as uow:
        without = pipelining(uow.session)
    assert in_transaction == [True, False]
    assert without == [False, False]


def test_the_driver_connection_kept_is_the_current_transactions(system):
    """`connected` keeps the driver's connection for one transaction only: the next may
    run on another connection of the pool."""
    with system.db.session() as session:
        first = driver_sql.connection(session)
        assert driver_sql.connection(session) is first
        session.commit()
        session.connection().invalidate()  # this connection is dropped from the pool
        session.rollback()
        current = driver_sql.connection(session)
        assert current is not first
        assert current is session.connection().connection.driver_connection
        assert driver_sql.rows(session, select(Instance.id).limit(1)) == []


def test_a_row_settled_without_an_answer_is_written_with_its_step_or_not_at_all(driver):
    """A timer the step cancels without holding its row goes out with the step's rows at
    commit (row_writes.defer); a step rolled back to its savepoint takes it along."""
    from engine import projection

    driver.start()
    engine = driver.system.engine
    with engine.unit_of_work(read_only=True) as uow:
        [timer_id] = uow.session.scalars(select(Timer.id).where(Timer.state == "waiting"))

    def state():
        with engine.unit_of_work(read_only=True) as uow:
            return uow.session.get(Timer, timer_id).state

    with engine.unit_of_work() as uow:
        savepoint = uow.session.begin_nested()
        projection._settle(uow.session, Timer, {timer_id}, "waiting", state="cancelled")
        savepoint.rollback()
        uow.discard_pending()  # as a batch stepped ahead does (engine/sweep.py)
    assert state() == "waiting"
    with engine.unit_of_work() as uow:  # a unit rolled back and then committed
        projection._settle(uow.session, Timer, {timer_id}, "waiting", state="cancelled")
        uow.rollback()
    assert state() == "waiting"
    with engine.unit_of_work() as uow:
        projection._settle(uow.session, Timer, {timer_id}, "waiting", state="cancelled")
    assert state() == "cancelled"
