"""A file kept after a refused submission, as Chromium lays it out: the tick box and the
file's name on one line, no empty bullet box, no checkbox stretched across the form."""

import io
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import sync_playwright

from webui.app import create_app

from .browser import launch
from .test_webui__task_pages import Page, application_form, sign_in

BASE = "http://dingdan.test"
# Where the file's name (the label's text) is drawn.
NAME_BOX = """li => {
  const text = [...li.querySelector("label").childNodes].find(
    n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
  const range = document.createRange();
  range.selectNodeContents(text);
  const b = range.getBoundingClientRect();
  return {x: b.x, y: b.y, width: b.width, height: b.height};
}"""


@pytest.fixture
def app(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    return create_app(system, {"SECRET_KEY": "test"})


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_kept_file_is_one_line_with_its_tick_box(app, system):
    applicant = sign_in(app, system, "applicant1", ["applicant"])
    page = Page(applicant.get("/start/order_service"))
    form = application_form(page.token, region="")
    form["qualification_documents"] = [(io.BytesIO(b"%PDF"), "资质证书.pdf", "application/pdf")]
    refused = Page(applicant.post("/start/order_service", data=form))
    assert refused.status == 422
    assert "资质证书.pdf" in refused.wrapper_of("qualification_documents")

    def serve(route):
        path = urlsplit(route.request.url).path
        if path == "/refused":
            route.fulfill(status=200, content_type="text/html", body=refused.html)
            return
        with applicant.get(path) as answer:
            route.fulfill(
                status=answer.status_code,
                content_type=answer.content_type,
                body=answer.get_data(),
            )

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.route(f"{BASE}/**", serve)
            tab.goto(f"{BASE}/refused")
            item = tab.locator(".files li").first
            box = tab.locator('.files input[type="checkbox"]').first
            name_at = item.evaluate(NAME_BOX)
            box_at, item_at = box.bounding_box(), item.bounding_box()
            assert box.is_checked()
            assert box_at["width"] < 40  # a tick box, not a full-width block
            assert box_at["x"] < name_at["x"] < box_at["x"] + 80  # the name right beside it
            middle = box_at["y"] + box_at["height"] / 2
            assert name_at["y"] <= middle <= name_at["y"] + name_at["height"]  # one line
            assert item_at["height"] < 40
            marker = item.evaluate("li => getComputedStyle(li, '::before').content")
            assert marker in ("none", "normal", "")  # no emoji bullet (a box without a font)
        finally:
            browser.close()
