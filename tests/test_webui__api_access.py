"""Who may see and do what, through HTTP, on one instance in the survey stage: the
enterprises' questionnaires are open, one task per enterprise."""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from tasks import users
from webui.app import create_app

from .api_client import sign_in
from .driver import DEFAULTS, ENTERPRISES

HENGDA, LVYUAN, HUAXIN = ENTERPRISES


@pytest.fixture
def client(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    return create_app(system).test_client()


@pytest.fixture
def survey(driver):
    """Review done, survey planned: a fill_questionnaire task open for each enterprise."""
    driver.start()
    driver.complete("review_application")
    driver.complete("plan_survey")
    assert {t.subject for t in driver.open_tasks("fill_questionnaire")} == set(ENTERPRISES)
    return driver


@dataclass
class Who:
    username: str
    roles: list[str]
    sees_instance: int  # GET /instances/{id}
    group_subjects: set[str]  # fill_questionnaire subjects in GET /tasks?scope=group
    completes: dict[str, int]  # enterprise → status of POST .../complete on its task
    extra: dict = field(default_factory=dict)


WHO = [
    Who("applicant", ["applicant"], 200, set(), {HENGDA: 403}),
    Who(
        "other_applicant",
        ["applicant"],
        404,
        set(),
        {HENGDA: 404},
    ),
    Who("center_staff", ["center_staff"], 200, set(ENTERPRISES), {HENGDA: 200}),
    Who("center_head", ["center_head"], 200, set(), {HENGDA: 403}),
    Who("auditor", ["auditor"], 200, set(), {HENGDA: 403}),
    Who(
        "hengda",
        ["enterprise"],
        200,
        {HENGDA},
        {LVYUAN: 404, HENGDA: 200},  # another enterprise's task: not even its existence
        extra={"subject_name": HENGDA},
    ),
]


@pytest.mark.parametrize("who", WHO, ids=[w.username for w in WHO])
def test_who_sees_the_instance_and_the_enterprise_tasks(client, system, survey, request, who):
    headers = sign_in(client, system, who.username, who.roles, **who.extra)
    instance_path = f"/api/v1/instances/{survey.instance_id}"

    response = client.get(instance_path, headers=headers)
    assert response.status_code == who.sees_instance, response.get_data(as_text=True)
    listed = {i["id"] for i in client.get("/api/v1/instances", headers=headers).get_json()}
    assert (survey.instance_id in listed) == (who.sees_instance == 200)
    history = client.get(f"{instance_path}/history", headers=headers)
    assert history.status_code == who.sees_instance

    group = client.get("/api/v1/tasks?scope=group", headers=headers)
    assert group.status_code == 200
    subjects = {
        t["subject"]
        for t in group.get_json()
        if t["instance_id"] == survey.instance_id and t["element"] == "fill_questionnaire"
    }
    assert subjects == who.group_subjects
    assert client.get("/api/v1/tasks?scope=mine", headers=headers).get_json() == []

    for subject, status in who.completes.items():
        task = survey.task("fill_questionnaire", subject)
        response = _answer_questionnaire(client, headers, task)
        assert response.status_code == status, (subject, response.get_data(as_text=True))
        if status != 200:
            assert survey.task("fill_questionnaire", subject).state == "open"
            assert response.get_json()["error"]["code"] in ("forbidden", "not_found")


def _answer_questionnaire(client, headers, task):
    return client.post(
        f"/api/v1/tasks/{task.id}/complete",
        headers=headers,
        json={"data": DEFAULTS["fill_questionnaire"]},
    )


def test_center_staff_completes_on_behalf_of_the_enterprise(client, system, survey):
    headers = sign_in(client, system, "center_staff", ["center_staff"])
    task = survey.task("fill_questionnaire", LVYUAN)
    response = _answer_questionnaire(client, headers, task)
    assert response.status_code == 200, response.get_data(as_text=True)
    [event] = [
        e
        for e in client.get(
            f"/api/v1/instances/{survey.instance_id}/history", headers=headers
        ).get_json()
        if e["type"] == "task_completed" and e["task_id"] == task.id
    ]
    assert event["actor"] == "center_staff"
    assert LVYUAN in str(event["data"])  # recorded as on behalf of the enterprise
    remaining = {t["subject"] for t in response.get_json()["open_tasks"]}
    assert remaining == {HENGDA, HUAXIN}


def test_an_enterprise_user_claims_only_its_own_task(client, system, survey):
    headers = sign_in(client, system, "hengda", ["enterprise"], subject_name=HENGDA)
    own = survey.task("fill_questionnaire", HENGDA)
    other = survey.task("fill_questionnaire", HUAXIN)
    claimed = client.post(f"/api/v1/tasks/{own.id}/claim", headers=headers)
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "hengda"
    mine = client.get("/api/v1/tasks?scope=mine", headers=headers).get_json()
    assert [t["id"] for t in mine] == [own.id]
    refused = client.post(f"/api/v1/tasks/{other.id}/claim", headers=headers)
    assert refused.status_code == 404
    assert survey.task("fill_questionnaire", HUAXIN).assignee is None


def test_an_enterprise_user_does_not_read_another_enterprises_task(client, system, survey):
    """Its form and prefill are another company's answers: 404, as for anything the caller
    may not see (it was readable, only acting on it was refused)."""
    headers = sign_in(client, system, "hengda", ["enterprise"], subject_name=HENGDA)
    own = survey.task("fill_questionnaire", HENGDA)
    other = survey.task("fill_questionnaire", HUAXIN)
    assert client.get(f"/api/v1/tasks/{own.id}", headers=headers).status_code == 200
    for method, path in [
        ("get", f"/api/v1/tasks/{other.id}"),
        ("post", f"/api/v1/tasks/{other.id}/claim"),
        ("post", f"/api/v1/tasks/{other.id}/unclaim"),
    ]:
        response = getattr(client, method)(path, headers=headers)
        assert response.status_code == 404, (path, response.get_data(as_text=True))
        assert response.get_json()["error"]["code"] == "not_found"


def test_an_enterprise_user_sees_nothing_of_an_instance_without_its_tasks(client, system, survey):
    headers = sign_in(client, system, "other_co", ["enterprise"], subject_name="别的公司")
    response = client.get(f"/api/v1/instances/{survey.instance_id}", headers=headers)
    assert response.status_code == 404
    assert client.get("/api/v1/instances", headers=headers).get_json() == []
    assert client.get("/api/v1/tasks?scope=group", headers=headers).get_json() == []
    task = survey.task("fill_questionnaire", HENGDA)
    assert client.get(f"/api/v1/tasks/{task.id}", headers=headers).status_code == 404


def test_the_auditor_reads_everything_and_every_write_is_403(client, system, survey):
    headers = sign_in(client, system, "auditor", ["auditor"])
    instance_id = survey.instance_id
    file_id = survey.instance().data["application"]["qualification_documents"][0]
    task = survey.task("fill_questionnaire", HENGDA)
    for path in (
        f"/api/v1/instances/{instance_id}",
        f"/api/v1/instances/{instance_id}/history",
        f"/api/v1/instances/{instance_id}/notices",
        f"/api/v1/instances/{instance_id}/documents",
        f"/api/v1/files/{file_id}",
        f"/api/v1/tasks/{task.id}",
        "/api/v1/processes",
        "/api/v1/processes/order_service",
        "/api/v1/processes/order_service/bpmn",
        "/api/v1/forms/questionnaire",
    ):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.get_data(as_text=True))

    events = len(survey.events())
    for path, kwargs in [
        ("/api/v1/instances", {"json": {"process": "order_service", "data": {}}}),
        (f"/api/v1/tasks/{task.id}/claim", {}),
        (f"/api/v1/tasks/{task.id}/unclaim", {}),
        (f"/api/v1/tasks/{task.id}/complete", {"json": {"data": {}}}),
        (
            "/api/v1/processes/deploy?filename=x.bpmn",
            {"data": b"<x/>", "content_type": "application/xml"},
        ),
    ]:
        response = client.post(path, headers=headers, **kwargs)
        assert response.status_code == 403, (path, response.get_data(as_text=True))
        assert response.get_json()["error"]["code"] == "forbidden"
    assert len(survey.events()) == events
    assert survey.task("fill_questionnaire", HENGDA).assignee is None


