"""The reports name service areas, cost categories and follow-up methods as the forms do
(processes/forms: one name per value, zh-CN and English), and a bad filter is named, not
silently dropped nor shown back as if it had been taken."""

import csv
import io
import json
import re
from pathlib import Path

import pytest

from webui.app import create_app

from .reports_seed import seed
from .test_webui__admin_pages import signed_in_client, text
from .test_webui__reports import NOW, A, B, Tables

FORMS = Path(__file__).resolve().parent.parent / "processes" / "forms"


def enum_titles(form: str, *path: str) -> dict:
    node = json.loads((FORMS / f"{form}.schema.json").read_text(encoding="utf-8"))
    for part in path:
        node = node["items"] if part == "[]" else node["properties"][part]
    return node["x-enum-titles"]


@pytest.fixture
def head(system, clock):
    clock.set(NOW)
    seed(system, [A, B])  # topics management, finance, technology; phone, visit, online
    app = create_app(system, {"SECRET_KEY": "test-secret"})
    return signed_in_client(app, system, "head", ["center_head"])


def tables(client, query=""):
    response = client.get("/reports" + query)
    assert response.status_code == 200
    return Tables(response.get_data(as_text=True)).tables


def test_the_reports_name_areas_categories_and_methods_as_the_forms_do(head):
    topics = enum_titles("application", "topics", "[]")
    categories = enum_titles("budget", "items", "[]", "category")
    methods = enum_titles("follow_up", "method")
    for lang in ("zh-CN", "en"):
        if lang == "en":
            head.get("/lang/en")
        shown = tables(head)
        assert shown["applications_by_topic"][0][1:4] == [
            topics[key][lang] for key in ("management", "technology", "finance")
        ]
        assert shown["budgets"][0][4:9] == [
            categories[key][lang] for key in ("expert_fee", "travel", "venue", "materials", "other")
        ]
        assert [row[0] for row in shown["follow_up"][1:4]] == [
            methods[key][lang] for key in ("phone", "online", "visit")
        ]
        page = text(head.get("/reports"))
        for key in ("management", "technology", "finance"):  # the filter's choices
            assert f'<option value="{key}" >{topics[key][lang]}</option>' in page
        csv_rows = list(
            csv.reader(io.StringIO(head.get("/reports/applications_by_topic.csv").text[1:]))
        )
        assert csv_rows[0] == shown["applications_by_topic"][0]
    assert "Management" not in page and "企业管理" not in page


@pytest.mark.parametrize(
    "query, field, named",
    [
        ("?start=abc", "start", "“起始日期”无效"),
        ("?end=2026-02-30", "end", "“截止日期”无效"),
        ("?start=2026-11-01&end=2026-10-01", "end", "“截止日期”早于“起始日期”"),
    ],
)
def test_a_bad_filter_date_is_named_and_not_shown_back(head, query, field, named):
    response = head.get("/reports" + query + "&region=石家庄市")
    assert response.status_code == 200
    page = text(response)
    assert 'role="alert"' in page and named in page
    bad = dict(part.split("=") for part in query[1:].split("&"))[field]
    value = re.search(rf'<input type="date" name="{field}" value="([^"]*)"', page).group(1)
    assert value == "" and bad not in value
    scope = re.search(r'<p class="report-scope">(.*?)</p>', page, re.S).group(1)
    assert "石家庄市" in scope  # the other filters still apply
    head.get("/lang/en")
    english = text(head.get("/reports" + query))
    alert = re.search(r'<span class="field-error">(.*?)</span>', english).group(1)
    assert ("From" if field == "start" else "To") in alert and "日期" not in alert


def test_a_bad_version_is_named_too(head):
    page = text(head.get("/reports?version=x"))
    assert "“流程版本”无效" in page and 'role="alert"' in page
