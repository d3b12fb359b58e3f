"""The whole procedure, three enterprises, from application to archived file."""

from datetime import datetime

import pytest

from engine.errors import Forbidden, NotFound
from engine.models import HumanTask
from webui.composition import build

from .driver import ENTERPRISES, SHANGHAI


def test_three_enterprises_run_from_application_to_archived(driver):
    instance = driver.start()
    assert (instance.status, instance.stage) == ("running", "application")
    driver.complete("review_application")
    assert driver.instance().file_number == "DD-2026-0001"
    assert driver.instance().stage == "survey"

    driver.complete("plan_survey")
    subjects = sorted(t.subject for t in driver.open_tasks("fill_questionnaire"))
    assert subjects == sorted(ENTERPRISES)
    driver.complete_all("fill_questionnaire")
    for element in ("site_survey", "design_service", "confirm_service_design"):
        driver.complete(element)
    assert driver.instance().stage == "preparation"

    driver.complete("select_experts")
    assert sorted(t.subject for t in driver.open_tasks("submit_outline")) == ["刘律师", "张教授"]
    driver.complete_all("submit_outline")
    for element in ("review_content", "assign_coordinators", "prepare_budget"):
        driver.complete(element)
    assert driver.instance().data["prepare_budget"]["total"] == 3620.5
    assert driver.open_elements() == ["approve_budget_center", "approve_budget_division"]
    driver.complete("approve_budget_division")
    driver.complete("approve_budget_center")
    driver.complete("issue_official_letter")
    assert driver.instance().stage == "implementation"
    assert driver.open_elements() == []  # waiting for the activity day
    assert "official_letter" in driver.documents()

    driver.run_from_activity_to_follow_up()
    assert driver.instance().stage == "follow_up"
    assert len(driver.open_tasks("follow_up_visit")) == 3
    driver.complete_all("follow_up_visit")
    assert driver.open_elements() == ["archive_file"]  # no extended need: straight on
    driver.complete("archive_file")

    instance = driver.instance()
    assert (instance.status, instance.stage) == ("archived", "done")
    assert instance.ended_at is not None
    assert driver.open_tasks() == []
    assert set(driver.documents()) == {"official_letter", "archive_record"}
    letter = driver.documents()["official_letter"].body
    assert "张教授" in letter and "2026年10月20日 09:00" in letter and "DD-2026-0001" in letter
    evaluations = instance.data["evaluate_service"]
    assert sorted(e["subject"] for e in evaluations) == sorted(ENTERPRISES)
    types = [e.type for e in driver.events()]
    assert types[0] == "instance_started"
    assert types[-2:] == ["document_generated", "instance_ended"]  # the archive record
    assert types.count("timer_fired") == 2  # the activity day and the follow-up
    assert [n.text for n in driver.notices()] == [
        "申请已受理，服务档案编号：DD-2026-0001",
        "《订单式服务公函》已发出，活动时间：2026-10-20 09:00，"
        "地点：石家庄市长安区科技大厦三楼会议室",
    ]


def test_enterprise_forms_entered_by_staff_keep_who_entered_them(driver):
    driver.start()
    driver.complete("review_application")
    driver.complete("plan_survey")
    driver.complete("fill_questionnaire", subject=ENTERPRISES[1])
    completed = [e for e in driver.events("task_completed") if e.element == "fill_questionnaire"]
    assert completed[0].actor == "center_staff"
    assert completed[0].data["on_behalf_of"] == ENTERPRISES[1]
    assert completed[0].data["subject"] == ENTERPRISES[1]


def test_a_run_continues_on_engine_objects_rebuilt_from_the_database(driver, database_url, clock):
    driver.start()
    driver.complete("review_application")
    driver.complete("plan_survey")
    driver.complete("fill_questionnaire", subject=ENTERPRISES[0])

    # A new process: new engine, caches, parsed specs — only the database is shared.
    rebuilt = build(database_url, clock=clock)
    driver.system, driver.tasks = rebuilt, rebuilt.tasks
    driver.complete_all("fill_questionnaire")
    for element in ("site_survey", "design_service", "confirm_service_design"):
        driver.complete(element)
    assert driver.instance().stage == "preparation"
    with rebuilt.engine.unit_of_work() as uow:
        done = uow.session.query(HumanTask).filter_by(element="fill_questionnaire").all()
    assert sorted(t.state for t in done) == ["completed"] * 3
    rebuilt.db.dispose()


def test_the_activity_day_waits_for_the_date_in_the_official_letter(driver):
    driver.run_to_activity()
    assert driver.at(datetime(2026, 10, 20, 8, 59, tzinfo=SHANGHAI)) == 0
    assert driver.open_elements() == []
    assert driver.at(datetime(2026, 10, 20, 9, 0, tzinfo=SHANGHAI)) == 1
    assert driver.open_elements() == ["record_activity"]


def test_documents_print_blanks_for_what_a_clerk_left_empty(driver):
    driver.run_until("assign_coordinators")
    driver.complete("assign_coordinators", {"center_coordinator": "陈明"})  # the rest empty
    driver.run_to_activity()
    letter = driver.documents()["official_letter"].body
    assert "服务中心 陈明（）" in letter and "省局创新服务处 （）" in letter
    driver.run_from_activity_to_follow_up()
    driver.complete_all("follow_up_visit", {"method": "phone", "extended_service_needed": False})
    driver.complete("archive_file", {})
    record = driver.documents()["archive_record"].body
    assert record.count("<td>电话</td><td></td>") == 3  # the form's title; no effect entered
    assert driver.instance().status == "archived"


def test_an_application_registered_by_staff_has_its_applicant_tasks_done_by_that_clerk(driver):
    driver.start(as_="center_staff")  # a paper application, registered at the counter
    driver.run_until("confirm_service_design")
    row = driver.task("confirm_service_design")
    clerk, tasks = driver.actors["center_staff"], driver.system.tasks
    assert row.id in [t.id for t in tasks.inbox(clerk, "group")]
    another_clerk = tasks.add_user("staff2", ["center_staff"])
    with pytest.raises(Forbidden):
        tasks.complete(another_clerk, row.id, {"decision": "agree"})
    with pytest.raises(NotFound):  # an applicant that did not apply sees nothing of it
        tasks.complete(driver.actors["applicant"], row.id, {"decision": "agree"})
    driver.complete("confirm_service_design", as_="center_staff")
    completed = driver.events("task_completed")[-1]
    assert (completed.actor, completed.data["on_behalf_of"]) == ("center_staff", "applicant")
    assert driver.instance().stage == "preparation"
