"""The reports page (issue 11): figures on the page equal figures worked out by hand from a
handful of seeded applications; the CSV holds what the table shows; the filters narrow the
figures; only the center head, the division head and auditors see it; and with 10,000
archived applications the page stays under 500 ms (SQLite), the first one of a web process
too."""

import csv
import io
from datetime import datetime
from html.parser import HTMLParser

import pytest
from sqlalchemy import event

from webui.app import create_app
from webui.composition import build

from .driver import SHANGHAI
from .reports_seed import Seeded, seed, synthetic
from .test_webui__admin_pages import signed_in_client, text

NOW = datetime(2026, 11, 23, 11, 0, tzinfo=SHANGHAI)
SJZ, BD = "石家庄市中小企业服务中心", "保定市中小企业促进中心"


def at(month, day, hour=10):
    return datetime(2026, month, day, hour, 0, tzinfo=SHANGHAI)


# A, B, E reach the end; C is rejected; D waits for its review past the deadline; F is in
# its survey. Hours: (the stage's first task opened, how long the stage took).
A = Seeded(
    started_at=at(10, 8),
    region="石家庄市 长安区",
    unit=SJZ,
    topics=["management", "finance"],
    review_hours=2,
    experts=["张教授", "刘律师"],
    enterprises=["甲公司", "乙公司"],
    scores=[(5, 4, 5), (4, 4, 3)],
    follow_ups=[("phone", True), ("visit", False)],
    extended={"institution": "河北某咨询公司", "contract_price": 12000},
    budget=[("expert_fee", 3000), ("venue", 620.5)],
    stages={
        "survey": (2, 46),
        "preparation": (50, 70),
        "implementation": (130, 30),
        "follow_up": (200, 10),
        "archiving": (215, 5),
    },
    file_number="DD-2026-0001",
)
B = Seeded(
    started_at=at(10, 15, 9),
    region="保定市竞秀区",
    unit=BD,
    topics=["technology"],
    review_hours=30,  # due after 24: six hours late
    experts=["张教授"],
    enterprises=["丙公司"],
    scores=[(3, 3, 4)],
    follow_ups=[("online", True)],
    extended={},  # no agreement came of it
    budget=[("expert_fee", 2000), ("travel", 500), ("other", 100)],
    stages={
        "survey": (30, 20),
        "preparation": (60, 40),
        "implementation": (110, 10),
        "follow_up": (130, 50),
        "archiving": (190, 2),
    },
    file_number="DD-2026-0002",
)
C = Seeded(
    started_at=at(11, 3, 14),
    region="石家庄市 桥西区",
    unit="桥西区工信局",
    topics=["finance"],
    decision="reject",
    review_hours=5,
)
D = Seeded(
    started_at=at(11, 20, 11),
    region="唐山市 路北区",
    unit="唐山市中小企业局",
    topics=["management"],
    decision=None,
    review_hours=None,  # still open; due 2026-11-21 11:00, 48 hours before NOW
)
E = Seeded(
    started_at=at(11, 10),
    region="保定市 莲池区",
    unit="莲池区服务中心",
    topics=["marketing", "management"],
    review_hours=10,
    experts=["王工"],
    enterprises=["丁公司"],
    scores=[(4, 5, 4)],
    follow_ups=[("visit", False)],
    budget=[("expert_fee", 1500)],
    stages={
        "survey": (10, 10),
        "preparation": (20, 20),
        "implementation": (40, 8),
        "follow_up": (48, 4),
        "archiving": (52, 1),
    },
    file_number="DD-2026-0003",
    version=2,
)
F = Seeded(
    started_at=at(9, 5),
    region="石家庄市 长安区",
    unit="长安区促进会",
    topics=["legal"],
    review_hours=1,
    file_number="DD-2026-0009",
)

