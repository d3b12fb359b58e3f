"""Two people racing: one completion wins, the other gets a conflict, nothing half-written."""

import threading

import pytest
from sqlalchemy import func, select

from engine.errors import Conflict
from engine.models import AuditEvent, HumanTask

from .driver import DEFAULTS, ENTERPRISES


def _race(functions):
    barrier = threading.Barrier(len(functions))
    outcomes = [None] * len(functions)

    def run(index, function):
        barrier.wait()
        try:
            outcomes[index] = function()
        except Exception as exc:  # noqa: BLE001 — the outcome is what the test looks at
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_racing_completions_of_one_task_one_wins_one_conflicts(driver):
    driver.start()
    task_id = driver.task("review_application").id
    staff = driver.actors["center_staff"]
    second = driver.tasks.add_user("staff2", ["center_staff"])
    outcomes = _race(
        [
            lambda: driver.tasks.complete(staff, task_id, {"decision": "accept"}),
            lambda: driver.tasks.complete(
                second, task_id, {"decision": "reject", "reason": "重复申请"}
            ),
        ]
    )
    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(conflicts) == 1 and len(winners) == 1, outcomes

    instance = driver.instance()
    with driver.system.engine.unit_of_work() as uow:
        completions = uow.session.scalar(
            select(func.count()).where(
                AuditEvent.instance_id == instance.id, AuditEvent.type == "task_completed"
            )
        )
    assert completions == 1
    decision = instance.data["review_application"]["decision"]
    assert instance.status == ("running" if decision == "accept" else "rejected")
    driver.check_round_trip()
    if decision == "accept":  # the winner's path goes on normally
        driver.complete("plan_survey")
        assert len(driver.open_tasks("fill_questionnaire")) == 3


def test_racing_completions_of_sibling_tasks_both_land(driver):
    driver.start()
    driver.complete("review_application")
    driver.complete("plan_survey")
    staff = driver.actors["center_staff"]
    rows = driver.open_tasks("fill_questionnaire")
    data = DEFAULTS["fill_questionnaire"]
    outcomes = _race([lambda r=row: driver.tasks.complete(staff, r.id, data) for row in rows])
    # Each either landed or was refused as a conflict; retrying the refused ones succeeds.
    for row, outcome in zip(rows, outcomes, strict=True):
        if isinstance(outcome, Conflict):
            driver.tasks.complete(staff, row.id, data)
        else:
            assert not isinstance(outcome, Exception), outcome
    assert driver.open_elements() == ["site_survey"]
    subjects = sorted(e["subject"] for e in driver.instance().data["fill_questionnaire"])
    assert subjects == sorted(ENTERPRISES)


def test_a_claimed_task_cannot_be_completed_or_claimed_by_another(driver):
    driver.start()
    task_id = driver.task("review_application").id
    other = driver.tasks.add_user("staff2", ["center_staff"])
    driver.tasks.claim(driver.actors["center_staff"], task_id)
    with pytest.raises(Conflict):
        driver.tasks.claim(other, task_id)
    with pytest.raises(Conflict):
        driver.tasks.complete(other, task_id, {"decision": "accept"})
    driver.tasks.unclaim(driver.actors["center_staff"], task_id)
    driver.tasks.claim(other, task_id)
    with driver.system.engine.unit_of_work() as uow:
        assert uow.session.get(HumanTask, task_id).assignee == "staff2"
    types = [e.type for e in driver.events()]
    assert types.count("task_claimed") == 2 and types.count("task_unclaimed") == 1
