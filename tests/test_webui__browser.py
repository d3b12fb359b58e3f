"""The web pages in a real browser: Playwright driving Debian's headless Chromium against a
real `dingdan serve --demo` (SQLite, the test clock), one browser context per user.

The whole procedure is worked through the pages by the demo user of each role; time moves
only when the test clock is set through the API. Screenshots of the inbox, a task form and
an instance page are kept under tests/artifacts/ (ignored by git) to be looked at.
"""

import re

import pytest
from playwright.sync_api import sync_playwright

from .browser import Clerk, expect, launch, set_clock
from .driver import APPLICATION, ENTERPRISES
from .server import Client, running_server

SUBMITTED = "2026-09-30T10:00:00+08:00"  # a Wednesday, before the National Day holidays
ACTIVITY = "2026-10-20T09:00"  # Beijing time, as typed into the official letter
NAME, ORGANISATION, SPECIALTY, QUALIFICATION = "专家（机构）名称", "所在单位", "专业领域", "资质"
EXPERTS = [
    {NAME: "张教授", ORGANISATION: "河北经贸大学", SPECIALTY: "企业融资", QUALIFICATION: "教授"},
    {
        NAME: "刘律师",
        ORGANISATION: "河北正和律师事务所",
        SPECIALTY: "公司法务",
        QUALIFICATION: "执业律师",
    },
]
PHONE = "0311-88000001"
PDF = b"%PDF-1.4 test"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    database = tmp_path_factory.mktemp("browser") / "dingdan.sqlite3"
    with running_server(f"sqlite:///{database}", env={"DINGDAN_TEST_CLOCK": "1"}) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def clerks(request, server, browser):
    """clerks("center_staff") → that user, signed in, in a browser context of its own.
    When the test fails, each open page is saved under tests/artifacts/ to look at."""
    opened = {}
    failed_before = request.session.testsfailed

    def clerk(username, password="demo"):
        if username not in opened:
            opened[username] = Clerk(browser, server.url, username, password)
        return opened[username]

    yield clerk
    failed = request.session.testsfailed > failed_before
    for username, opened_clerk in opened.items():
        if failed:
            opened_clerk.screenshot(f"failed-{request.node.name}-{username}.png")
        opened_clerk.close()


def start_by_api(server, unit_name, username="applicant") -> str:
    """An application started over the API (for the tests whose subject is elsewhere)."""
    client = Client(server.url, username)
    upload = client.post("/files", files={"file": ("营业执照.pdf", PDF, "application/pdf")})
    assert upload.status_code == 201, upload.text
    data = dict(APPLICATION, unit_name=unit_name, qualification_documents=[upload.json()["id"]])
    response = client.post("/instances", json={"process": "order_service", "data": data})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def instance_id_of(page) -> str:
    match = re.search(r"/instances/([^/?#]+)$", page.url)
    assert match, page.url
    return match.group(1)


def diagram(page):
    """The bpmn-js drawing (its root SVG, named after the diagram's process or collaboration)."""
    return page.locator(".diagram-canvas svg[data-element-id]")


def fact(page, term: str):
    """A value of the instance page's facts list (档案编号, 当前阶段, …)."""
    return page.locator("dl.facts > div").filter(has_text=term).locator("dd")


# -- 1. the whole procedure ---------------------------------------------------------------


