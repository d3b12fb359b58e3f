"""The reports' facts (tasks/report_facts.py): a row per application, brought up to date
before each report — a step makes its instance's row stale, the next report rewrites it as
the stored rows give it, once however many steps came in between; instances that have none
— a database upgraded from before the facts existed — are filled too."""

from contextlib import contextmanager
from datetime import datetime

import pytest
from sqlalchemy import delete, func, select, update

from engine.models import ReportFacts
from tasks.report_facts import refresh
from tasks.reports import Filters, Reports
from tasks.roles import Actor
from webui.composition import bpmn_files, build

from .driver import SHANGHAI
from .other_driver import OrderDriver
from .reports_seed import seed
from .test_webui__reports import A, B, C, D, E, F

HEAD = Actor("head", frozenset({"center_head"}))


def stored_facts(system, instance_id):
    """The instance's row: its facts (every column but the revision), and its revision."""
    with system.engine.db.session(read_only=True) as session:
        row = session.get(ReportFacts, instance_id)
        if row is None:
            return None
        columns = ReportFacts.__table__.columns.keys()
        facts = {name: getattr(row, name) for name in columns if name != "revision"}
        return facts, row.revision


def refilled_facts(system, instance_id):
    """The row a fill writes from the instance's stored rows as they are now."""
    with system.engine.unit_of_work() as uow:
        uow.session.execute(delete(ReportFacts).where(ReportFacts.instance_id == instance_id))
    assert refresh(system.engine) == 1
    return stored_facts(system, instance_id)[0]


def test_a_report_counts_the_steps_taken_since_the_last_one(driver, system):
    driver.start()
    assert stored_facts(system, driver.instance_id) is None
    assert refresh(system.engine) == 1
    assert refresh(system.engine) == 0, "nothing changed: nothing is rewritten"
    facts, revision = stored_facts(system, driver.instance_id)
    assert (facts["decision"], facts["review_state"]) == (None, "open")
    seen = [revision]

    def check():
        """The steps since the last refresh made the row stale; one refresh rewrites it
        as a fill from the stored rows gives it."""
        assert stored_facts(system, driver.instance_id)[1] == seen[-1]  # not written by steps
        assert refresh(system.engine) == 1
        facts, revision = stored_facts(system, driver.instance_id)
        assert revision > seen[-1]
        assert refresh(system.engine) == 0
        assert facts == refilled_facts(system, driver.instance_id)
        seen.append(stored_facts(system, driver.instance_id)[1])
        return facts

    driver.complete("review_application")
    facts = check()
    assert (facts["decision"], facts["review_state"]) == ("accept", "completed")
    driver.run_to_activity()
    facts = check()
    assert facts["experts"] and facts["budget_total"] is not None
    assert facts["evaluations"] == 0
    driver.run_from_activity_to_follow_up()  # timers: steps of the sweep
    facts = check()
    assert facts["evaluations"] > 0
    driver.complete_all("follow_up_visit")
    driver.complete("archive_file")
    facts = check()
    assert facts["archiving_seconds"] is not None
    report = Reports(system.engine).report(HEAD, Filters())
    assert report.instances == 1
    rows = {key: figure.rows for key, figure in report.figures.items()}
    assert rows["decisions"][-1][:3] == ["total", 1, 1]
    assert rows["applications_by_region"][0][1:] == [1, 1]  # 石家庄市
    assert rows["budgets"][0][0] == "DD-2026-0001" and rows["budgets"][0][-1] == 3620.5
    assert [row[0] for row in rows["scores_by_expert"]] == ["刘律师", "张教授"]
    assert [row[0] for row in rows["stage_times"]] == [
        "application", "survey", "preparation", "implementation", "follow_up", "archiving"
    ]  # fmt: skip


def test_other_processes_have_no_facts(system, clock):
    order = OrderDriver(system, clock, "customer_order")
    order.start()
    order.complete(order.open_elements()[0])
    with system.engine.db.session(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(ReportFacts)) == 0


def test_instances_without_facts_are_filled_on_the_first_report(system, clock):
    clock.set(datetime(2026, 11, 23, 11, 0, tzinfo=SHANGHAI))
    seed(system, [A, B, C, D, E, F], facts=False)  # as a database upgraded from 0004
    reports = Reports(system.engine)
    assert reports.report(HEAD, Filters()).instances == 6
    assert refresh(system.engine) == 0
    with system.engine.db.session(read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(ReportFacts)) == 6


@contextmanager
def seeded_at(revision, applications, facts, database_url, clock):
    """A system whose schema stopped at migration `revision`, with these applications
    seeded (and their facts rows, with `facts`): (system, instance ids). Disposed after."""
    system = build(database_url, clock=clock)
    try:
        system.db.upgrade(revision)
        with system.engine.unit_of_work() as uow:
            system.engine.deploy(uow, bpmn_files(system.processes_dir), "system")
        clock.set(datetime(2026, 11, 23, 11, 0, tzinfo=SHANGHAI))
        yield system, seed(system, applications, facts=facts)
    finally:
        system.db.dispose()


def test_a_database_upgraded_from_0004_counts_the_applications_it_had(database_url, clock):
    with seeded_at("0004", [A, B, C, D, E, F], False, database_url, clock) as (system, _):
        system.setup()  # the migrations to the latest: report_facts, empty
        report = Reports(system.engine).report(HEAD, Filters())
        assert report.instances == 6
        assert report.figures["decisions"].rows[-1][:4] == ["total", 6, 4, 1]


def test_rows_of_a_database_from_0006_are_worked_out_again_on_the_first_report(database_url, clock):
    """At 0006 a row's revision counted its writes, which could pass its instance's
    lock_version; 0007 marks every row stale, so none is taken for current by chance."""
    with seeded_at("0006", [A, B], True, database_url, clock) as (system, ids):
        with system.engine.unit_of_work() as uow:  # as 0006's steps left them: counts of writes
            uow.session.execute(update(ReportFacts).values(revision=ReportFacts.revision + 7))
            uow.session.execute(update(ReportFacts).values(decision="stale"))
        system.setup()
        assert {stored_facts(system, i)[1] for i in ids} == {0}
        assert refresh(system.engine) == 2
        assert {stored_facts(system, i)[0]["decision"] for i in ids} != {"stale"}


def test_a_report_passes_over_an_instance_a_step_holds_and_counts_it_next_time(driver, system):
    if system.db.is_sqlite:
        pytest.skip("SQLite serialises writers: a report waits for the step instead")
    driver.start()
    assert refresh(system.engine) == 1
    driver.complete("review_application")
    with system.engine.unit_of_work() as step:  # a step in progress holds the instance
        system.engine.lock(step, driver.instance_id)
        assert refresh(system.engine) == 0, "the report went ahead without waiting"
        assert stored_facts(system, driver.instance_id)[0]["decision"] is None
    assert refresh(system.engine) == 1
    assert stored_facts(system, driver.instance_id)[0]["decision"] == "accept"
