"""The inbox page: my tasks, the tasks to take, an applicant's applications; due dates in
Beijing time, the overdue badge, the escalation, claiming and giving back."""

import re
from datetime import datetime

import pytest

from webui.app import create_app

from .driver import APPLICATION, ENTERPRISES, SHANGHAI
from .page_client import csrf_token, page
from .page_client import sign_in_page as sign_in

REVIEW = "登记备案并审核申请"
ESCALATION = "督办超时审核"
OVERDUE_BADGE = '<span class="badge overdue">'


@pytest.fixture
def client(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    return create_app(system).test_client()


def row_of(html: str, text: str) -> str:
    """The table row that mentions `text`."""
    rows = re.findall(r"<tr[^>]*>.*?</tr>", html, re.S)
    found = [r for r in rows if text in r]
    assert found, f"no row with {text}"
    return found[0]


def test_the_inbox_needs_a_signed_in_person(client):
    response = client.get("/inbox")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_center_staff_sees_the_review_task_with_its_due_date(client, system, driver):
    driver.start()
    sign_in(client, system, "center_staff", ["center_staff"])
    html = page(client, "/inbox?tab=group")
    row = row_of(html, REVIEW)
    assert "2026-10-08 17:30" in row  # one working day after 30 September, National Day between
    assert APPLICATION["unit_name"] in row  # no file number yet: the applicant unit
    assert "申请" in row
    assert OVERDUE_BADGE not in row
    assert '待领取<span class="count">1</span>' in html
    assert f'href="/tasks/{driver.task("review_application").id}"' in row


def test_the_overdue_badge_appears_once_the_deadline_passes(client, system, driver):
    driver.start()
    sign_in(client, system, "center_staff", ["center_staff"])
    driver.at(datetime(2026, 10, 8, 17, 29, tzinfo=SHANGHAI))
    assert OVERDUE_BADGE not in row_of(page(client, "/inbox?tab=group"), REVIEW)
    driver.at(datetime(2026, 10, 8, 17, 31, tzinfo=SHANGHAI))
    row = row_of(page(client, "/inbox?tab=group"), REVIEW)
    assert OVERDUE_BADGE in row and "超期" in row
    # "overdue only" keeps it
    assert REVIEW in page(client, "/inbox?tab=group&overdue=1")


def test_center_head_sees_the_escalation_after_the_deadline(client, system, driver):
    driver.start()
    sign_in(client, system, "center_head", ["center_head"])
    assert ESCALATION not in page(client, "/inbox?tab=group")
    driver.at(datetime(2026, 10, 8, 17, 31, tzinfo=SHANGHAI))
    html = page(client, "/inbox")  # nothing of its own: the inbox opens on the tasks to take
    assert 'class="active" aria-current="page">待领取' in html
    assert ESCALATION in html
    assert REVIEW not in html  # the review itself stays with center staff


def test_claim_then_unclaim_are_recorded_and_move_the_task(client, system, driver):
    driver.start()
    task_id = driver.task("review_application").id
    sign_in(client, system, "center_staff", ["center_staff"])
    html = page(client, "/inbox?tab=group")
    assert f'action="/inbox/tasks/{task_id}/claim"' in html

    response = client.post(
        f"/inbox/tasks/{task_id}/claim",
        data={"csrf_token": csrf_token(html), "next": "/inbox?tab=group"},
    )
    assert response.status_code == 302
    assert response.location == "/inbox?tab=group"
    html = page(client, "/inbox?tab=mine")
    assert "已领取任务「登记备案并审核申请」" in html  # the flash
    row = row_of(html, REVIEW)
    assert "center_staff" in row
    assert f'action="/inbox/tasks/{task_id}/unclaim"' in row
    assert driver.task("review_application").assignee == "center_staff"

    response = client.post(
        f"/inbox/tasks/{task_id}/unclaim", data={"csrf_token": csrf_token(html), "next": "/inbox"}
    )
    assert response.status_code == 302
    assert driver.task("review_application").assignee is None
    html = page(client, "/inbox?tab=mine")
    assert "已退回任务" in html
    assert "暂无待办任务" in html
    events = [(e.type, e.actor) for e in driver.events() if e.type.startswith("task_")]
    assert ("task_claimed", "center_staff") in events
    assert ("task_unclaimed", "center_staff") in events


def test_claiming_without_the_csrf_token_is_refused(client, system, driver):
    driver.start()
    sign_in(client, system, "center_staff", ["center_staff"])
    response = client.post(f"/inbox/tasks/{driver.task('review_application').id}/claim")
    assert response.status_code == 400
    assert driver.task("review_application").assignee is None


def test_a_task_someone_else_holds_is_not_taken_and_says_why(client, system, driver):
    driver.start()
    task_id = driver.task("review_application").id
    system.tasks.claim(driver.actors["center_staff"], task_id)
    sign_in(client, system, "clerk2", ["center_staff"])
    html = page(client, "/inbox?tab=group")
    assert REVIEW not in html  # claimed: no longer to take
    response = client.post(
        f"/inbox/tasks/{task_id}/claim",
        data={"csrf_token": csrf_token(html)},
        follow_redirects=True,
    )
    assert "无法领取" in response.get_data(as_text=True)
    assert driver.task("review_application").assignee == "center_staff"


def test_enterprise_tasks_reach_center_staff_marked_as_entered_on_behalf(client, system, driver):
    driver.run_until("plan_survey")
    driver.complete("plan_survey")
    sign_in(client, system, "center_staff", ["center_staff"])
    html = page(client, "/inbox?tab=group")
    for name in ENTERPRISES:
        row = row_of(html, name)
        assert "填写调查问卷" in row and "代填" in row and "调查" in row
        assert driver.instance().file_number in row  # the file number once there is one


def test_the_stage_filter(client, system, driver):
    driver.run_until("plan_survey")
    driver.complete("plan_survey")
    driver.start()  # a second application, waiting for review
    sign_in(client, system, "center_staff", ["center_staff"])
    assert REVIEW in page(client, "/inbox?tab=group")
    html = page(client, "/inbox?tab=group&stage=survey")
    assert REVIEW not in html and "填写调查问卷" in html
    html = page(client, "/inbox?tab=group&stage=application")
    assert REVIEW in html and "填写调查问卷" not in html
    html = page(client, "/inbox?tab=group&overdue=1")
    assert "没有符合筛选条件的任务" in html


def test_an_applicant_sees_its_own_applications_only(client, system, driver):
    driver.start()
    mine = driver.instance_id
    driver.complete("review_application")
    sign_in(client, system, "other_applicant", ["applicant"])
    other = system.tasks.start(
        system.tasks.actor("other_applicant"),
        "order_service",
        dict(
            APPLICATION,
            unit_name="保定市中小企业局",
            qualification_documents=[
                system.tasks.store_file(
                    system.tasks.actor("other_applicant"), "证明.pdf", "application/pdf", b"%PDF"
                ).id
            ],
        ),
    )
    html = page(client, "/inbox?tab=applications")
    assert '我的申请<span class="count">1</span>' in html
    row = row_of(html, "保定市中小企业局")
    assert "申请" in row and "进行中" in row and other.id in row
    assert mine not in html and APPLICATION["unit_name"] not in html

    client.post("/logout", data={"csrf_token": csrf_token(html)})
    sign_in(client, system, "applicant", ["applicant"])
    html = page(client, "/inbox")  # nothing to do: the applications are shown
    assert 'aria-current="page">我的申请' in html
    row = row_of(html, driver.instance().file_number)
    assert "调查" in row and "进行中" in row


def test_a_newcomer_is_told_what_to_do(client, system):
    sign_in(client, system, "new_applicant", ["applicant"])
    html = page(client, "/inbox?tab=applications")
    assert "您还没有提交过申请" in html
    assert 'href="/start/order_service"' in html
    html = page(client, "/inbox?tab=mine")
    assert "暂无待办任务" in html
    sign_in(client, system, "new_clerk", ["center_staff"])
    assert "暂无待领取任务" in page(client, "/inbox?tab=group")


def test_task_names_follow_the_language(client, system, driver):
    driver.start()
    sign_in(client, system, "center_staff", ["center_staff"])
    client.get("/lang/en")
    html = page(client, "/inbox?tab=group")
    assert "Register and review the application" in html
    assert REVIEW not in html
