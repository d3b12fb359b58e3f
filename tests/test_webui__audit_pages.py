"""The auditor's pages: the timeline with its filters, the step JSON the step control
fetches, the replay API — and who may see them."""

import re
from datetime import datetime

import pytest

from webui.app import create_app

from .api_client import sign_in as api_sign_in
from .driver import ENTERPRISES, SHANGHAI
from .test_webui__instance_pages import page, sign_in


@pytest.fixture
def app(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    return create_app(system)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def run(driver):
    """An instance through the survey, with one send-back, then the activity day."""
    driver.run_until("design_service")
    driver.complete("design_service")
    driver.complete("confirm_service_design", {"decision": "revise", "comments": "再改"})
    driver.run_to_activity()
    driver.at(datetime(2026, 10, 20, 9, 0, tzinfo=SHANGHAI))
    return driver


def timeline_seqs(html: str) -> list[int]:
    block = re.search(r'<ol class="timeline history audit-timeline">(.*?)</ol>', html, re.S)
    return [int(s) for s in re.findall(r'<li class="[^"]*" data-seq="(\d+)"', block.group(1))]


def test_the_timeline_lists_every_event_and_filters_by_actor_type_and_stage(client, system, run):
    sign_in(client, system, "auditor", ["auditor"])
    url = f"/instances/{run.instance_id}/audit"
    events = run.events()
    html = page(client, url)
    assert timeline_seqs(html) == [e.seq for e in events]
    assert "结果与存储的状态一致" in html  # the replay check at the top
    assert 'data-replay-src="/instances/' in html and "js/audit.js" in html
    assert "<script>" not in html  # no inline script: the strict CSP runs only files

    by_applicant = timeline_seqs(page(client, f"{url}?who=applicant"))
    assert by_applicant == [e.seq for e in events if e.actor == "applicant"]
    assert by_applicant  # started it and confirmed the design

    by_system = timeline_seqs(page(client, f"{url}?who=system"))
    assert by_system == [e.seq for e in events if e.actor is None]

    completed = timeline_seqs(page(client, f"{url}?type=task_completed"))
    assert completed == [e.seq for e in events if e.type == "task_completed"]

    survey = timeline_seqs(page(client, f"{url}?stage=survey"))
    survey_elements = {e.element for e in events if e.seq in survey and e.element}
    assert {"plan_survey", "fill_questionnaire", "design_service"} <= survey_elements
    assert "review_application" not in survey_elements
    assert "issue_official_letter" not in survey_elements

    both = timeline_seqs(page(client, f"{url}?stage=survey&type=task_completed&who=applicant"))
    assert [e.element for e in events if e.seq in both] == ["confirm_service_design"] * 2

    assert "没有符合筛选条件的事件" in page(client, f"{url}?who=nobody")


def test_the_page_renders_the_step_it_is_asked_for(client, system, run):
    sign_in(client, system, "auditor", ["auditor"])
    started = run.events()[0]
    html = page(client, f"/instances/{run.instance_id}/audit?seq={started.seq}")
    step = re.search(r'<tbody data-field="tasks">(.*?)</tbody>', html, re.S).group(1)
    assert "审核申请" in step or "review" in step
    assert f'data-seq="{started.seq}"' in html
    assert re.search(r'<li class="event-instance_started current"', html)


def test_the_step_json_gives_the_diagram_tasks_data_and_change(client, system, run):
    sign_in(client, system, "auditor", ["auditor"])
    events = run.events()
    plan = next(e for e in events if e.type == "task_completed" and e.element == "plan_survey")
    response = client.get(f"/instances/{run.instance_id}/replay.json?seq={plan.seq}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    step = response.get_json()
    assert step["seq"] == plan.seq and step["last_seq"] == events[-1].seq
    assert step["event"]["type"] == "task_completed"
    assert step["divergences"] == [] and step["complete"] is True
    assert sorted(t["subject"] for t in step["open_tasks"]) == sorted(ENTERPRISES)
    assert {t["element"] for t in step["open_tasks"]} == {"fill_questionnaire"}
    assert all(t["task_id"] and t["display_name"] for t in step["open_tasks"])
    assert step["data"]["plan_survey"]["survey_date"] == "2026-10-12"
    assert list(step["changed"]["data"]) == ["plan_survey"]
    assert len(step["changed"]["tasks_opened"]) == 3
    assert [t["element"] for t in step["changed"]["tasks_closed"]] == ["plan_survey"]
    survey = next(d for d in step["diagrams"] if d["key"] == "order_service_survey")
    assert "plan_survey" in survey["completed"] and survey["active"] == ["fill_questionnaire"]
    assert survey["counts"]["fill_questionnaire"] == {"active": 3}
    assert step["display"]["text"] and step["display"]["stage"]

    last = client.get(f"/instances/{run.instance_id}/replay.json").get_json()
    assert last["seq"] == events[-1].seq
    assert last["data"] == run.instance().data
    for bad in ("0", str(events[-1].seq + 1), "x"):
        assert client.get(f"/instances/{run.instance_id}/replay.json?seq={bad}").status_code == 400


def test_the_replay_api_is_for_auditors_and_the_centers_staff(app, system, run):
    client = app.test_client()
    url = f"/api/v1/instances/{run.instance_id}/replay"
    last = run.events()[-1].seq
    for role in ("auditor", "center_staff", "center_head", "admin"):
        headers = api_sign_in(client, system, f"{role}_api", [role])
        response = client.get(f"{url}?seq=3", headers=headers)
        assert response.status_code == 200, (role, response.get_data(as_text=True))
        body = response.get_json()
        assert body["seq"] == 3 and body["event"]["seq"] == 3
        assert set(body) >= {"diagrams", "open_tasks", "data", "changed", "divergences"}
    headers = api_sign_in(client, system, "auditor_api", ["auditor"])
    assert client.get(url, headers=headers).get_json()["seq"] == last
    for query, status in (("seq=0", 400), (f"seq={last + 1}", 400), ("seq=x", 400)):
        response = client.get(f"{url}?{query}", headers=headers)
        assert response.status_code == status, query
        assert response.get_json()["error"]["code"] == "bad_request"
    assert client.get("/api/v1/instances/nope/replay", headers=headers).status_code == 404
    assert client.get(url).status_code == 401

    applicant = api_sign_in(client, system, "applicant", ["applicant"])  # its own instance
    assert client.get(url, headers=applicant).status_code == 403
    assert client.get(f"/api/v1/instances/{run.instance_id}", headers=applicant).status_code == 200


def test_the_audit_page_is_for_auditors_and_linked_from_the_instance_page(client, system, run):
    sign_in(client, system, "applicant", ["applicant"])
    assert client.get(f"/instances/{run.instance_id}/audit").status_code == 403
    assert client.get(f"/instances/{run.instance_id}/replay.json").status_code == 403
    html = page(client, f"/instances/{run.instance_id}")
    assert f"/instances/{run.instance_id}/audit" not in html
    assert f"/instances/{run.instance_id}/archive.zip" in html

    auditor = create_app(system).test_client()
    sign_in(auditor, system, "auditor", ["auditor"])
    assert f"/instances/{run.instance_id}/audit" in page(auditor, f"/instances/{run.instance_id}")
    assert auditor.get("/instances/nope/audit").status_code == 404
