"""The reports page in Debian's headless Chromium against a real `dingdan serve --demo`:
the center head opens it from the navigation, every chart (an SVG image drawn on the
server) loads under the page's Content-Security-Policy, and screenshots of the page on
screen and as printed are kept in tests/artifacts/ (reports.png, reports-print.png)."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import sync_playwright

from engine.clock import SettableClock
from webui.composition import build

from .browser import ARTIFACTS, Clerk, expect, launch
from .reports_seed import seed, synthetic
from .server import running_server
from .test_webui__reports import A, B, C, D, E, F


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    database = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'dingdan.sqlite3'}"
    now = datetime.now(UTC)
    system = build(database, clock=SettableClock(now))
    system.db.create_all()
    system.setup()
    seed(system, [A, B, C, D, E, F, *synthetic(300, now)])
    system.db.dispose()
    with running_server(database) as server:
        yield server


def test_the_center_head_reads_the_reports_with_their_charts(server):
    with sync_playwright() as playwright:
        browser = launch(playwright)
        head = Clerk(browser, server.url, "center_head")
        page = head.page
        blocked = []
        page.on(
            "console",
            lambda message: (
                blocked.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        page.get_by_role("navigation").get_by_role("link", name="统计报表").click()
        expect(page.get_by_role("heading", name="统计报表", level=1)).to_be_visible()
        expect(page.get_by_role("heading", name="每月申请数（按地区）")).to_be_visible()
        charts = page.locator("figure.chart img")
        expect(charts).to_have_count(10)
        page.wait_for_load_state("networkidle")
        for index in range(charts.count()):
            chart = charts.nth(index)
            chart.scroll_into_view_if_needed()
            assert chart.evaluate("img => img.complete && img.naturalWidth > 0"), index
        assert blocked == []

        page.get_by_role("combobox", name="地区").select_option("石家庄市")
        page.get_by_role("button", name="查询").click()
        expect(page.locator(".report-scope")).to_contain_text("石家庄市")
        page.get_by_role("link", name="清除筛选").click()
        page.wait_for_load_state("networkidle")

        head.screenshot("reports.png")
        page.emulate_media(media="print")
        page.screenshot(path=ARTIFACTS / "reports-print.png", full_page=True)
        assert (ARTIFACTS / "reports.png").stat().st_size > 50_000
        head.close()
        browser.close()
