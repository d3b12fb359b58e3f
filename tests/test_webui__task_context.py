"""What a task page shows around its form: the earlier submissions a decision is about
(the diagram's `reviews` property), why a reopened task was sent back, and the instance
page's open tasks and breadcrumb as each user may use them."""

import copy
import re
from html import unescape

import pytest

from webui.app import create_app

from .driver import DEFAULTS
from .page_client import csrf_token, sign_in_page
from .test_webui__task_pages import Page


@pytest.fixture
def app(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    return create_app(system, {"SECRET_KEY": "test"})


def session_of(app, system, username, roles):
    return sign_in_page(app.test_client(), system, username, roles)


def earlier(page: Page, title_id: str) -> str:
    """The text of one section of earlier submissions (reviewed-title, sent-back-title)."""
    match = re.search(rf'<section[^>]*aria-labelledby="{title_id}".*?</section>', page.html, re.S)
    assert match, f"no section {title_id}"
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", match.group(0))))


def rows_of(html: str, name: str) -> list[str]:
    """The rows drawn in table `name` (not the template row form.js copies)."""
    table = re.search(rf'<table class="list rows" data-rows="{name}".*?</table>', html, re.S)
    return re.findall(r"<tr data-row>", table.group(0))


# -- 1. a decision shows what it decides on ---------------------------------------------


def test_confirming_the_design_shows_the_design_with_its_field_titles(app, system, driver):
    driver.run_until("confirm_service_design")
    task = driver.task("confirm_service_design")
    applicant = session_of(app, system, "applicant", ["applicant"])
    page = Page(applicant.get(f"/tasks/{task.id}"))
    assert page.status == 200
    shown = earlier(page, "reviewed-title")
    assert "制定服务内容和方式" in shown or "服务内容" in shown
    assert "服务内容" in shown and "融资与内部管理专题讲座" in shown
    assert "服务方式" in shown and "讲座" in shown  # the mode's title, not "lecture"
    assert "lecture" not in shown and "content" not in shown  # no raw keys or values
    assert "center_staff" in shown  # who entered it

    applicant.get("/lang/en")
    english = earlier(Page(applicant.get(f"/tasks/{task.id}")), "reviewed-title")
    assert "Service content" in english and "Service mode" in english


def test_reviewing_the_content_shows_every_experts_outline(app, system, driver):
    driver.run_until("review_content")
    task = driver.task("review_content")
    clerk = session_of(app, system, "clerk", ["center_staff"])
    shown = earlier(Page(clerk.get(f"/tasks/{task.id}")), "reviewed-title")
    assert "张教授" in shown and "刘律师" in shown
    assert shown.count("服务课题") == 2 and shown.count("一、融资渠道；二、案例") == 2


@pytest.mark.parametrize("element", ["approve_budget_division", "approve_budget_center"])
def test_approving_the_budget_shows_its_items(app, system, driver, element):
    driver.run_until(element)
    task = driver.task(element)
    role = task.role
    head = session_of(app, system, "head", [role])
    shown = earlier(Page(head.get(f"/tasks/{task.id}")), "reviewed-title")
    assert "费用明细" in shown and "专家授课费" in shown and "3000" in shown
    assert "专家费" in shown  # the category's title


def test_reviewing_the_application_shows_the_application(app, system, driver):
    driver.start()
    task = driver.task("review_application")
    clerk = session_of(app, system, "clerk", ["center_staff"])
    shown = earlier(Page(clerk.get(f"/tasks/{task.id}")), "reviewed-title")
    assert "石家庄市中小企业服务中心" in shown and "王芳" in shown


def test_a_task_that_decides_nothing_shows_no_earlier_submission(app, system, driver):
    driver.start()
    driver.complete("review_application")
    task = driver.task("plan_survey")
    clerk = session_of(app, system, "clerk", ["center_staff"])
    page = Page(clerk.get(f"/tasks/{task.id}"))
    assert 'aria-labelledby="reviewed-title"' not in page.html
    assert 'aria-labelledby="sent-back-title"' not in page.html


# -- 2. a task sent back says why --------------------------------------------------------


def test_a_design_sent_back_shows_who_sent_it_back_when_and_why(app, system, driver, clock):
    driver.run_until("confirm_service_design")
    driver.complete(
        "confirm_service_design", {"decision": "revise", "comments": "请增加一对一诊断"}
    )
    task = driver.task("design_service")
    clerk = session_of(app, system, "clerk", ["center_staff"])
    page = Page(clerk.get(f"/tasks/{task.id}"))
    why = earlier(page, "sent-back-title")
    assert "请增加一对一诊断" in why
    assert "退回修改" in why  # the decision's title
    assert "applicant" in why
    assert "2026-09-30 10:00" in why  # Beijing time
    assert page.html.index("sent-back-title") < page.html.index('class="dingdan-form"')
    assert 'value="融资与内部管理专题讲座"' in page.html or "融资与内部管理专题讲座" in page.html

    # Sent back twice: only the latest decision.
    driver.complete("design_service")
    driver.complete("confirm_service_design", {"decision": "revise", "comments": "再改一次"})
    why = earlier(Page(clerk.get(f"/tasks/{driver.task('design_service').id}")), "sent-back-title")
    assert "再改一次" in why and "请增加一对一诊断" not in why


def test_a_budget_rejected_shows_both_decisions(app, system, driver):
    driver.run_until("approve_budget_center")
    driver.complete("approve_budget_division")
    driver.complete("approve_budget_center", {"decision": "reject", "comments": "场地费过高"})
    task = driver.task("prepare_budget")
    clerk = session_of(app, system, "clerk", ["center_staff"])
    why = earlier(Page(clerk.get(f"/tasks/{task.id}")), "sent-back-title")
    assert "场地费过高" in why and "center_head" in why
    assert "服务中心负责人审批费用" in why


def test_an_outline_sent_back_shows_the_review(app, system, driver):
    driver.run_until("review_content")
    driver.complete("review_content", {"decision": "revise", "comments": "大纲过于简略"})
    task = driver.task("submit_outline", subject="张教授")
    clerk = session_of(app, system, "clerk", ["center_staff"])
    why = earlier(Page(clerk.get(f"/tasks/{task.id}")), "sent-back-title")
    assert "大纲过于简略" in why


# -- 3 and 5. the instance page: act or view; the breadcrumb ----------------------------


def test_open_tasks_offer_to_act_only_to_those_who_may(app, system, driver):
    driver.start()
    task = driver.task("review_application")
    applicant = session_of(app, system, "applicant", ["applicant"])
    html = Page(applicant.get(f"/instances/{driver.instance_id}")).html
    row = re.search(r"<tr[^>]*>\s*<td>登记备案并审核申请</td>.*?</tr>", html, re.S).group(0)
    assert ">办理<" not in row and ">查看<" in row
    clerk = session_of(app, system, "clerk", ["center_staff"])
    html = Page(clerk.get(f"/instances/{driver.instance_id}")).html
    row = re.search(r"<tr[^>]*>\s*<td>登记备案并审核申请</td>.*?</tr>", html, re.S).group(0)
    assert ">办理<" in row and f"/tasks/{task.id}" in row


def test_the_breadcrumb_ends_with_the_instance(app, system, driver):
    driver.start()
    clerk = session_of(app, system, "clerk", ["center_staff"])
    html = Page(clerk.get(f"/instances/{driver.instance_id}")).html
    crumbs = re.search(r'<p class="crumbs">(.*?)</p>', html, re.S).group(1)
    assert crumbs.rstrip().endswith("</span>")
    assert driver.instance_id[:8] in crumbs
    driver.complete("review_application")
    html = Page(clerk.get(f"/instances/{driver.instance_id}")).html
    crumbs = re.search(r'<p class="crumbs">(.*?)</p>', html, re.S).group(1)
    assert driver.instance().file_number in crumbs


# -- 4. a refused list form keeps its rows as they were ----------------------------------


def test_a_refused_list_adds_no_empty_row(app, system, driver):
    driver.run_until("select_experts")
    task = driver.task("select_experts")
    clerk = session_of(app, system, "clerk", ["center_staff"])
    page = Page(clerk.get(f"/tasks/{task.id}"))
    assert len(rows_of(page.html, "experts")) == 1  # one blank row to start with
    expert = copy.deepcopy(DEFAULTS["select_experts"]["experts"][0])
    typed = {f"experts.0.{k}": v for k, v in expert.items() if k != "qualification"}
    refused = Page(clerk.post(f"/tasks/{task.id}", data={"csrf_token": page.token, **typed}))
    assert refused.status == 422
    assert len(rows_of(refused.html, "experts")) == 1
    again = Page(
        clerk.post(f"/tasks/{task.id}", data={"csrf_token": csrf_token(refused.html), **typed})
    )
    assert again.status == 422 and len(rows_of(again.html, "experts")) == 1
    # A table left empty still shows one row to fill in.
    empty = Page(clerk.post(f"/tasks/{task.id}", data={"csrf_token": again.token}))
    assert empty.status == 422 and len(rows_of(empty.html, "experts")) == 1
