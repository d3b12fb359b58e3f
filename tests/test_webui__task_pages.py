"""The task and start pages through Flask's test client: signed in through /login, forms
drawn from their schemas, a refused submission shown beside its fields, then put right."""

import io
import re
from datetime import datetime
from html import unescape

import pytest
from sqlalchemy import delete

from engine.models import Document, Expert, StoredFile
from webui.app import create_app

from .driver import APPLICATION
from .page_client import csrf_token as csrf
from .page_client import sign_in_page


@pytest.fixture
def app(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    return create_app(system, {"SECRET_KEY": "test"})


def sign_in(app, system, username, roles, **extra):
    """A browser session for `username`: the login page read, then posted."""
    return sign_in_page(app.test_client(), system, username, roles, **extra)


class Page:
    """One page as the browser got it."""

    def __init__(self, response):
        self.response = response
        self.status = response.status_code
        self.html = response.get_data(as_text=True)

    @property
    def token(self):
        return csrf(self.html)

    def wrapper_of(self, name):
        """The HTML of the field wrapper that holds the input named `name`."""
        for match in re.finditer(r'<(div|fieldset) class="field[^"]*".*?</\1>', self.html, re.S):
            if f'name="{name}"' in match.group(0):
                return match.group(0)
        raise AssertionError(f"no field {name}")

    def text(self):
        return unescape(re.sub(r"<[^>]+>", " ", self.html))


def flashes(client):
    with client.session_transaction() as session:
        return [message for _, message in session.get("_flashes", [])]


@pytest.fixture
def clerk(app, system):
    return sign_in(app, system, "clerk", ["center_staff"])


# -- the review: a refused submission, then a good one ------------------------------------


def test_review_page_shows_the_task_and_its_form(driver, clerk):
    driver.start()
    task = driver.task("review_application")
    page = Page(clerk.get(f"/tasks/{task.id}"))
    assert page.status == 200
    assert "受理审核" in page.text() or task.name in page.text()
    assert f'href="/instances/{driver.instance_id}"' in page.html
    assert "石家庄市中小企业服务中心" in page.text()  # which application it is
    assert "2026-10-08 17:30" in page.text()  # due: one working day, after National Day
    assert "已超期" not in page.text()
    assert "未认领" in page.text()
    assert "订单式服务受理审核" in page.html  # the form's title
    assert "登记备案后审核申请" in page.html  # its instructions
    assert page.html.count('type="radio" ') == 2  # decision: two options, radios
    assert 'name="reason"' in page.html and "<textarea" in page.html
    assert 'name="csrf_token"' in page.html
    assert '<script src="/static/js/form.js"' in page.html
    assert "onclick" not in page.html and "<script>" not in page.html  # no inline scripts


def test_a_refused_review_comes_back_with_the_message_beside_reason_and_the_choice_kept(
    driver, clerk
):
    driver.start()
    task = driver.task("review_application")
    page = Page(clerk.get(f"/tasks/{task.id}"))

    refused = Page(
        clerk.post(
            f"/tasks/{task.id}",
            data={"csrf_token": page.token, "decision": "reject", "reason": ""},
        )
    )
    assert refused.status == 422
    reason = refused.wrapper_of("reason")
    assert "has-error" in reason
    assert re.search(r'class="field-error"[^>]*role="alert"[^>]*>必填<', reason)
    assert 'value="reject" checked' in refused.wrapper_of("decision")
    assert 'value="accept" checked' not in refused.html
    assert driver.open_elements() == ["review_application"]  # nothing happened

    done = clerk.post(
        f"/tasks/{task.id}",
        data={"csrf_token": refused.token, "decision": "reject", "reason": "材料不全"},
    )
    assert done.status_code == 302
    assert done.headers["Location"] == f"/instances/{driver.instance_id}"
    assert flashes(clerk) == ["已提交。申请状态：不予受理"]
    instance = driver.instance()
    assert instance.status == "rejected"
    assert instance.data["review_application"] == {"decision": "reject", "reason": "材料不全"}


def test_an_overdue_task_says_so(driver, clerk, clock):
    driver.start()
    driver.at(datetime.fromisoformat("2026-10-08T18:00:00+08:00"))
    task = driver.task("review_application")
    assert 'class="badge overdue"' in Page(clerk.get(f"/tasks/{task.id}")).html


def test_labels_follow_the_chosen_language(driver, clerk):
    driver.start()
    task = driver.task("review_application")
    clerk.get("/lang/en")
    page = Page(clerk.get(f"/tasks/{task.id}"))
    assert "Reason (required when rejecting)" in page.html
    assert "Review of the application" in page.html


# -- who may see what ---------------------------------------------------------------------


def test_pages_need_a_signed_in_person(app, driver):
    driver.start()
    task = driver.task("review_application")
    response = app.test_client().get(f"/tasks/{task.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_task_one_may_not_see_is_not_found(app, system, driver):
    driver.start()
    task = driver.task("review_application")
    stranger = sign_in(app, system, "other_applicant", ["applicant"])
    assert stranger.get(f"/tasks/{task.id}").status_code == 404
    assert stranger.get("/tasks/no-such-task").status_code == 404


def test_one_who_may_see_but_not_act_gets_a_disabled_form(app, system, driver):
    driver.start()
    task = driver.task("review_application")
    auditor = sign_in(app, system, "auditor1", ["auditor"])
    page = Page(auditor.get(f"/tasks/{task.id}"))
    assert page.status == 200
    assert '<fieldset class="whole" disabled>' in page.html
    response = auditor.post(f"/tasks/{task.id}", data={"csrf_token": page.token})
    assert response.status_code == 403


def test_a_post_without_the_csrf_token_is_refused(driver, clerk):
    driver.start()
    task = driver.task("review_application")
    assert clerk.post(f"/tasks/{task.id}", data={"decision": "accept"}).status_code == 400
    assert driver.open_elements() == ["review_application"]


# -- tables: the budget, its computed total, rows without JavaScript ----------------------


def test_a_budget_sent_back_shows_its_rows_and_the_computed_total(driver, clerk):
    driver.run_until("approve_budget_division")
    driver.complete("approve_budget_division", {"decision": "reject", "comments": "压缩场地费"})
    driver.complete("approve_budget_center")
    task = driver.task("prepare_budget")
    page = Page(clerk.get(f"/tasks/{task.id}"))
    assert page.status == 200
    assert 'name="items.1.amount"' in page.html and 'value="620.5"' in page.html
    assert 'name="items.2.amount"' in page.html  # one blank row after the two
    total = re.search(r"<output[^>]*>([^<]*)</output>", page.html)
    assert total.group(1) == "3,620.50"
    assert 'data-sum-of="items"' in total.group(0)
    assert 'name="total"' not in page.html  # shown, never an input


def test_add_row_without_javascript_redraws_the_table_with_what_was_typed(driver, clerk):
    driver.run_until("prepare_budget")
    task = driver.task("prepare_budget")
    page = Page(clerk.get(f"/tasks/{task.id}"))
    typed = {
        "csrf_token": page.token,
        "items.0.category": "专家费",
        "items.0.amount": "3000",
        "items.1.category": "",
        "items.1.amount": "",
    }
    redrawn = Page(clerk.post(f"/tasks/{task.id}", data={**typed, "_add_row": "items"}))
    assert redrawn.status == 200
    assert 'name="items.2.category"' in redrawn.html  # two blank rows now
    assert 'name="items.3.category"' not in redrawn.html
    assert 'value="专家费"' in redrawn.html
    assert re.search(r"<output[^>]*>3,000.00</output>", redrawn.html)
    assert driver.open_elements() == ["prepare_budget"]


def test_a_budget_is_submitted_with_the_server_computing_the_total(driver, clerk):
    driver.run_until("prepare_budget")
    task = driver.task("prepare_budget")
    page = Page(clerk.get(f"/tasks/{task.id}"))
    form = {
        "csrf_token": page.token,
        "items.0.category": "专家费",
        "items.0.description": "专家授课费",
        "items.0.amount": "3000",
        "items.3.category": "other",  # rows added by form.js may leave gaps
        "items.3.description": "",
        "items.3.amount": "80.25",
        "items.4.category": "",
        "items.4.amount": "",
        "total": "1",  # never trusted
    }
    refused = Page(clerk.post(f"/tasks/{task.id}", data=form))
    assert refused.status == 422
    # "other" needs a description: the message sits in that row, which is now row 1
    cell = re.search(r'<td class="has-error">(.*?)</td>', refused.html, re.S).group(1)
    assert 'name="items.1.description"' in cell and "field-error" in cell
    assert re.search(r"<output[^>]*>3,080.25</output>", refused.html)

    form["items.3.description"] = "会务杂费"
    form["csrf_token"] = refused.token
    assert clerk.post(f"/tasks/{task.id}", data=form).status_code == 302
    stored = driver.instance().data["prepare_budget"]
    assert stored["total"] == 3080.25
    assert stored["items"][1] == {"category": "other", "description": "会务杂费", "amount": 80.25}


# -- the expert register ------------------------------------------------------------------


def test_experts_can_be_chosen_from_the_register(driver, clerk, system, clock):
    with system.engine.unit_of_work() as uow:
        for name, active in (("张教授", True), ("退休专家", False)):
            uow.session.add(
                Expert(
                    name=name,
                    organisation="河北经贸大学",
                    specialty="企业融资",
                    qualification="教授",
                    phone="0311-80000000",
                    active=active,
                    updated_at=clock.now(),
                )
            )
    driver.run_until("select_experts")
    page = Page(clerk.get(f"/tasks/{driver.task('select_experts').id}"))
    select = re.search(r"<select[^>]*data-source-rows=\"experts\".*?</select>", page.html, re.S)
    assert select, "no register choice on the page"
    assert "从专家库选择" in page.html
    assert 'data-fill-name="张教授"' in select.group(0)
    assert 'data-fill-qualification="教授"' in select.group(0)
    assert "退休专家" not in select.group(0)
    # The template row form.js fills carries the column keys.
    assert 'name="experts.__index__.organisation" data-key="organisation"' in page.html


# -- the start page -----------------------------------------------------------------------


def application_form(token, **changes):
    form = {
        "csrf_token": token,
        "unit_name": APPLICATION["unit_name"],
        "unit_type": "服务机构",
        "region": APPLICATION["region"],
        "contact_person": APPLICATION["contact_person"],
        "phone": APPLICATION["phone"],
        "topics": ["management", "finance"],
        "expected_enterprises": "3",
        "preferred_period": APPLICATION["preferred_period"],
        "needs": APPLICATION["needs"],
    }
    form.update(changes)
    return form


def test_the_start_page_shows_the_application_form(app, system):
    applicant = sign_in(app, system, "applicant1", ["applicant"])
    page = Page(applicant.get("/start/order_service"))
    assert page.status == 200
    assert "订单式服务申请审批表" in page.html
    assert 'enctype="multipart/form-data"' in page.html
    assert '<input type="file" id="f-qualification_documents"' in page.html
    assert "multiple" in page.wrapper_of("qualification_documents")
    assert '<datalist id="f-unit_type-list">' in page.html
    assert page.html.count('name="topics"') == 9  # the eight areas, and "other"


def test_an_application_with_a_file_starts_an_instance(app, system):
    applicant = sign_in(app, system, "applicant1", ["applicant"])
    page = Page(applicant.get("/start/order_service"))
    form = application_form(page.token)
    form["qualification_documents"] = [
        (io.BytesIO(b"%PDF-1.4 licence"), "营业执照.pdf", "application/pdf")
    ]
    response = applicant.post("/start/order_service", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    instance_id = response.headers["Location"].rsplit("/", 1)[-1]
    assert flashes(applicant) == ["已提交，当前阶段：申请"]
    instance = system.tasks.instance(system.tasks.actor("applicant1"), instance_id)
    application = instance.data["application"]
    assert application["unit_type"] == "service_institution"
    assert application["expected_enterprises"] == 3
    assert application["topics"] == ["management", "finance"]
    (file_id,) = application["qualification_documents"]
    stored = system.records.file(system.tasks.actor("applicant1"), file_id)
    assert (stored.name, stored.content, stored.instance_id) == (
        "营业执照.pdf",
        b"%PDF-1.4 licence",
        instance_id,
    )


def test_a_refused_application_keeps_what_was_typed_and_the_uploaded_file(app, system):
    applicant = sign_in(app, system, "applicant1", ["applicant"])
    page = Page(applicant.get("/start/order_service"))
    form = application_form(page.token, phone="电话", expected_enterprises="")
    form["qualification_documents"] = [(io.BytesIO(b"%PDF"), "资质证书.pdf", "application/pdf")]
    refused = Page(applicant.post("/start/order_service", data=form))
    assert refused.status == 422
    assert "必须是电话号码" in refused.wrapper_of("phone")
    assert "必填" in refused.wrapper_of("expected_enterprises")
    assert 'value="石家庄市 长安区"' in refused.html
    assert 'value="服务机构"' in refused.html
    documents = refused.wrapper_of("qualification_documents")
    assert "资质证书.pdf" in documents and "checked" in documents  # no need to upload again
    file_id = re.search(r'name="qualification_documents" value="([^"]+)" checked', documents)

    form = application_form(refused.token, qualification_documents=file_id.group(1))
    response = applicant.post("/start/order_service", data=form)
    assert response.status_code == 302


def test_someone_elses_file_is_refused_and_not_named(app, system):
    system.tasks.add_user("other", ["applicant"])
    theirs = system.tasks.store_file(
        system.tasks.actor("other"), "他人的营业执照.pdf", "application/pdf", b"%PDF"
    )
    applicant = sign_in(app, system, "applicant1", ["applicant"])
    page = Page(applicant.get("/start/order_service"))
    form = application_form(page.token, qualification_documents=theirs.id)
    refused = Page(applicant.post("/start/order_service", data=form))
    assert refused.status == 422
    documents = refused.wrapper_of("qualification_documents")
    assert "该文件由他人上传，请重新上传" in documents
    assert "他人的营业执照.pdf" not in refused.html


def test_only_applicants_and_staff_may_start(app, system):
    auditor = sign_in(app, system, "auditor1", ["auditor"])
    assert auditor.get("/start/order_service").status_code == 403
    applicant = sign_in(app, system, "applicant1", ["applicant"])
    assert applicant.get("/start/no_such_process").status_code == 404


# -- archiving: a refusal names what is missing -------------------------------------------


def test_the_archive_refusal_lists_what_is_missing(driver, clerk):
    driver.run_to_activity()
    driver.run_from_activity_to_follow_up()
    driver.complete_all("follow_up_visit")
    with driver.system.engine.unit_of_work() as uow:
        uow.session.execute(delete(Document).where(Document.instance_id == driver.instance_id))
        uow.session.execute(delete(StoredFile).where(StoredFile.instance_id == driver.instance_id))
    task = driver.task("archive_file")
    page = Page(clerk.get(f"/tasks/{task.id}"))
    refused = Page(
        clerk.post(f"/tasks/{task.id}", data={"csrf_token": page.token, "remarks": "已核对"})
    )
    assert refused.status == 422
    missing = re.search(r'<ul class="missing">(.*?)</ul>', refused.html, re.S).group(1)
    assert re.findall(r"<li>(.*?)</li>", missing) == ["申请单位资质材料", "订单式服务公函"]
    assert "已核对" in refused.html
    assert driver.open_elements() == ["archive_file"]