# Worked out by hand from A–F above.
EXPECTED = {
    "applications_by_region": [
        ["月份", "保定市", "唐山市", "石家庄市", "申请数"],
        ["2026-09", "0", "0", "1", "1"],
        ["2026-10", "1", "0", "1", "2"],
        ["2026-11", "1", "1", "1", "3"],
    ],
    "applications_by_topic": [
        ["月份", "经营管理", "科技研发", "财务融资", "市场营销", "法律事务", "申请数"],
        ["2026-09", "0", "0", "0", "0", "1", "1"],
        ["2026-10", "1", "1", "1", "0", "0", "2"],
        ["2026-11", "2", "0", "1", "1", "0", "3"],
    ],
    "decisions": [
        ["月份", "申请数", "受理", "不予受理", "待审核", "受理率", "不予受理率"],
        ["2026-09", "1", "1", "0", "0", "100.0%", "0.0%"],
        ["2026-10", "2", "2", "0", "0", "100.0%", "0.0%"],
        ["2026-11", "3", "1", "1", "1", "50.0%", "50.0%"],
        ["合计", "6", "4", "1", "1", "80.0%", "20.0%"],
    ],
    "review_timeliness": [
        ["月份", "已审核", "按时", "超期", "按时比例"],
        ["2026-09", "1", "1", "0", "100.0%"],
        ["2026-10", "2", "1", "1", "50.0%"],
        ["2026-11", "2", "2", "0", "100.0%"],
        ["合计", "5", "4", "1", "80.0%"],
    ],
    "overdue_reviews": [
        ["档案编号", "申请单位", "地区", "提交时间", "截止时间", "审核完成时间", "超期（小时）"],
        ["—", "唐山市中小企业局", "唐山市", "2026-11-20 11:00", "2026-11-21 11:00", "—", "48.0"],
        ["DD-2026-0002", BD, "保定市", "2026-10-15 09:00", "2026-10-16 09:00",
         "2026-10-16 15:00", "6.0"],
    ],
    # Hours per stage → days: application 1, 2, 30, 5, 10 (D still open); survey 46, 20, 10;
    # preparation 70, 40, 20; implementation 30, 10, 8; follow-up 10, 50, 4; archiving 5, 2, 1.
    "stage_times": [
        ["阶段", "申请数", "中位数（天）", "平均（天）"],
        ["申请", "5", "0.2", "0.4"],  # 5 h, 9.6 h
        ["调查", "3", "0.8", "1.1"],  # 20 h, 25.3 h
        ["筹备", "3", "1.7", "1.8"],  # 40 h, 43.3 h
        ["实施", "3", "0.4", "0.7"],  # 10 h, 16 h
        ["回访", "3", "0.4", "0.9"],  # 10 h, 21.3 h
        ["归档", "3", "0.1", "0.1"],  # 2 h, 2.7 h
    ],
    "scores_by_month": [
        ["月份", "评价份数", "服务内容", "专家", "组织工作"],
        ["2026-10", "3", "4.00", "3.67", "4.00"],
        ["2026-11", "1", "4.00", "5.00", "4.00"],
    ],
    "scores_by_expert": [
        ["专家（机构）", "活动次数", "评价份数", "服务内容", "专家", "组织工作"],
        ["张教授", "2", "3", "4.00", "3.67", "4.00"],
        ["刘律师", "1", "2", "4.50", "4.00", "4.00"],
        ["王工", "1", "1", "4.00", "5.00", "4.00"],
    ],
    "follow_up": [
        ["回访方式", "回访企业数", "需要延伸服务", "不需要", "需要延伸服务的比例"],
        ["电话", "1", "1", "0", "100.0%"],
        ["网络", "1", "1", "0", "100.0%"],
        ["上门走访", "2", "0", "2", "0.0%"],
        ["合计", "4", "2", "2", "50.0%"],
    ],
    "extended_services": [
        ["月份", "有需求的企业数", "有需求的活动数", "已签订协议", "转化率", "合同金额（元）"],
        ["2026-10", "2", "2", "1", "50.0%", "12000.00"],
        ["合计", "2", "2", "1", "50.0%", "12000.00"],
    ],
    "budgets": [
        ["档案编号", "申请单位", "地区", "月份", "专家费", "差旅费", "场地费", "资料费", "其他",
         "合计（元）"],
        ["DD-2026-0003", "莲池区服务中心", "保定市", "2026-11", "1500.00", "0.00", "0.00",
         "0.00", "0.00", "1500.00"],
        ["DD-2026-0002", BD, "保定市", "2026-10", "2000.00", "500.00", "0.00", "0.00",
         "100.00", "2600.00"],
        ["DD-2026-0001", SJZ, "石家庄市", "2026-10", "3000.00", "0.00", "620.50", "0.00",
         "0.00", "3620.50"],
        ["合计", "", "", "", "6500.00", "500.00", "620.50", "0.00", "100.00", "7720.50"],
    ],
}  # fmt: skip


