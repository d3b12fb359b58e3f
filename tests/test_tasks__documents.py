"""Generated documents (tasks/documents.py, processes/templates): they print what the clerk
chose as the form names it (电话, not `phone`), money with two decimals as the reports do,
and an official letter is dated with the date alone, in Beijing time."""

import re
from datetime import UTC, datetime
from pathlib import Path

from tasks.documents import DocumentRenderer

from .driver import SHANGHAI

TEMPLATES = Path(__file__).resolve().parent.parent / "processes" / "templates"


def test_the_archive_record_names_the_follow_up_method_and_prints_the_total_in_yuan(driver):
    driver.run_to_activity()  # budget 3000 + 620.5
    driver.run_from_activity_to_follow_up()
    rows = driver.open_tasks("follow_up_visit")
    for row, method in zip(rows, ("phone", "online", "visit"), strict=True):
        data = {"method": method, "effect": "良好", "extended_service_needed": False}
        driver.complete("follow_up_visit", data, subject=row.subject)
    driver.complete("archive_file")
    record = driver.documents()["archive_record"].body
    for title in ("电话", "网络", "上门走访"):
        assert f"<td>{title}</td>" in record
    for key in ("phone", "online", "visit"):
        assert f"<td>{key}</td>" not in record
    assert "<td>3620.50</td>" in record and "3620.5<" not in record


def test_the_official_letter_is_dated_with_the_date_alone_in_beijing(driver):
    driver.run_until("issue_official_letter")
    # 20:52 UTC on 13 October is 04:52 on 14 October in Beijing.
    driver.clock.set(datetime(2026, 10, 13, 20, 52, tzinfo=UTC))
    driver.complete("issue_official_letter")
    letter = driver.documents()["official_letter"].body
    signature = re.search(r'<p class="signature">(.*?)</p>', letter, re.S).group(1)
    assert signature.endswith("<br>2026年10月14日")
    assert "04:52" not in letter and "20:52" not in letter
    assert "2026年10月20日 09:00" in letter  # the activity itself keeps its time


def test_titles_and_amounts_for_any_template():
    renderer = DocumentRenderer(TEMPLATES)
    title_of = renderer.title_of
    assert title_of("follow_up", "method", "visit") == "上门走访"
    assert title_of("application", "topics", ["management", "finance"]) == "经营管理、财务融资"
    assert title_of("budget", "items.category", "expert_fee") == "专家费"
    assert title_of("application", "unit_type", "sme_department") == "中小企业主管部门"
    assert title_of("follow_up", "method", "letter") == "letter"  # another spelling, as it is
    assert title_of("follow_up", "method", None) == ""
    env = renderer.env
    assert env.from_string("{{ 4200.5 | amount }}").render() == "4200.50"
    assert env.from_string("{{ 12000 | amount }}").render() == "12000.00"
    assert env.from_string("{{ missing.total | amount }}").render() == ""
    moment = datetime(2026, 1, 5, 9, 0, tzinfo=SHANGHAI)
    assert env.from_string("{{ t | local_date }}").render(t=moment) == "2026年1月5日"
