"""Playwright helpers for the browser tests: Debian's headless Chromium, one signed-in
browser context per user, and the moves a clerk makes on the pages (the inbox, a task's
办理 page, a form's fields and table rows), found by the Chinese labels the clerk reads.

Nothing here waits by sleeping: Playwright's locators and `expect` wait for the page.
"""

import re
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from .server import Client

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
ARTIFACTS = Path(__file__).parent / "artifacts"
TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)  # a loaded machine (the whole suite) is slower


def launch(playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def set_clock(server, when: str) -> dict:
    """Move the server's test clock (admin, over the API); the server fires every timer
    due by then before it answers."""
    response = Client(server.url, "admin").post("/test/clock", json={"now": when})
    assert response.status_code == 200, response.text
    return response.json()


def labelled(text: str) -> re.Pattern:
    """A field's accessible name: its label, with the required mark (*) if it has one."""
    return re.compile(rf"^\s*{re.escape(text)}\s*\*?\s*$")


class Clerk:
    """One user in a browser context of their own, signed in at /login."""

    def __init__(self, browser: Browser, base_url: str, username: str, password: str = "demo"):
        self.username = username
        self.context: BrowserContext = browser.new_context(
            base_url=base_url,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            viewport={"width": 1280, "height": 900},
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page: Page = self.context.new_page()
        self.sign_in(password)

    def sign_in(self, password: str) -> None:
        page = self.page
        page.goto("/login")
        page.get_by_label("用户名").fill(self.username)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("heading", name="收件箱", exact=True)).to_be_visible()
        expect(page.locator(".session .user")).to_have_text(self.username)

    def close(self) -> None:
        self.context.close()

    # -- the inbox --------------------------------------------------------------------

    def inbox(self, tab: str = "待领取") -> Page:
        """The inbox, on one tab: 我的任务, 待领取 or 我的申请."""
        page = self.page
        page.get_by_role("navigation").get_by_role("link", name="收件箱").click()
        expect(page.get_by_role("heading", name="收件箱", exact=True)).to_be_visible()
        page.get_by_role("navigation", name="任务分类").get_by_role(
            "link", name=re.compile(rf"^{tab}")
        ).click()
        expect(
            page.get_by_role("navigation", name="任务分类").get_by_role(
                "link", name=re.compile(rf"^{tab}")
            )
        ).to_have_attribute("aria-current", "page")
        return page

    def inbox_rows(self, task_name: str, application: str, tab: str = "待领取") -> Locator:
        page = self.inbox(tab)
        return (
            page.locator("table.inbox tbody tr")
            .filter(has_text=task_name)
            .filter(has=page.get_by_role("link", name=application, exact=True))
        )

    def open_task(
        self, task_name: str, application: str, subject: str | None = None, tab: str = "待领取"
    ) -> Page:
        """Find the task in the inbox by its name, its application (file number or unit)
        and, for per-enterprise or per-expert tasks, its subject; press 办理."""
        rows = self.inbox_rows(task_name, application, tab)
        if subject is not None:
            rows = rows.filter(has=self.page.get_by_role("cell", name=subject, exact=True))
        expect(rows).to_have_count(1)
        rows.get_by_role("link", name="办理").click()
        expect(self.page.get_by_role("heading", level=1)).to_contain_text(task_name)
        return self.page

    # -- forms ------------------------------------------------------------------------

    def field(self, label: str, within: Locator | Page | None = None) -> Locator:
        return (within or self.page).get_by_label(labelled(label))

    def fill(self, values: dict[str, str], within: Locator | Page | None = None) -> None:
        for label, value in values.items():
            self.field(label, within).fill(value)

    def choose(self, group: str, option: str) -> None:
        """Tick one radio button of the group whose legend is `group`."""
        self.group(group).get_by_role("radio", name=option, exact=True).check()

    def tick(self, group: str, *options: str) -> None:
        for option in options:
            self.group(group).get_by_role("checkbox", name=option, exact=True).check()

    def group(self, legend: str) -> Locator:
        return self.page.get_by_role("group", name=labelled(legend))

    def fill_rows(self, table: str, rows: list[dict[str, str]]) -> Locator:
        """Fill a table of rows (a fieldset with legend `table`), pressing 添加一行 for each
        row beyond the ones shown; returns the fieldset."""
        fieldset = self.group(table)
        body_rows = fieldset.locator("tbody tr")
        for index, values in enumerate(rows):
            if body_rows.count() <= index:
                fieldset.get_by_role("button", name="添加一行").click()
                expect(body_rows).to_have_count(index + 1)
            row = body_rows.nth(index)
            for label, value in values.items():
                row.get_by_label(label, exact=True).fill(value)
        return fieldset

    def submit(self, button: str = "提交") -> Page:
        """Press the form's submit button; the server answers with the instance page."""
        page = self.page
        page.locator("p.actions").get_by_role("button", name=button, exact=True).click()
        expect(page.get_by_role("status").filter(has_text="已提交")).to_be_visible()
        return page

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=path, full_page=True)
        return path
