"""Bad form data is refused with its field named, and the instance stays as it was."""

import pytest

from engine.errors import Forbidden, InvalidData, NotFound

from .driver import APPLICATION


def _snapshot(driver):
    instance = driver.instance()
    return (
        instance.lock_version,
        driver.stored_state(),
        driver.event_count(),
        driver.open_elements(),
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"decision": 1}, "decision"),  # wrong type
        ({}, "decision"),  # missing required field
        ({"decision": "maybe"}, "decision"),  # unknown enum value
        ({"decision": "accept", "approved_by": "me"}, "approved_by"),  # unknown field
    ],
)
def test_bad_review_data_is_refused_naming_the_field(driver, data, field):
    driver.start()
    before = _snapshot(driver)
    with pytest.raises(InvalidData) as error:
        driver.complete("review_application", data)
    assert field in error.value.fields
    assert _snapshot(driver) == before


def test_bad_rows_are_named_by_their_index(driver):
    driver.start()
    driver.complete("review_application")
    with pytest.raises(InvalidData) as error:
        driver.complete(
            "plan_survey",
            {"enterprises": [{"name": "甲公司"}, {"industry": "制造"}], "survey_date": "10/12"},
        )
    assert set(error.value.fields) == {"enterprises.1.name", "survey_date"}


def test_a_start_without_qualification_documents_starts_nothing(driver):
    with pytest.raises(InvalidData) as error:
        driver.start(dict(APPLICATION, qualification_documents=[]))
    assert "qualification_documents" in error.value.fields
    assert driver.system.tasks.inbox(driver.actors["center_staff"], scope="group") == []


def test_an_unknown_or_foreign_file_id_is_refused(driver):
    others_file = driver.upload(as_="center_staff")
    for file_id in ("no-such-file", others_file):
        with pytest.raises(InvalidData) as error:
            driver.start(dict(APPLICATION, qualification_documents=[file_id]))
        assert "qualification_documents.0" in error.value.fields


def test_only_the_tasks_role_may_complete_it(driver):
    driver.start()
    task_id = driver.task("review_application").id
    for role in ("applicant", "auditor", "center_head"):
        with pytest.raises(Forbidden):
            driver.tasks.complete(driver.actors[role], task_id, {"decision": "accept"})
    # Someone who may not even see the instance is not told the task exists.
    with pytest.raises(NotFound):
        driver.tasks.complete(driver.actors["enterprise"], task_id, {"decision": "accept"})
    with pytest.raises(NotFound):
        driver.tasks.complete(driver.actors["center_staff"], "no-such-task", {})


def test_an_enterprise_user_sees_and_completes_only_its_own_enterprise_tasks(driver):
    driver.start()
    driver.complete("review_application")
    driver.complete("plan_survey")
    hengda = driver.tasks.add_user("hengda", ["enterprise"], subject_name="石家庄恒达机械有限公司")
    inbox = driver.tasks.inbox(hengda, scope="group")
    assert [t.subject for t in inbox] == ["石家庄恒达机械有限公司"]
    other = driver.task("fill_questionnaire", subject="河北绿源食品有限公司")
    with pytest.raises(NotFound):  # another company's task: not even its existence
        driver.tasks.complete(hengda, other.id, {})
    driver.tasks.complete(hengda, inbox[0].id, {"industry": "机械"})
    completed = [e for e in driver.events("task_completed") if e.actor == "hengda"]
    assert completed[0].data["on_behalf_of"] is None


def test_applicant_tasks_reach_only_the_applicant_who_applied(driver):
    driver.start()
    stranger = driver.tasks.add_user("another_applicant", ["applicant"])
    driver.complete("review_application")
    driver.complete("plan_survey")
    driver.complete_all("fill_questionnaire")
    driver.complete("site_survey")
    driver.complete("design_service")
    own = driver.tasks.inbox(driver.actors["applicant"], scope="group")
    assert [t.element for t in own] == ["confirm_service_design"]
    assert driver.tasks.inbox(stranger, scope="group") == []
    with pytest.raises(NotFound):
        driver.tasks.instance(stranger, driver.instance_id)
