"""A failing expression fails the instance with an incident; staff fix the data and retry."""

from datetime import datetime

import pytest

from engine.errors import Conflict, Forbidden, ProcessError
from engine.spiff import state_to_json
from webui.composition import PROCESSES_DIR

from .driver import SHANGHAI


def _deploy_gateway_needing(system, variable):
    """order_service whose accept condition also needs `variable`, which no form sets."""
    text = (PROCESSES_DIR / "order_service.bpmn").read_text(encoding="utf-8")
    accept = 'review_application["decision"] == "accept"'
    with system.engine.unit_of_work() as uow:
        system.engine.deploy(
            uow, {"order_service.bpmn": text.replace(accept, f"{accept} and {variable}")}, "owner"
        )


@pytest.fixture
def failed(driver):
    _deploy_gateway_needing(driver.system, "budget_year_confirmed")
    driver.start()
    with pytest.raises(ProcessError) as error:
        driver.complete("review_application")
    assert "budget_year_confirmed" in error.value.message
    return driver


def test_a_failing_condition_fails_the_instance_and_keeps_the_submission(failed):
    instance = failed.instance()
    assert instance.status == "failed"
    assert instance.incident["element"] == "application_accepted"
    assert instance.incident["action"]["data"] == {"decision": "accept"}
    assert failed.open_elements() == ["review_application"]  # the step itself rolled back
    assert [e.type for e in failed.events()][-1] == "incident"
    staff = failed.actors["center_staff"]
    assert [i.id for i in failed.system.operations.failed(staff)] == [failed.instance_id]


def test_staff_fix_the_data_and_retry_and_the_instance_goes_on(failed):
    staff = failed.actors["center_staff"]
    failed.system.operations.retry(staff, failed.instance_id, patch={"budget_year_confirmed": True})
    instance = failed.instance()
    assert (instance.status, instance.incident, instance.stage) == ("running", None, "survey")
    assert instance.file_number == "DD-2026-0001"
    types = [e.type for e in failed.events()]
    assert types.index("incident") < types.index("data_patched") < types.index("incident_resolved")


def test_a_retry_that_fails_again_keeps_the_instance_failed(failed):
    staff = failed.actors["center_staff"]
    with pytest.raises(ProcessError):
        failed.system.operations.retry(staff, failed.instance_id)
    assert failed.instance().status == "failed"
    assert [e.type for e in failed.events()].count("incident") == 2


def test_only_operators_retry(failed):
    with pytest.raises(Forbidden):
        failed.system.operations.retry(failed.actors["applicant"], failed.instance_id)


def _lose_variable(driver, name):
    """Corrupt the waiting workflow's data behind the engine's back."""
    engine = driver.system.engine
    with engine.unit_of_work() as uow:
        instance = engine.lock(uow, driver.instance_id)
        workflow = engine.workflow(uow, instance)
        for task in workflow.get_tasks():
            task.data.pop(name, None)
        for sub in workflow.subprocesses.values():
            sub.data.pop(name, None)
        workflow.data.pop(name, None)
        instance.state = state_to_json(workflow)


def test_a_failing_timer_fails_its_instance_once_and_the_sweep_goes_on(driver):
    driver.run_to_activity()
    assert driver.at(datetime(2026, 10, 20, 9, 0, tzinfo=SHANGHAI)) == 1
    driver.complete("record_activity")
    driver.complete_all("evaluate_service")
    driver.complete("track_activity")
    broken = driver.instance_id
    _lose_variable(driver, "served_enterprises")  # the follow-up loop runs over it

    driver.instance_id = None
    driver.start()  # a healthy instance whose review deadline falls due meanwhile
    fired = driver.at(datetime(2026, 10, 28, 9, 0, tzinfo=SHANGHAI))
    assert fired == 1  # the healthy one; the broken one failed
    assert driver.open_elements() == ["handle_overdue_review", "review_application"]

    driver.instance_id = broken
    instance = driver.instance()
    assert instance.status == "failed"
    assert instance.incident["action"] == {"kind": "timer"}
    assert driver.at(datetime(2026, 10, 29, 9, 0, tzinfo=SHANGHAI)) == 0  # not retried alone

    staff = driver.actors["center_staff"]
    served = [{"name": "石家庄恒达机械有限公司"}]
    driver.system.operations.retry(staff, broken, patch={"served_enterprises": served})
    assert driver.instance().status == "running"
    assert [t.subject for t in driver.open_tasks("follow_up_visit")] == [served[0]["name"]]


def test_a_suspended_instance_takes_no_completion(driver):
    driver.start()
    staff = driver.actors["center_staff"]
    driver.system.operations.suspend(staff, driver.instance_id)
    with pytest.raises(Conflict, match="suspended"):
        driver.complete("review_application")
    driver.system.operations.resume(staff, driver.instance_id)
    driver.complete("review_application")
    types = [e.type for e in driver.events()]
    assert "instance_suspended" in types and "instance_resumed" in types


def test_an_incident_is_not_recorded_over_a_step_taken_since_the_failed_one(driver):
    driver.start()
    engine = driver.system.engine
    failed_at = driver.instance().lock_version
    driver.complete("review_application")  # another process's step, between the two
    error = ProcessError("application_accepted: name 'x' is not defined")
    assert not engine.record_incident(driver.instance_id, error, {"kind": "timer"}, failed_at)
    instance = driver.instance()
    assert (instance.status, instance.incident) == ("running", None)
    assert "incident" not in [e.type for e in driver.events()]
    assert engine.record_incident(driver.instance_id, error, {"kind": "timer"})  # no version
    assert driver.instance().status == "failed"


def test_a_retry_of_a_failure_someone_retried_meanwhile_is_a_conflict(failed, monkeypatch):
    staff = failed.actors["center_staff"]
    operations = failed.system.operations
    retry_completion = operations._retry_completion

    def after_another_retry(*args):  # the other operator's retry lands first
        monkeypatch.setattr(operations, "_retry_completion", retry_completion)
        operations.retry(staff, failed.instance_id, patch={"budget_year_confirmed": True})
        return retry_completion(*args)

    monkeypatch.setattr(operations, "_retry_completion", after_another_retry)
    with pytest.raises(Conflict, match="changed meanwhile"):
        operations.retry(staff, failed.instance_id, patch={"budget_year_confirmed": True})
    instance = failed.instance()
    assert (instance.status, instance.stage) == ("running", "survey")
    types = [e.type for e in failed.events()]
    assert types.count("incident_resolved") == 1 and types.count("data_patched") == 1
