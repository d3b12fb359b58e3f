"""Error pages speak the UI's language: our own explanation of the status (or our own message
where the error carries one, as a bad `seq`), never werkzeug's English description; the API
keeps its JSON errors."""

import re
from html import unescape

import pytest

from webui.app import create_app

from .test_webui__instance_pages import sign_in

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
WERKZEUG = ("The browser (or proxy)", "The method is not allowed", "CSRF", "requested URL")


@pytest.fixture
def client(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    return create_app(system).test_client()


def body(response) -> str:
    """The error page's card: heading and explanation."""
    html = unescape(response.get_data(as_text=True))
    return re.search(r'<section class="card narrow">(.*?)</section>', html, re.S).group(1)


def assert_ours(response, status, *wanted):
    assert response.status_code == status
    shown = body(response)
    for text in WERKZEUG:
        assert text not in shown, shown
    for text in wanted:
        assert text in shown, shown


def test_a_bad_seq_is_explained_in_our_words(client, system, driver):
    driver.run_until("plan_survey")
    sign_in(client, system, "auditor", ["auditor"])
    url = f"/instances/{driver.instance_id}/replay.json"
    assert_ours(client.get(f"{url}?seq=abc", headers=HTML), 400, "请求无法识别", "seq", "正整数")
    assert_ours(client.get(f"{url}?seq=999", headers=HTML), 400, "没有序号为 999 的事件")
    client.get("/lang/en")
    assert_ours(client.get(f"{url}?seq=abc", headers=HTML), 400, "positive whole number")


def test_a_form_post_without_its_csrf_token(client, system, driver):
    driver.run_until("plan_survey")
    sign_in(client, system, "center_staff", ["center_staff"])
    task = driver.task("plan_survey")
    response = client.post(f"/inbox/tasks/{task.id}/claim", data={}, headers=HTML)
    assert_ours(response, 400, "请求无法识别", "请刷新页面")
    client.get("/lang/en")
    response = client.post(f"/inbox/tasks/{task.id}/claim", data={}, headers=HTML)
    assert_ours(response, 400, "reload the page")
    assert "刷新" not in body(response)


def test_statuses_without_a_message_of_ours_are_explained(client, system):
    sign_in(client, system, "center_head", ["center_head"])
    assert_ours(client.post("/reports", headers=HTML), 405, "不支持的访问方式", "链接或按钮")
    assert_ours(client.get("/no-such-page", headers=HTML), 404, "未找到", "不存在")
    client.get("/lang/en")
    response = client.post("/reports", headers=HTML)
    assert_ours(response, 405, "links and buttons")
    assert not re.search(r"[\u4e00-\u9fff]", body(response))


def test_the_api_keeps_its_json_errors(client):
    response = client.post("/api/v1/auth/token", data="not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"
