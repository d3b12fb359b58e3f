"""The modeler in a real browser (Playwright, Debian's headless Chromium, a real `dingdan
serve --demo`): a process owner renames a user task, sees a check's error on the diagram,
deploys; a new instance runs version 2 while one started before stays on version 1 and
completes. The modeler on the real order_service diagram is kept as
tests/artifacts/modeler.png to be looked at."""

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from engine import bpmn_diff
from webui.composition import PROCESSES_DIR

from .browser import ARTIFACTS, Clerk, expect, launch
from .server import Client, running_server

TINY = (Path(__file__).parent / "diagrams" / "tiny_review.bpmn").read_bytes()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("modeler")
    env = {"DINGDAN_DRAFTS_DIR": str(folder / "drafts")}
    with running_server(f"sqlite:///{folder / 'dingdan.sqlite3'}", env=env) as server:
        server.drafts = folder / "drafts"
        yield server


@pytest.fixture
def owner(request, server):
    with sync_playwright() as playwright:
        browser = launch(playwright)
        clerk = Clerk(browser, server.url, "process_owner")
        failed_before = request.session.testsfailed
        yield clerk
        if request.session.testsfailed > failed_before:
            clerk.screenshot(f"failed-{request.node.name}.png")
        clerk.close()
        browser.close()


def test_a_process_owner_renames_a_task_and_deploys_version_2(server, owner):
    api_owner = Client(server.url, "process_owner")
    staff = Client(server.url, "center_staff")
    deployed = api_owner.post(
        "/processes/deploy?filename=tiny_review.bpmn",
        data=TINY,
        headers={"Content-Type": "application/xml"},
    )
    assert deployed.status_code == 201, deployed.text
    before = staff.post("/instances", json={"process": "tiny_review"}).json()
    assert before["version"] == 1

    page = owner.page
    # The real procedure opens in the modeler too.
    page.goto("/processes/order_service/modeler")
    expect(page.locator("#modeler.ready")).to_be_visible()
    expect(page.locator("[data-element-id=call_survey]")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "modeler.png")

    page.get_by_role("navigation").get_by_role("link", name="流程管理").click()
    page.get_by_role("link", name="小审核流程").click()
    page.get_by_role("link", name="在线编辑流程图").click()
    expect(page.locator("#modeler.ready")).to_be_visible()
    panel = page.get_by_role("complementary", name="属性")

    # A lane that names no role: the check marks it on the diagram and lists it.
    page.locator("[data-element-id=lane_center_staff]").click(position={"x": 12, "y": 60})
    expect(panel.get_by_label("标识")).to_have_value("lane_center_staff")
    panel.get_by_label("角色（泳道）").fill("night_watch")
    panel.get_by_label("角色（泳道）").press("Tab")
    page.get_by_role("button", name="检查").click()
    expect(page.locator(".check-list li")).to_contain_text("lane_center_staff")
    expect(page.locator(".djs-element.dd-error[data-element-id=lane_center_staff]")).to_have_count(
        1
    )
    panel.get_by_label("角色（泳道）").fill("center_staff")
    panel.get_by_label("角色（泳道）").press("Tab")
    page.get_by_role("button", name="检查").click()
    expect(page.get_by_role("status").filter(has_text="检查通过")).to_be_visible()
    expect(page.locator(".djs-element.dd-error")).to_have_count(0)

    # Rename the user task in the properties panel, then deploy.
    page.locator("[data-element-id=review]").click()
    expect(panel.get_by_label("标识")).to_have_value("review")
    panel.get_by_label("名称", exact=True).fill("复核材料")
    panel.get_by_label("名称", exact=True).press("Tab")
    expect(page.locator("[data-element-id=review] text")).to_have_text("复核材料")
    page.get_by_role("button", name="部署").click()
    expect(page.get_by_role("status").filter(has_text="已部署为 v2")).to_be_visible()

    after = staff.post("/instances", json={"process": "tiny_review"}).json()
    assert after["version"] == 2
    assert [t["name"] for t in after["open_tasks"]] == ["复核材料"]
    [task] = staff.get(f"/instances/{before['id']}").json()["open_tasks"]
    assert task["name"] == "审核材料"
    done = staff.post(f"/tasks/{task['id']}/complete", json={"data": {"decision": "accept"}})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["version"]) == ("archived", 1)


def test_the_modeler_keeps_everything_the_engine_reads_in_every_shipped_diagram(server, owner):
    """Open each diagram of processes/ in the modeler and save it as a draft: the draft has
    the same elements with the same content (names, lanes, forms, conditions, timers,
    loops, scripts, properties) — only the layout's formatting differs."""
    page = owner.page
    for path in sorted(PROCESSES_DIR.glob("*.bpmn")):
        key = path.stem
        page.goto(f"/processes/{key}/modeler")
        expect(page.locator("#modeler.ready")).to_be_visible()
        page.get_by_role("button", name="保存草稿").click()
        expect(page.get_by_role("status").filter(has_text="草稿已保存")).to_be_visible()
        draft = (server.drafts / f"{key}.bpmn").read_text(encoding="utf-8")
        assert bpmn_diff.diff(path.read_text(encoding="utf-8"), draft) == {
            "added": [],
            "removed": [],
            "changed": [],
        }, key
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="放弃草稿").click()
        expect(page.get_by_role("status").filter(has_text="草稿已放弃")).to_be_visible()
        assert not (server.drafts / f"{key}.bpmn").exists()
