"""POST /tasks/{id}/complete answers the instance as it stands after the step, read in the
step's own unit of work: the same body a GET of the instance gives right after."""

import pytest

from webui.app import create_app

from .api_client import sign_in
from .driver import DEFAULTS


@pytest.fixture
def client(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    return create_app(system).test_client()


def _complete(client, headers, task_id, data):
    response = client.post(
        f"/api/v1/tasks/{task_id}/complete", json={"data": data}, headers=headers
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_the_answer_is_the_instance_after_the_step(driver, client):
    headers = sign_in(client, driver.system, "center_staff", ["center_staff"])
    instance_id = driver.start().id
    [review] = driver.open_tasks("review_application")

    answer = _complete(client, headers, review.id, DEFAULTS["review_application"])

    shown = client.get(f"/api/v1/instances/{instance_id}", headers=headers).get_json()
    assert answer == shown
    assert answer["file_number"]  # the number the step gave, already in the answer
    assert review.id not in {t["id"] for t in answer["open_tasks"]}
    assert {t["element"] for t in answer["open_tasks"]} == {"plan_survey"}


def test_per_item_tasks_stay_open_in_the_answer_until_each_is_done(driver, client):
    headers = sign_in(client, driver.system, "center_staff", ["center_staff"])
    instance_id = driver.start().id
    driver.complete("review_application")
    driver.complete("plan_survey")
    first, *others = driver.open_tasks("fill_questionnaire")

    answer = _complete(client, headers, first.id, DEFAULTS["fill_questionnaire"])

    assert answer == client.get(f"/api/v1/instances/{instance_id}", headers=headers).get_json()
    assert {t["id"] for t in answer["open_tasks"]} == {t.id for t in others}


def test_a_sent_back_budget_prefills_what_may_be_posted_back_as_it_is(driver, client):
    driver.run_until("prepare_budget")
    driver.complete("prepare_budget")
    driver.complete("approve_budget_division", {"decision": "reject", "comments": "太贵"})
    driver.complete("approve_budget_center")
    [budget] = driver.open_tasks("prepare_budget")  # back for another go
    headers = sign_in(client, driver.system, "center_staff", ["center_staff"])
    detail = client.get(f"/api/v1/tasks/{budget.id}", headers=headers).get_json()
    assert detail["data"] == DEFAULTS["prepare_budget"]  # the items, not the computed total
    answer = _complete(client, headers, budget.id, detail["data"])
    assert answer["data"]["prepare_budget"]["total"] == 3620.5
