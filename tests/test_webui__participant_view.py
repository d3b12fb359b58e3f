"""What an enterprise user sees of an instance it takes part in: its own questionnaire and
tasks, not the applicant's contacts and documents or another company's answers (both
audits of this session read a competitor's revenue band and problems through it)."""

import pytest

from webui.app import create_app

from .api_client import sign_in
from .driver import DEFAULTS, ENTERPRISES
from .test_webui__admin_pages import signed_in_client, text

HENGDA, LVYUAN, HUAXIN = ENTERPRISES
SECRET = "绿源的应收账款难题"


@pytest.fixture
def client(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    return create_app(system).test_client()


@pytest.fixture
def answered(driver, client, system):
    """Survey stage: Lvyuan's questionnaire entered by the center's staff, Hengda's open."""
    driver.start()
    driver.complete("review_application")
    driver.complete("plan_survey")
    staff = sign_in(client, system, "wang", ["center_staff"])
    lvyuan = driver.task("fill_questionnaire", LVYUAN)
    answer = {**DEFAULTS["fill_questionnaire"], "main_problems": SECRET}
    response = client.post(
        f"/api/v1/tasks/{lvyuan.id}/complete", headers=staff, json={"data": answer}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return driver


def test_a_linked_enterprise_user_reads_its_own_part_only(client, system, answered):
    hengda = sign_in(client, system, "hengda", ["enterprise"], subject_name=HENGDA)
    path = f"/api/v1/instances/{answered.instance_id}"
    own = answered.task("fill_questionnaire", HENGDA)
    done = client.post(
        f"/api/v1/tasks/{own.id}/complete",
        headers=hengda,
        json={"data": DEFAULTS["fill_questionnaire"]},
    )
    assert done.status_code == 200, done.get_data(as_text=True)

    for shown in (done.get_json(), client.get(path, headers=hengda).get_json()):
        assert SECRET not in str(shown)
        assert "application" not in shown["data"] and "plan_survey" not in shown["data"]
        assert [e["subject"] for e in shown["data"]["fill_questionnaire"]] == [HENGDA]
        assert all(t["subject"] == HENGDA for t in shown["open_tasks"])  # Huaxin's is open

    history = client.get(f"{path}/history", headers=hengda).get_json()
    assert {e["task_id"] for e in history} == {own.id}
    assert [e["type"] for e in history][-1] == "task_completed"
    assert SECRET not in str(history)

    searched = client.get(f"/api/v1/instances?q={SECRET}", headers=hengda).get_json()
    assert searched == []
    assert client.get(f"{path}/archive.zip", headers=hengda).status_code == 403

    application = answered.instance().data["application"]
    [qualification] = application["qualification_documents"]
    assert client.get(f"/api/v1/files/{qualification}", headers=hengda).status_code == 404


def test_staff_and_the_applicant_still_read_everything(client, system, answered):
    path = f"/api/v1/instances/{answered.instance_id}"
    for who, roles in (("wang", ["center_staff"]), ("auditor", ["auditor"])):
        headers = sign_in(client, system, who, roles)
        shown = client.get(path, headers=headers).get_json()
        assert SECRET in str(shown["data"]) and "application" in shown["data"]
        assert len(shown["open_tasks"]) == 2
        found = client.get(f"/api/v1/instances?q={SECRET}", headers=headers).get_json()
        assert [i["id"] for i in found] == [answered.instance_id]
    applicant = sign_in(client, system, "applicant", ["applicant"])
    assert SECRET in str(client.get(path, headers=applicant).get_json()["data"])
    assert client.get(f"{path}/archive.zip", headers=applicant).status_code == 200


def test_the_unlinked_demo_enterprise_user_reads_its_lane_but_not_the_application(
    client, system, answered
):
    headers = sign_in(client, system, "enterprise", ["enterprise"])  # as the demo user is
    shown = client.get(f"/api/v1/instances/{answered.instance_id}", headers=headers).get_json()
    assert "application" not in shown["data"]
    assert [e["subject"] for e in shown["data"]["fill_questionnaire"]] == [LVYUAN]
    assert {t["subject"] for t in shown["open_tasks"]} == {HENGDA, HUAXIN}


def test_the_instance_page_shows_an_enterprise_user_its_own_answers_only(system, answered):
    app = create_app(system, {"SECRET_KEY": "test-secret"})
    hengda = signed_in_client(app, system, "hengda", ["enterprise"], subject_name=HENGDA)
    page = text(hengda.get(f"/instances/{answered.instance_id}"))
    staff = signed_in_client(app, system, "li", ["center_staff"])
    full = text(staff.get(f"/instances/{answered.instance_id}"))
    assert SECRET in full and "0311-86001234" in full  # the applicant's phone
    assert SECRET not in page and "0311-86001234" not in page
