"""The one-working-day review deadline: escalation when it passes, none before."""

from datetime import datetime

import pytest
from sqlalchemy import select

from engine.models import CalendarOverride, HumanTask, Timer

from .driver import SHANGHAI


def _review(driver):
    return driver.task("review_application")


def _inbox(driver, role, scope="group"):
    return driver.tasks.inbox(driver.actors[role], scope=scope)


def test_review_is_due_at_close_of_business_of_the_next_working_day(driver):
    # Submitted Wednesday 2026-09-30: the National Day holidays fall between.
    driver.start()
    assert _review(driver).due_at == datetime(2026, 10, 8, 17, 30, tzinfo=SHANGHAI)
    [view] = [t for t in _inbox(driver, "center_staff") if t.element == "review_application"]
    assert view.due_at == datetime(2026, 10, 8, 17, 30, tzinfo=SHANGHAI)
    assert view.overdue is False


def test_no_escalation_before_the_deadline_and_one_after_it(driver):
    driver.start()
    assert driver.at(datetime(2026, 10, 8, 17, 29, tzinfo=SHANGHAI)) == 0
    assert driver.open_elements() == ["review_application"]
    assert _inbox(driver, "center_head") == []

    assert driver.at(datetime(2026, 10, 8, 17, 31, tzinfo=SHANGHAI)) == 1
    assert driver.open_elements() == ["handle_overdue_review", "review_application"]
    [escalation] = _inbox(driver, "center_head")
    assert escalation.element == "handle_overdue_review"
    [review] = [t for t in _inbox(driver, "center_staff") if t.element == "review_application"]
    assert review.overdue is True
    assert [e.type for e in driver.events()][-3:] == ["timer_fired", "task_overdue", "task_created"]
    assert driver.at(datetime(2026, 10, 9, 17, 31, tzinfo=SHANGHAI)) == 0  # once only


def test_completing_the_overdue_review_withdraws_the_escalation(driver):
    driver.start()
    driver.at(datetime(2026, 10, 9, 9, 0, tzinfo=SHANGHAI))
    driver.complete("review_application")
    assert driver.open_elements() == ["plan_survey"]
    with driver.system.engine.unit_of_work() as uow:
        escalation = uow.session.scalar(
            select(HumanTask).where(HumanTask.element == "handle_overdue_review")
        )
    assert escalation.state == "cancelled"
    [withdrawn] = driver.events("task_cancelled")  # the history says where it went
    assert (withdrawn.element, withdrawn.task_id) == ("handle_overdue_review", escalation.id)
    assert withdrawn.data == {"role": "center_head", "subject": None}
    types = [e.type for e in driver.events()]
    assert types.index("task_completed") < types.index("task_cancelled")


def test_the_head_can_handle_the_escalation_while_the_review_stays_open(driver):
    driver.start()
    driver.at(datetime(2026, 10, 9, 9, 0, tzinfo=SHANGHAI))
    driver.complete("handle_overdue_review", {"action_taken": "已电话督办"})
    assert driver.open_elements() == ["review_application"]
    driver.complete("review_application")
    assert driver.instance().stage == "survey"


@pytest.mark.parametrize(
    ("submitted", "due"),
    [
        # Friday before a make-up Saturday (调休): the Saturday is the next working day.
        (datetime(2026, 10, 9, 16, 0), datetime(2026, 10, 10, 17, 30)),
        # Submitted on a Sunday: Monday counts.
        (datetime(2026, 10, 11, 11, 0), datetime(2026, 10, 12, 17, 30)),
        # The 2026→2027 year end: 2027 has no official data yet, Monday–Friday applies.
        (datetime(2026, 12, 31, 9, 0), datetime(2027, 1, 1, 17, 30)),
    ],
)
def test_deadlines_follow_the_working_day_calendar(driver, submitted, due):
    driver.clock.set(submitted.replace(tzinfo=SHANGHAI))
    driver.start()
    assert _review(driver).due_at == due.replace(tzinfo=SHANGHAI)


def test_an_admin_override_moves_the_deadline(driver):
    with driver.system.engine.unit_of_work() as uow:
        uow.session.add(
            CalendarOverride(
                day=datetime(2027, 1, 1).date(),
                is_working_day=False,
                note="元旦",
                updated_by="admin",
                updated_at=uow.now,
            )
        )
    driver.clock.set(datetime(2026, 12, 31, 9, 0, tzinfo=SHANGHAI))
    driver.start()
    assert _review(driver).due_at == datetime(2027, 1, 4, 17, 30, tzinfo=SHANGHAI)


def test_follow_up_falls_due_five_working_days_after_the_activity(driver):
    driver.run_to_activity()
    assert driver.at(datetime(2026, 10, 20, 9, 0, tzinfo=SHANGHAI)) == 1
    driver.complete("record_activity")
    driver.complete_all("evaluate_service")
    driver.complete("track_activity")
    # Tuesday 10-20 + 5 working days = Tuesday 10-27, 17:30.
    assert driver.at(datetime(2026, 10, 27, 17, 29, tzinfo=SHANGHAI)) == 0
    assert driver.open_elements() == []
    assert driver.at(datetime(2026, 10, 27, 17, 30, tzinfo=SHANGHAI)) == 1
    assert len(driver.open_tasks("follow_up_visit")) == 3


def test_a_review_done_in_time_cancels_its_deadline_timer(driver):
    driver.start()
    with driver.system.engine.unit_of_work(read_only=True) as uow:
        [deadline] = uow.session.scalars(select(Timer).where(Timer.element == "review_deadline"))
    assert deadline.state == "waiting"
    driver.complete("review_application")
    with driver.system.engine.unit_of_work(read_only=True) as uow:
        assert uow.session.get(Timer, deadline.id).state == "cancelled"
    assert driver.at(deadline.due_at) == 0  # nothing waits there any more
    assert driver.events("task_overdue") == []