@pytest.fixture
def confirming(survey):
    """The survey done up to the applicant's own task: confirm_service_design."""
    survey.complete_all("fill_questionnaire")
    survey.complete("site_survey")
    survey.complete("design_service")
    survey.task("confirm_service_design")
    return survey


def test_the_owner_sees_and_completes_its_own_applicant_task(client, system, confirming):
    headers = sign_in(client, system, "applicant", ["applicant"])
    task = confirming.task("confirm_service_design")
    group = client.get("/api/v1/tasks?scope=group", headers=headers).get_json()
    assert [t["id"] for t in group] == [task.id]
    assert client.get(f"/api/v1/tasks/{task.id}", headers=headers).status_code == 200
    response = client.post(
        f"/api/v1/tasks/{task.id}/complete",
        headers=headers,
        json={"data": DEFAULTS["confirm_service_design"]},
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def test_another_applicant_does_not_see_the_owners_applicant_task_in_its_inbox(
    client, system, confirming
):
    headers = sign_in(client, system, "other_applicant", ["applicant"])
    assert client.get("/api/v1/tasks?scope=group", headers=headers).get_json() == []


def test_another_applicant_may_not_read_claim_or_complete_the_owners_task(
    client, system, confirming
):
    other = sign_in(client, system, "other_applicant", ["applicant"])
    task = confirming.task("confirm_service_design")
    body = {"data": DEFAULTS["confirm_service_design"]}
    responses = {
        "read": client.get(f"/api/v1/tasks/{task.id}", headers=other).status_code,
        "claim": client.post(f"/api/v1/tasks/{task.id}/claim", headers=other).status_code,
        "unclaim": client.post(f"/api/v1/tasks/{task.id}/unclaim", headers=other).status_code,
        "complete": client.post(
            f"/api/v1/tasks/{task.id}/complete", headers=other, json=body
        ).status_code,
    }
    assert responses == {"read": 404, "claim": 404, "unclaim": 404, "complete": 404}
    still_open = confirming.task("confirm_service_design")
    assert (still_open.state, still_open.assignee) == ("open", None)


# -- tokens -------------------------------------------------------------------------------


def test_a_token_expires_after_twelve_hours(client, system, clock):
    headers = sign_in(client, system, "center_staff", ["center_staff"])
    signed_in_at = clock.now()
    clock.set(signed_in_at + timedelta(hours=11, minutes=59))
    assert client.get("/api/v1/instances", headers=headers).status_code == 200

    clock.set(signed_in_at + timedelta(hours=13))
    response = client.get("/api/v1/instances", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert client.post("/api/v1/instances", headers=headers, json={}).status_code == 401

    fresh = sign_in(client, system, "center_staff", ["center_staff"])
    assert client.get("/api/v1/instances", headers=fresh).status_code == 200
    assert client.get("/api/v1/instances", headers=headers).status_code == 401


def test_a_tokens_roles_are_read_afresh_on_every_request(client, system, survey):
    headers = sign_in(client, system, "wang", ["center_staff"])
    path = f"/api/v1/instances/{survey.instance_id}"
    assert client.get(path, headers=headers).status_code == 200
    with system.engine.unit_of_work() as uow:
        users.remove_role(uow.session, "wang", "center_staff")
    assert client.get(path, headers=headers).status_code == 404


def test_an_enterprise_user_linked_to_no_enterprise_acts_in_the_lane_and_sees_its_answer(
    client, system, survey
):
    headers = sign_in(client, system, "enterprise", ["enterprise"])  # as the demo user is
    group = client.get("/api/v1/tasks?scope=group", headers=headers).get_json()
    assert {t["subject"] for t in group if t["element"] == "fill_questionnaire"} == set(ENTERPRISES)
    task = survey.task("fill_questionnaire", HUAXIN)
    response = _answer_questionnaire(client, headers, task)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["id"] == survey.instance_id  # the instance, not a 404
    listed = client.get("/api/v1/instances", headers=headers).get_json()
    assert [i["id"] for i in listed] == [survey.instance_id]