def apply(applicant: Clerk, unit_name: str) -> str:
    """The applicant fills 新建申请 (the application form) and uploads its licence."""
    page = applicant.page
    page.get_by_role("navigation").get_by_role("link", name="新建申请").click()
    expect(page.get_by_role("heading", name="订单式服务申请审批表")).to_be_visible()
    applicant.fill(
        {
            "申请单位名称": unit_name,
            "单位类型": "服务机构",
            "所在地区（市、县）": APPLICATION["region"],
            "联系人": APPLICATION["contact_person"],
            "联系电话": APPLICATION["phone"],
            "预计参加企业数": "3",
            "期望服务时间": APPLICATION["preferred_period"],
            "服务需求描述": APPLICATION["needs"],
        }
    )
    applicant.tick("申请服务领域", "经营管理", "财务融资")
    applicant.field("单位资质证明材料").set_input_files(
        [{"name": "营业执照.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    applicant.submit("提交申请")
    expect(page.get_by_role("status").filter(has_text="已提交")).to_contain_text("当前阶段：申请")
    expect(page.get_by_role("heading", level=1)).to_contain_text(unit_name)
    expect(page.locator("h1 .badge")).to_have_text("进行中")
    return instance_id_of(page)


def review(staff: Clerk, unit_name: str) -> str:
    """Staff find the new application in 待领取, take it (领取), then accept it from
    我的任务; the service file gets its number."""
    rows = staff.inbox_rows("登记备案并审核申请", unit_name)
    expect(rows).to_have_count(1)
    expect(rows.locator("td.due")).to_contain_text("2026-10-08 17:30")  # one working day
    rows.get_by_role("button", name="领取").click()
    expect(staff.page.get_by_role("status")).to_contain_text("已领取任务「登记备案并审核申请」")

    page = staff.open_task("登记备案并审核申请", unit_name, tab="我的任务")
    expect(page.locator("dl.task-meta")).to_contain_text(unit_name)
    staff.choose("审核结论", "予以受理")
    staff.submit()
    file_number = fact(page, "档案编号").inner_text().strip()
    assert re.fullmatch(r"DD-2026-\d{4}", file_number), file_number
    expect(fact(page, "当前阶段")).to_have_text("调查")
    return file_number


def survey(staff: Clerk, applicant: Clerk, file_number: str) -> None:
    page = staff.open_task("制定调查计划", file_number)
    staff.fill_rows(
        "调查对象企业",
        [
            {"企业名称": name, "所属行业": "制造业", "联系人": "李经理", "联系电话": PHONE}
            for name in ENTERPRISES
        ],
    )
    staff.fill({"调查日期": "2026-10-12"})
    staff.submit()

    # One questionnaire per enterprise, entered by staff on its behalf (代填).
    rows = staff.inbox_rows("填写调查问卷", file_number)
    expect(rows).to_have_count(3)
    for row_index in range(3):
        expect(rows.nth(row_index).locator(".badge.proxy")).to_have_text("代填")
    assert sorted(rows.locator("td:nth-child(3)").all_inner_texts()) == sorted(ENTERPRISES)
    staff.screenshot("inbox.png")
    for name in ENTERPRISES:
        page = staff.open_task("填写调查问卷", file_number, subject=name)
        expect(page.get_by_text(f"您正在代 {name} 填写")).to_be_visible()
        staff.fill({"所属行业": "制造业", "职工人数": "120", "企业面临的主要问题": "融资难"})
        staff.field("年营业收入").select_option(label="1000万至5000万元")
        staff.tick("希望获得服务的领域", "财务融资")
        staff.choose("希望的服务方式", "讲座培训")
        staff.submit()

    staff.open_task("现场调查并形成报告", file_number)
    staff.fill(
        {
            "调查日期": "2026-10-12",
            "调查地点": "石家庄市长安区",
            "需求汇总": "融资渠道、内部管理制度",
            "服务建议": "举办专题讲座",
        }
    )
    staff.submit()

    staff.open_task("设计服务内容及模式", file_number)
    staff.fill({"服务内容": "融资与内部管理专题讲座"})
    staff.choose("服务方式", "讲座培训")
    staff.submit()

    page = applicant.open_task("确认服务内容和方式", file_number)
    applicant.choose("确认结论", "同意")
    applicant.submit()
    expect(fact(page, "当前阶段")).to_have_text("筹备")


def prepare(staff: Clerk, division_head: Clerk, center_head: Clerk, file_number: str) -> None:
    staff.open_task("选择专家或专业机构", file_number)
    staff.fill_rows("专家（机构）", EXPERTS)
    staff.submit()

    for expert in sorted(e[NAME] for e in EXPERTS):
        page = staff.open_task("提交课题及内容大纲", file_number, subject=expert)
        expect(page.get_by_text(f"您正在代 {expert} 填写")).to_be_visible()
        staff.fill({"服务课题": "中小企业融资", "内容大纲": "一、融资渠道；二、案例"})
        staff.submit()

    staff.open_task("汇总审查服务内容", file_number)
    staff.choose("审查结论", "审查通过")
    staff.submit()

    staff.open_task("安排组织协调人员", file_number)
    staff.fill({"创新服务处协调人": "赵处长", "服务中心协调人": "孙主任"})
    staff.submit()

    # The budget: two rows; the total is computed on the page, never typed.
    page = staff.open_task("填写服务内容及费用审批表", file_number)
    category, description, amount = "费用类别", "说明（类别为“其他”时必填）", "金额（元）"
    staff.fill_rows(
        "费用明细",
        [
            {category: "专家费", description: "专家授课费", amount: "3000"},
            {category: "场地费", description: "场地", amount: "620.5"},
        ],
    )
    total = page.locator(".field-computed").filter(has_text="合计（元）").locator("output")
    expect(total).to_have_text("3,620.50")
    staff.screenshot("task_form.png")
    page = staff.submit()
    expect(page.locator("details.record").filter(has_text="费用明细")).to_contain_text("3620.5")

    for head, task_name in (
        (division_head, "创新服务处负责人审批费用"),
        (center_head, "服务中心负责人审批费用"),
    ):
        page = head.open_task(task_name, file_number)
        head.choose("审批意见", "同意")
        head.submit()
    expect(fact(page, "当前阶段")).to_have_text("实施")


def implement(server, staff: Clerk, applicant: Clerk, file_number: str) -> None:
    page = staff.open_task("发送服务公函及行程安排", file_number)
    staff.fill(
        {
            "活动时间": ACTIVITY,
            "活动地点": "石家庄市长安区科技大厦三楼会议室",
            "活动程序": "09:00 开场\n09:30 融资专题\n14:00 法务专题",
        }
    )
    page = staff.submit()
    expect(page.locator("ul.documents")).to_contain_text("订单式服务公函")
    expect(page.get_by_role("heading", name="当前待办")).to_have_count(0)  # waits for the day

    assert set_clock(server, "2026-10-20T09:01:00+08:00")["fired"] >= 1

    page = applicant.open_task("汇总接受服务企业名单", file_number)
    applicant.fill_rows("接受服务企业", [{"企业名称": name} for name in ENTERPRISES])
    applicant.fill({"活动情况": "三家企业参加，效果良好"})
    applicant.submit()

    for name in ENTERPRISES:
        staff.open_task("填写企业评价意见表", file_number, subject=name)
        staff.choose("服务内容评分", "5")
        staff.choose("专家评分", "4")
        staff.choose("组织工作评分", "5")
        staff.fill({"评价意见": "很有帮助"})
        staff.page.get_by_role("checkbox", name="已盖章（经办人员已核验纸质表）").check()
        staff.submit()

    staff.open_task("活动全过程跟踪记录", file_number)
    staff.fill({"跟踪记录": "活动按计划进行，企业反馈良好"})
    page = staff.submit()
    expect(page.get_by_role("heading", name="当前待办")).to_have_count(0)  # waits for 回访


def follow_up(server, staff: Clerk, file_number: str) -> None:
    # Five working days after the activity (10-21 … 10-27), at close of business.
    assert set_clock(server, "2026-10-27T17:29:00+08:00")["fired"] == 0
    assert set_clock(server, "2026-10-27T17:31:00+08:00")["fired"] >= 1
    expect(staff.inbox_rows("回访企业并登记", file_number)).to_have_count(3)

    for index, name in enumerate(ENTERPRISES):
        staff.open_task("回访企业并登记", file_number, subject=name)
        staff.fill({"回访日期": "2026-10-28"})
        if index == 0:
            staff.choose("回访方式", "上门走访")
            staff.fill({"服务效果": "需要持续辅导"})
            staff.page.get_by_role("checkbox", name="是否需要延伸服务").check()
            staff.fill({"延伸服务需求说明（需要时必填）": "质量管理体系认证辅导"})
        else:
            staff.choose("回访方式", "电话")
            staff.fill({"服务效果": "效果良好"})
        staff.submit()

    staff.open_task("跟进延伸服务合作", file_number)
    staff.fill(
        {
            "服务机构": "河北质量认证咨询中心",
            "接受服务企业": ENTERPRISES[0],
            "合同价格（元）": "20000",
        }
    )
    staff.submit()


def archive(staff: Clerk, file_number: str):
    staff.open_task("整理并归档服务档案", file_number)
    staff.fill({"纸质材料存放位置": "档案室 2 号柜"})
    page = staff.submit()
    expect(page.locator("h1 .badge")).to_have_text("已归档")
    expect(fact(page, "当前阶段")).to_have_text("已完成")
    steps = page.locator("ol.stagebar > li")
    expect(steps).to_have_count(6)
    for index in range(6):
        expect(steps.nth(index)).to_have_class("done")
        expect(steps.nth(index).locator(".note")).to_have_text("已完成")
    return page


def test_the_whole_procedure_through_the_pages(server, clerks):
    set_clock(server, SUBMITTED)
    unit_name = "石家庄市中小企业服务中心"
    applicant = clerks("applicant")
    staff = clerks("center_staff")

    instance_id = apply(applicant, unit_name)
    file_number = review(staff, unit_name)
    survey(staff, applicant, file_number)
    prepare(staff, clerks("division_head"), clerks("center_head"), file_number)
    implement(server, staff, applicant, file_number)
    follow_up(server, staff, file_number)
    page = archive(staff, file_number)
    assert instance_id_of(page) == instance_id

    expect(diagram(page)).to_be_visible()
    expect(page.locator(".diagram-canvas .dd-completed").first).to_be_visible()
    # The history keeps who entered the enterprises' forms on their behalf.
    expect(page.locator("ol.timeline")).to_contain_text(f"代{ENTERPRISES[0]}填写")
    staff.screenshot("instance.png")

    # The applicant sees its archived application and opens the official letter (公函).
    page = applicant.page
    page.goto(f"/instances/{instance_id}")
    expect(page.locator("h1 .badge")).to_have_text("已归档")
    letter = page.locator("ul.documents li").filter(has_text="订单式服务公函")
    with applicant.context.expect_page() as opened:
        letter.get_by_role("link", name="查看并打印").click()
    document = opened.value
    expect(document.locator("body")).to_contain_text(file_number)
    expect(document.locator("body")).to_contain_text("石家庄市长安区科技大厦三楼会议室")
    document.close()
    expect(page.locator("ul.documents li")).to_have_count(2)  # the letter, the archive record


# -- 2. a form error beside its field -----------------------------------------------------


def test_a_refusal_without_a_reason_is_shown_beside_the_field_then_fixed(server, clerks):
    unit_name = "保定市工业和信息化局"
    start_by_api(server, unit_name)
    staff = clerks("center_staff")
    page = staff.open_task("登记备案并审核申请", unit_name)

    staff.choose("审核结论", "不予受理")
    page.locator("p.actions").get_by_role("button", name="提交").click()

    expect(page.get_by_role("alert").filter(has_text="表单有误")).to_be_visible()
    reason = staff.field("理由（不予受理时必填）")
    expect(reason).to_have_attribute("aria-invalid", "true")
    wrapper = page.locator(".field.has-error")
    expect(wrapper).to_have_count(1)
    expect(wrapper.locator("label")).to_contain_text("理由（不予受理时必填）")
    message = wrapper.locator(".field-error")
    expect(message).to_be_visible()
    expect(message).not_to_be_empty()
    expect(reason).to_have_accessible_description(message.inner_text())
    expect(staff.group("审核结论").get_by_role("radio", name="不予受理")).to_be_checked()

    reason.fill("不属于本中心服务范围")
    staff.submit()
    expect(page.locator("h1 .badge")).to_have_text("不予受理")
    expect(page.locator("ul.notices")).to_contain_text("不属于本中心服务范围")


# -- 3. one applicant cannot open another's instance ---------------------------------------


def test_an_applicant_cannot_open_another_applicants_instance(server, clerks):
    unit_name = "唐山市丰南区中小企业局"
    instance_id = start_by_api(server, unit_name)

    admin = clerks("admin")
    page = admin.page
    page.get_by_role("navigation").get_by_role("link", name="系统管理").click()
    form = page.locator("#add-user")
    form.get_by_label("用户名").fill("applicant2")
    form.get_by_label("初始密码").fill("another-secret")
    form.get_by_role("checkbox", name="申请单位").check()
    form.get_by_role("button", name="添加用户").click()
    expect(page.get_by_role("status")).to_contain_text("已添加用户 applicant2")

    other = clerks("applicant2", "another-secret")
    page = other.page
    response = page.goto(f"/instances/{instance_id}")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("未找到")
    expect(page.get_by_role("link", name="返回收件箱")).to_be_visible()
    body = page.locator("main")
    for secret in (unit_name, APPLICATION["contact_person"], APPLICATION["phone"], "营业执照"):
        expect(body).not_to_contain_text(secret)

    # Nor its diagram, nor the licence it uploaded, nor a trace in the lists.
    data = Client(server.url, "applicant").get(f"/instances/{instance_id}").json()["data"]
    [licence] = data["application"]["qualification_documents"]
    for path in (f"/instances/{instance_id}/diagram.json", f"/files/{licence}"):
        assert page.request.get(path).status == 404, path
    page.get_by_role("navigation").get_by_role("link", name="申请列表").click()
    expect(page.get_by_role("heading", name="申请列表")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text(unit_name)

    owner = clerks("applicant")
    response = owner.page.goto(f"/instances/{instance_id}")
    assert response.status == 200
    expect(owner.page.get_by_role("heading", level=1)).to_contain_text(unit_name)
    assert owner.page.request.get(f"/files/{licence}").status == 200


# -- 4. the diagram, with the active task marked ------------------------------------------


def test_the_diagram_marks_the_active_and_the_completed_tasks(server, clerks):
    unit_name = "邯郸市中小企业服务中心"
    instance_id = start_by_api(server, unit_name)
    staff_api = Client(server.url, "center_staff")
    for element, data in (
        ("review_application", {"decision": "accept"}),
        (
            "plan_survey",
            {"enterprises": [{"name": name} for name in ENTERPRISES], "survey_date": "2026-11-02"},
        ),
    ):
        [task] = [
            t
            for t in staff_api.get(f"/instances/{instance_id}").json()["open_tasks"]
            if t["element"] == element
        ]
        response = staff_api.post(f"/tasks/{task['id']}/complete", json={"data": data})
        assert response.status_code == 200, response.text

    staff = clerks("center_staff")
    page = staff.page
    page.goto(f"/instances/{instance_id}")
    canvas = page.locator(".diagram-canvas")
    expect(diagram(page)).to_be_visible()
    expect(page.locator(".diagram-status")).to_be_hidden()  # loaded, no error
    survey_tab = page.get_by_role("tab", name="2. 调查", exact=True)
    expect(survey_tab).to_have_attribute("aria-selected", "true")  # the running stage's
    expect(survey_tab).to_have_class(re.compile(r"\bstate-active\b"))

    def shape(element):
        """An element's drawing: diagram.js adds its markers (canvas.addMarker) as the
        classes dd-completed, dd-active and dd-overdue of this group."""
        return canvas.locator(f'g.djs-element.djs-shape[data-element-id="{element}"]')

    expect(shape("fill_questionnaire")).to_have_class(re.compile(r"\bdd-active\b"))
    expect(shape("plan_survey")).to_have_class(re.compile(r"\bdd-completed\b"))
    expect(shape("site_survey")).not_to_have_class(re.compile(r"\bdd-(active|completed)\b"))
    # Three questionnaires, one per enterprise, all open.
    expect(page.locator(".djs-overlay .dd-count-active")).to_have_text("×3")

    application_tab = page.get_by_role("tab", name="1. 申请", exact=True)
    expect(application_tab).to_have_class(re.compile(r"\bstate-completed\b"))
    application_tab.click()
    expect(application_tab).to_have_attribute("aria-selected", "true")
    expect(shape("review_application")).to_have_class(re.compile(r"\bdd-completed\b"))
    expect(shape("review_application")).not_to_have_class(re.compile(r"\bdd-active\b"))


# -- 5. the auditor steps through the history ---------------------------------------------


def test_the_auditor_steps_through_the_history_and_the_diagram_follows(server, clerks):
    instance_id = start_by_api(server, "衡水市中小企业服务中心")
    staff_api = Client(server.url, "center_staff")
    [review] = [
        t
        for t in staff_api.get(f"/instances/{instance_id}").json()["open_tasks"]
        if t["element"] == "review_application"
    ]
    response = staff_api.post(
        f"/tasks/{review['id']}/complete", json={"data": {"decision": "accept"}}
    )
    assert response.status_code == 200, response.text

    page = clerks("auditor").page
    page.goto(f"/instances/{instance_id}/audit?seq=1")
    expect(page.locator(".replay-check")).to_have_class(re.compile(r"\bok\b"))  # no divergence
    canvas = page.locator("#step .diagram-canvas")

    def shape(element):
        return canvas.locator(f'g.djs-element.djs-shape[data-element-id="{element}"]')

    # As it stood after the first event: the review open, nothing done after it — shown on
    # the application stage's diagram, though the instance has moved on to the survey.
    expect(page.get_by_role("tab", name="1. 申请", exact=True)).to_have_attribute(
        "aria-selected", "true"
    )
    expect(page.locator("[data-field=seq]")).to_have_text("1")
    expect(shape("review_application")).to_have_class(re.compile(r"\bdd-active\b"))
    expect(shape("review_application")).not_to_have_class(re.compile(r"\bdd-completed\b"))
    # Step forward (the script fetches each step; the address never reloads) until the
    # review's completion: it turns completed and the next task opens.
    next_button = page.get_by_role("link", name="下一步", exact=True)
    for _ in range(10):
        if page.locator("[data-field=type]").inner_text() == "完成任务":
            break
        before = page.locator("[data-field=seq]").inner_text()
        next_button.click()
        expect(page.locator("[data-field=seq]")).not_to_have_text(before)
    expect(page.locator("[data-field=type]")).to_have_text("完成任务")
    expect(page.locator("[data-field=changes]")).to_contain_text("decision")
    # The diagram has followed the instance into the survey stage, whose first task is open.
    expect(page.get_by_role("tab", name="2. 调查", exact=True)).to_have_attribute(
        "aria-selected", "true"
    )
    expect(shape("plan_survey")).to_have_class(re.compile(r"\bdd-active\b"))
    page.get_by_role("tab", name="1. 申请", exact=True).click()
    expect(shape("review_application")).to_have_class(re.compile(r"\bdd-completed\b"))
    expect(shape("review_application")).not_to_have_class(re.compile(r"\bdd-active\b"))
    # And back: the marks return to where they were.
    page.get_by_role("link", name="上一步", exact=True).click()
    expect(page.locator("[data-field=type]")).not_to_have_text("完成任务")
    expect(shape("review_application")).to_have_class(re.compile(r"\bdd-active\b"))