class Tables(HTMLParser):
    """The report tables of a page: figure key -> rows of cell texts (the header first)."""

    def __init__(self, html: str):
        super().__init__()
        self.tables, self._rows, self._cell = {}, None, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "data-figure" in attrs:
            self._rows = self.tables[attrs["data-figure"]] = []
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th") and self._rows is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._rows[-1].append(self._cell.strip())
            self._cell = None
        elif tag == "table":
            self._rows = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


@pytest.fixture
def app(system):
    return create_app(system, {"SECRET_KEY": "test-secret"})


@pytest.fixture
def seeded(system, clock):
    clock.set(NOW)
    return seed(system, [A, B, C, D, E, F])


@pytest.fixture
def head(app, system, seeded):
    return signed_in_client(app, system, "head", ["center_head"])


def page_tables(client, query="") -> dict:
    response = client.get("/reports" + query)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return Tables(response.get_data(as_text=True)).tables


def test_every_figure_on_the_page_is_the_one_worked_out_by_hand(head):
    assert page_tables(head) == EXPECTED


def test_each_csv_holds_what_its_table_shows(head):
    tables = page_tables(head)
    for key, rows in tables.items():
        response = head.get(f"/reports/{key}.csv")
        assert response.status_code == 200, key
        assert response.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in response.headers["Content-Disposition"]
        body = response.get_data()
        assert body.startswith("\ufeff".encode()), "Excel needs the BOM to read UTF-8"
        assert list(csv.reader(io.StringIO(body.decode("utf-8-sig")))) == rows, key
    filtered = head.get("/reports/decisions.csv?region=石家庄市").get_data().decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(filtered)))[-1] == [
        "合计", "3", "2", "1", "0", "66.7%", "33.3%"
    ]  # fmt: skip


def test_filters_narrow_the_figures(head):
    # Region: A, C, F (石家庄市).
    tables = page_tables(head, "?region=石家庄市")
    assert tables["decisions"][-1] == ["合计", "3", "2", "1", "0", "66.7%", "33.3%"]
    assert [row[0] for row in tables["budgets"][1:]] == ["DD-2026-0001", "合计"]
    assert tables["applications_by_region"][0] == ["月份", "石家庄市", "申请数"]
    # Topic: A, D, E (management).
    tables = page_tables(head, "?topic=management")
    assert tables["decisions"][-1] == ["合计", "3", "2", "0", "1", "100.0%", "0.0%"]
    assert [row[0] for row in tables["scores_by_expert"][1:]] == ["刘律师", "张教授", "王工"]
    # Period: October only (A, B), given as dates or as months.
    for query in ("?start=2026-10-01&end=2026-10-31", "?start=2026-10&end=2026-10"):
        tables = page_tables(head, query)
        assert tables["decisions"][1:] == [
            ["2026-10", "2", "2", "0", "0", "100.0%", "0.0%"],
            ["合计", "2", "2", "0", "0", "100.0%", "0.0%"],
        ]
        assert tables["overdue_reviews"][1][0] == "DD-2026-0002"
        assert len(tables["overdue_reviews"]) == 2
    # Process version 2: E alone.
    tables = page_tables(head, "?version=2")
    assert tables["budgets"][1:] == [EXPECTED["budgets"][1], ["合计", "", "", "", "1500.00",
                                                              "0.00", "0.00", "0.00", "0.00",
                                                              "1500.00"]]  # fmt: skip
    assert tables["stage_times"][2] == ["调查", "1", "0.4", "0.4"]  # 10 hours
    # Nothing matches: the figures say so rather than fail.
    response = head.get("/reports?region=邯郸市")
    assert response.status_code == 200 and "没有符合条件的数据" in text(response)
    # A wrong date is named, and the page shows everything meanwhile.
    response = head.get("/reports?start=2026-13-01")
    assert response.status_code == 200 and "请填写日期" in text(response)
    assert head.get("/reports/decisions.csv?start=yesterday").status_code == 400


