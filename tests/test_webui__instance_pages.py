"""Instance pages: the list, the stage bar, the diagram's JSON, the data gathered, the
documents (HTML, and PDF where WeasyPrint is there), files, history — and who sees them."""

import re
from datetime import datetime

import pytest

from webui.app import create_app
from webui.pages import instances as instance_pages

from .driver import APPLICATION, ENTERPRISES, SHANGHAI
from .page_client import page
from .page_client import sign_in_page as sign_in


@pytest.fixture
def client(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    return create_app(system).test_client()


def stage_bar(html: str) -> list[tuple[str, str]]:
    bar = re.search(r'<ol class="stagebar".*?</ol>', html, re.S).group(0)
    return re.findall(r'<li class="(\w+)".*?<span class="name">(.*?)</span>', bar, re.S)


@pytest.fixture
def survey(driver):
    driver.run_until("plan_survey")
    driver.complete("plan_survey")
    return driver


def start_as(system, username):
    actor = system.tasks.add_user(username, ["applicant"], password="pw")
    upload = system.tasks.store_file(actor, "资质.pdf", "application/pdf", b"%PDF-1.4 other")
    return system.tasks.start(
        actor,
        "order_service",
        dict(APPLICATION, unit_name="保定市中小企业局", qualification_documents=[upload.id]),
    )


def test_the_list_shows_what_the_caller_may_see(client, system, survey):
    other = start_as(system, "other_applicant")
    sign_in(client, system, "center_staff", ["center_staff"])
    html = page(client, "/instances")
    assert survey.instance().file_number in html and "保定市中小企业局" in html
    assert "调查" in html and "进行中" in html and "2026-09-30 10:00" in html
    html = page(client, "/instances?q=保定")
    assert other.id in html and survey.instance_id not in html
    html = page(client, "/instances?status=archived")
    assert "没有符合条件的申请" in html

    sign_in(client, system, "other_applicant", ["applicant"])
    html = page(client, "/instances")
    assert other.id in html
    assert survey.instance_id not in html and APPLICATION["unit_name"] not in html


def test_another_applicants_instance_is_not_found(client, system, survey):
    other = start_as(system, "other_applicant")
    sign_in(client, system, "other_applicant", ["applicant"])
    assert client.get(f"/instances/{other.id}").status_code == 200
    for url in (
        f"/instances/{survey.instance_id}",
        f"/instances/{survey.instance_id}/diagram.json",
        f"/instances/{survey.instance_id}/documents/official_letter",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "未找到" in response.get_data(as_text=True)
    qualification = survey.instance().data["application"]["qualification_documents"][0]
    assert client.get(f"/files/{qualification}").status_code == 404


def test_the_stage_bar_shows_the_current_stage(client, system, survey):
    sign_in(client, system, "applicant", ["applicant"])
    html = page(client, f"/instances/{survey.instance_id}")
    assert stage_bar(html) == [
        ("done", "申请"),
        ("current", "调查"),
        ("todo", "筹备"),
        ("todo", "实施"),
        ("todo", "回访"),
        ("todo", "归档"),
    ]
    assert survey.instance().file_number in html


def test_an_overdue_review_shows_on_the_stage_bar(client, system, driver):
    driver.start()
    driver.at(datetime(2026, 10, 8, 17, 31, tzinfo=SHANGHAI))
    sign_in(client, system, "center_head", ["center_head"])
    html = page(client, f"/instances/{driver.instance_id}")
    assert stage_bar(html)[0] == ("overdue", "申请")
    assert '<span class="badge overdue">' in html
    assert "任务「登记备案并审核申请」超过办理期限" in html  # the history


def test_a_rejected_application_is_shown_as_rejected(client, system, driver):
    driver.start()
    driver.complete("review_application", {"decision": "reject", "reason": "不属于服务范围"})
    sign_in(client, system, "applicant", ["applicant"])
    html = page(client, f"/instances/{driver.instance_id}")
    assert stage_bar(html) == [("rejected", "申请")] + [
        ("skipped", name) for name in ("调查", "筹备", "实施", "回访", "归档")
    ]
    assert "不予受理" in html and "不属于服务范围" in html


def test_the_page_shows_the_data_with_field_titles_and_a_table_per_enterprise(
    client, system, survey
):
    survey.complete("fill_questionnaire", subject=ENTERPRISES[0])
    sign_in(client, system, "center_staff", ["center_staff"])
    html = page(client, f"/instances/{survey.instance_id}")
    assert "订单式服务申请审批表" in html
    assert "申请单位名称" in html and APPLICATION["unit_name"] in html
    assert "经营管理、财务融资" in html  # topics by their titles
    assert "审核结论" in html and "予以受理" in html
    assert "调查对象企业" in html and ENTERPRISES[2] in html
    assert f'<h3 class="subject">{ENTERPRISES[0]}</h3>' in html  # the questionnaire entered
    qualification = survey.instance().data["application"]["qualification_documents"][0]
    assert f'href="/files/{qualification}"' in html


def test_a_file_downloads_as_an_attachment_with_the_session(client, system, survey):
    qualification = survey.instance().data["application"]["qualification_documents"][0]
    sign_in(client, system, "applicant", ["applicant"])
    response = client.get(f"/files/{qualification}")
    assert response.status_code == 200
    assert response.data == b"%PDF-1.4 test"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    disposition.encode("latin-1")  # a header a WSGI server can send: the name goes in filename*
    assert "filename*=UTF-8''%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7.pdf" in disposition  # 营业执照
    assert "filename=download.pdf;" in disposition  # for clients that read only `filename`
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_history_says_what_happened_in_words(client, system, survey):
    survey.complete("fill_questionnaire", subject=ENTERPRISES[1])
    sign_in(client, system, "applicant", ["applicant"])
    html = page(client, f"/instances/{survey.instance_id}")
    history = re.search(r'<ol class="timeline history">.*?</ol>', html, re.S).group(0)
    assert "提交了申请" in history
    assert "完成任务「登记备案并审核申请」" in history
    assert f"完成任务「填写调查问卷 · {ENTERPRISES[1]}」" in history
    assert f"代{ENTERPRISES[1]}填写" in history
    assert "发送通知给 applicant" in history
    assert "2026-09-30 10:00" in history


def test_the_diagram_json_marks_the_elements(client, system, survey):
    sign_in(client, system, "applicant", ["applicant"])
    html = page(client, f"/instances/{survey.instance_id}")
    assert f'data-diagram-src="/instances/{survey.instance_id}/diagram.json"' in html
    data = client.get(f"/instances/{survey.instance_id}/diagram.json").get_json()
    assert data["current"] == "order_service_survey"
    diagrams = {d["key"]: d for d in data["diagrams"]}
    assert list(diagrams)[0] == "order_service"
    main = diagrams["order_service"]
    assert "call_application" in main["completed"]
    assert main["active"] == ["call_survey"]
    assert '<bpmn:process id="order_service"' in main["xml"]
    application = diagrams["order_service_application"]
    assert "review_application" in application["completed"]
    survey_diagram = diagrams["order_service_survey"]
    assert survey_diagram["active"] == ["fill_questionnaire"]
    assert survey_diagram["counts"]["fill_questionnaire"] == {"active": 3}
    assert "plan_survey" in survey_diagram["completed"]
    assert diagrams["order_service_preparation"]["completed"] == []


def test_the_diagram_names_lanes_by_role_and_speaks_the_pages_language(client, system, survey):
    """Lanes are named by role keys (the engine reads them): the viewer showed 'center_staff'
    to clerks, and Chinese task names on English pages."""
    sign_in(client, system, "center_staff", ["center_staff"])
    path = f"/instances/{survey.instance_id}/diagram.json"

    def application_xml() -> str:
        found = client.get(path).get_json()["diagrams"]
        return next(d["xml"] for d in found if d["key"] == "order_service_application")

    chinese = application_xml()
    assert 'id="lane_center_staff" name="服务中心经办人员"' in chinese
    assert 'id="review_application" name="登记备案并审核申请"' in chinese
    client.get("/lang/en")
    english = application_xml()
    assert 'id="lane_center_staff" name="Center staff"' in english
    assert 'id="review_application" name="Register and review the application"' in english
    assert 'name="center_staff"' not in english


def test_the_page_loads_bpmn_js_and_has_no_inline_script(client, system, survey):
    sign_in(client, system, "center_staff", ["center_staff"])
    html = page(client, f"/instances/{survey.instance_id}")
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts)
    sources = [re.search(r'src="([^"]+)"', attrs).group(1) for attrs, _ in scripts]
    assert sources == [
        "/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js",
        "/static/js/markers.js",
        "/static/js/diagram.js",
    ]
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers
    assert "/vendor/bpmn-js/assets/bpmn-js.css" in html
    for tab in ("总流程", "1. 申请", "2. 调查", "6. 归档"):
        assert f">{tab}</button>" in html
    with client.get("/static/js/diagram.js") as response:
        assert response.status_code == 200


def test_the_documents_open_as_printable_pages(client, system, driver, monkeypatch):
    monkeypatch.setattr(instance_pages, "pdf_available", lambda: False)
    driver.run_to_activity()
    sign_in(client, system, "applicant", ["applicant"])
    html = page(client, f"/instances/{driver.instance_id}")
    url = f"/instances/{driver.instance_id}/documents/official_letter"
    assert f'href="{url}"' in html
    assert "订单式服务公函" in html
    assert "format=pdf" not in html  # no WeasyPrint here: no PDF link
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert "订单式服务公函" in body and driver.instance().file_number in body
    assert client.get(url + "?format=pdf").status_code == 404
    assert client.get(f"/instances/{driver.instance_id}/documents/archive_record").status_code == (
        404
    )


def test_the_archive_record_is_listed_once_the_file_is_closed(client, system, driver):
    driver.run_to_activity()
    driver.run_from_activity_to_follow_up()
    driver.complete_all("follow_up_visit")
    driver.complete("archive_file")
    sign_in(client, system, "auditor", ["auditor"])
    html = page(client, f"/instances/{driver.instance_id}")
    assert [state for state, _name in stage_bar(html)] == ["done"] * 6
    assert "已归档" in html
    assert f"/instances/{driver.instance_id}/documents/archive_record" in html
    assert f"/instances/{driver.instance_id}/documents/official_letter" in html
    data = client.get(f"/instances/{driver.instance_id}/diagram.json").get_json()
    assert data["current"] == "order_service"
    main = data["diagrams"][0]
    assert main["active"] == [] and "end_archived" in main["completed"]


def test_documents_as_pdf_where_weasyprint_is_installed(client, system, driver):
    pytest.importorskip("weasyprint")
    assert instance_pages.pdf_available(), "WeasyPrint needs a font with Chinese glyphs"
    driver.run_to_activity()
    sign_in(client, system, "applicant", ["applicant"])
    html = page(client, f"/instances/{driver.instance_id}")
    url = f"/instances/{driver.instance_id}/documents/official_letter?format=pdf"
    assert f'href="{url}"' in html
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