def test_charts_are_svg_drawn_on_the_server_without_script(head):
    for key in ("applications_by_region", "decisions", "scores_by_month", "budgets"):
        response = head.get(f"/reports/{key}.svg?start=2026-10")
        assert response.status_code == 200, key
        assert response.headers["Content-Type"].startswith("image/svg+xml")
        svg = response.get_data(as_text=True)
        assert svg.startswith("<svg") and "<script" not in svg
        assert "WenQuanYi Micro Hei" in svg
    assert "受理" in head.get("/reports/decisions.svg").get_data(as_text=True)
    assert head.get("/reports/overdue_reviews.svg").status_code == 404  # a list, no chart
    assert head.get("/reports/nonsense.csv").status_code == 404


def test_the_page_reads_in_english_too(head):
    head.get("/lang/en")
    response = head.get("/reports")
    body = text(response)
    assert "Reports" in body and "Applications per month by region" in body
    assert "统计报表" not in body


@pytest.mark.parametrize("role", ["center_head", "division_head", "auditor"])
def test_the_center_head_the_division_head_and_auditors_read_the_reports(app, system, role):
    client = signed_in_client(app, system, "reader", [role])
    inbox = text(client.get("/tasks"))
    assert 'href="/reports"' in inbox  # in the navigation
    assert client.get("/reports").status_code == 200
    assert client.get("/reports/budgets.csv").status_code == 200


@pytest.mark.parametrize(
    "role", ["applicant", "center_staff", "expert", "enterprise", "process_owner", "admin"]
)
def test_others_get_403(app, system, role):
    client = signed_in_client(app, system, "other", [role])
    assert 'href="/reports"' not in text(client.get("/tasks"))
    for path in ("/reports", "/reports/decisions.csv", "/reports/decisions.svg"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "无权执行此操作" in text(response)


def test_signed_out_people_are_sent_to_sign_in(app):
    response = app.test_client().get("/reports/decisions.csv")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_instances_without_facts_are_counted_on_the_first_page(app, system, clock):
    """As in a database upgraded from before the report facts: the page fills them."""
    clock.set(NOW)
    seed(system, [A, B, C, D, E, F], facts=False)
    head = signed_in_client(app, system, "head", ["center_head"])
    assert page_tables(head) == EXPECTED


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_ten_thousand_more_applications_take_the_page_no_more_statements(system, clock, driver):
    """The page reads the report facts in a fixed number of statements however many
    applications there are (how fast it is, `make bench` and a profile tell; a timed test
    fails on a busy machine): 10,006 cost what six cost, and a new or reviewed application
    shows at once."""
    clock.set(NOW)
    few = synthetic(6, NOW, seed_value=5)
    for n, application in enumerate(few):  # numbered apart from the 10,000 seeded next
        application.file_number = f"DD-2025-9{n:04d}"
    seed(system, few)
    six, totals = _statements_of_a_warm_page(system, clock)
    assert totals[1] == "6"
    seed(system, synthetic(10_000, NOW))
    many, totals = _statements_of_a_warm_page(system, clock, driver)
    assert totals[1] == "10007"  # and the one the driver started
    assert many == six, (many, six)


def _statements_of_a_warm_page(system, clock, driver=None) -> tuple[int, list]:
    """In a web process started on the database: the statements of its second /reports
    page, and the page's decision totals (after the driver started an application and
    had it reviewed, each shown on the next page, when a driver is given)."""
    fresh = build(system.db.url, clock=clock)
    statements = []
    event.listen(fresh.db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        client = signed_in_client(
            create_app(fresh, {"SECRET_KEY": "test-secret"}),
            fresh,
            f"head{id(fresh)}",
            ["center_head"],
        )

        def page() -> list:
            statements.clear()
            response = client.get("/reports")
            assert response.status_code == 200
            return Tables(response.get_data(as_text=True)).tables["decisions"][-1]

        page()  # the first page of the process fills its caches
        totals = page()
        count = len(statements)
        if driver is not None:
            accepted = int(totals[2])
            driver.start()  # steps (of another process's engine) write the facts it reads
            assert page()[1:3] == [str(int(totals[1]) + 1), str(accepted)]
            driver.complete("review_application")
            totals = page()
            assert totals[2] == str(accepted + 1)
            for key in ("applications_by_region", "decisions", "stage_times", "budgets"):
                assert client.get(f"/reports/{key}.svg").status_code == 200
        return count, totals
    finally:
        fresh.db.dispose()
