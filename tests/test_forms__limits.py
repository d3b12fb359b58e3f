"""Limits and blank text: what the API audit found.

Amounts beyond any budget made the rounding of the total raise (HTTP 500); text made only
of spaces passed required fields; counts and lists had no upper bound. Each is checked
through `Form.validate` (what the task service calls) and through the HTTP API.
"""

import json
import math
from pathlib import Path

import pytest

from forms import Form, FormRegistry, FormValidationError
from forms.computed import ComputedField
from webui.app import create_app

from .api_client import sign_in
from .driver import APPLICATION, DEFAULTS

FORMS_DIR = Path(__file__).resolve().parents[1] / "processes" / "forms"
SCHEMA_FILES = sorted(FORMS_DIR.glob("*.schema.json"))
MAX_AMOUNT = 9999999999.99  # yuan, per budget line: below 10^10
BLANKS = [" ", "   ", "\t\n", "\u3000\u3000", " \u200b "]


@pytest.fixture(scope="module")
def forms():
    return FormRegistry.from_directory(FORMS_DIR)


def refused(form, data):
    with pytest.raises(FormValidationError) as caught:
        form.validate(data)
    return caught.value.fields


def budget_rows(*amounts):
    return {"items": [{"category": "expert_fee", "description": "x", "amount": a} for a in amounts]}


# -- 1. amounts and the computed total ----------------------------------------------------


@pytest.mark.parametrize("amount", [1e10, 1e26, 1e30, 1e300, 1e308, 10**30, 10**400])
def test_an_amount_beyond_the_maximum_is_refused_naming_it(forms, amount):
    fields = refused(forms.get("budget"), budget_rows(100, amount))
    assert fields == {"items.1.amount": "must be at most 9999999999.99"}


@pytest.mark.parametrize("amount", [math.nan, math.inf, -math.inf])
def test_non_finite_amounts_are_refused(forms, amount):
    assert refused(forms.get("budget"), budget_rows(amount)) == {
        "items.0.amount": "must be a number"
    }


def test_the_largest_budget_the_schema_accepts_has_an_exact_total(forms):
    budget = forms.get("budget")
    assert budget.schema["properties"]["items"]["maxItems"] == 200
    assert budget.validate(budget_rows(MAX_AMOUNT))["total"] == MAX_AMOUNT
    assert budget.validate(budget_rows(*[MAX_AMOUNT] * 200))["total"] == 1999999999998.0
    assert refused(budget, budget_rows(*[1] * 201)) == {"items": "at most 200 items allowed"}


@pytest.mark.parametrize("amount", [1e26, 1e308, 5e-324, 10**4000, -1e308, 0.005])
def test_the_sum_itself_never_raises_on_a_finite_number(amount):
    total = ComputedField("total", "sum", "items", "amount").compute(
        {"items": [{"amount": amount}, {"amount": amount}]}
    )
    assert isinstance(total, float)


def test_a_computed_sum_needs_bounded_rows_and_amounts():
    rows = {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "number"}}}}
    total = {"type": "number", "readOnly": True, "x-computed": "sum:rows.n"}
    with pytest.raises(ValueError, match="maxItems.*maximum"):
        Form("sums", {"type": "object", "properties": {"rows": rows, "total": total}})
    rows["maxItems"] = 10
    rows["items"]["properties"]["n"]["maximum"] = 100
    form = Form("sums", {"type": "object", "properties": {"rows": rows, "total": total}})
    assert form.validate({"rows": [{"n": 1.25}, {"n": 2}]})["total"] == 3.25


def test_json_literals_for_non_numbers_never_pass_a_form(forms):
    # Python's json.loads takes NaN, Infinity and -Infinity; the forms take none of them.
    data = json.loads('{"items": [{"category": "other", "description": "x", "amount": NaN}]}')
    assert refused(forms.get("budget"), data) == {"items.0.amount": "must be a number"}
    data = json.loads('{"decision": "reject", "reason": "x", "n": Infinity}')
    assert refused(forms.get("review_application"), data) == {"n": "unknown field"}


# -- 2. blank text ------------------------------------------------------------------------

APPLICATION_DATA = dict(APPLICATION, qualification_documents=["file-1"])
SURVEY = DEFAULTS["plan_survey"]

# (form, a valid submission, the dotted path of a required text, how to set it)
REQUIRED_TEXTS = [
    ("review_application", {"decision": "reject", "reason": "x"}, "reason"),
    ("confirm_service_design", {"decision": "revise", "comments": "x"}, "comments"),
    ("content_review", {"decision": "revise", "comments": "x"}, "comments"),
    ("budget_approval", {"decision": "reject", "comments": "x"}, "comments"),
    (
        "follow_up",
        {
            "method": "phone",
            "effect": "好",
            "extended_service_needed": True,
            "extended_service_description": "x",
        },
        "extended_service_description",
    ),
    ("follow_up", dict(DEFAULTS["follow_up_visit"]), "effect"),
    (
        "budget",
        {"items": [{"category": "other", "description": "x", "amount": 1}]},
        "items.0.description",
    ),
    ("survey_plan", SURVEY, "enterprises.0.name"),
    ("application", APPLICATION_DATA, "unit_name"),
    ("application", APPLICATION_DATA, "needs"),
    ("expert_selection", DEFAULTS["select_experts"], "experts.1.name"),
    ("activity_record", DEFAULTS["record_activity"], "served_enterprises.2.name"),
]


def with_value(data, dotted, value):
    data = json.loads(json.dumps(data))
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[last] = value
    return data


@pytest.mark.parametrize(
    ("key", "data", "field"),
    [pytest.param(*case, id=f"{case[0]}-{case[2]}") for case in REQUIRED_TEXTS],
)
@pytest.mark.parametrize("blank", BLANKS, ids=repr)
def test_required_text_of_blanks_gets_the_message_of_empty_text(forms, key, data, field, blank):
    form = forms.get(key)
    form.validate(data)  # valid as it stands
    empty = refused(form, with_value(data, field, ""))
    assert empty == {field: "must not be empty"}
    assert refused(form, with_value(data, field, blank)) == empty


def test_every_required_text_of_every_form_must_not_be_empty():
    """Required (or conditionally required) strings say minLength ≥ 1, so that blank text
    is refused as empty; a closed list or a format refuses it by itself."""

    def walk(node, where):
        if not isinstance(node, dict):
            return
        required = set(node.get("required", []))
        for branch in node.get("allOf", []):
            for part in ("then", "else"):
                sub = branch.get(part, {})
                for name in sub.get("required", []):
                    base = node.get("properties", {}).get(name, {})
                    extra = sub.get("properties", {}).get(name, {})
                    yield f"{where}{name} (conditional)", {**base, **extra}
        for name, prop in node.get("properties", {}).items():
            if name in required:
                yield where + name, prop
            yield from walk(prop, f"{where}{name}.")
        if isinstance(node.get("items"), dict):
            yield f"{where[:-1]}[]", node["items"]
            yield from walk(node["items"], f"{where[:-1]}[].")

    loose = []
    for path in SCHEMA_FILES:
        for field, prop in walk(json.loads(path.read_text(encoding="utf-8")), ""):
            if prop.get("type") != "string" or {"enum", "const", "format"} & set(prop):
                continue
            if prop.get("minLength", 0) < 1:
                loose.append((path.name, field))
    assert loose == []


def test_text_is_stored_trimmed(forms):
    data = dict(APPLICATION_DATA, unit_name="\u3000 石家庄市中小企业服务中心 \n")
    assert forms.get("application").validate(data)["unit_name"] == "石家庄市中小企业服务中心"
    cleaned = forms.get("review_application").validate(
        {"decision": "reject", "reason": " 材料不全 "}
    )
    assert cleaned == {"decision": "reject", "reason": "材料不全"}
    # Inside a text, line breaks and spaces stay as typed.
    letter = forms.get("official_letter").validate(DEFAULTS["issue_official_letter"])
    assert letter["programme"] == DEFAULTS["issue_official_letter"]["programme"]


def test_a_closed_choice_is_not_trimmed_into_a_valid_one(forms):
    fields = refused(forms.get("review_application"), {"decision": " accept"})
    assert set(fields) == {"decision"}


def test_the_input_is_not_changed(forms):
    data = {"decision": "reject", "reason": "  材料不全  "}
    forms.get("review_application").validate(data)
    assert data == {"decision": "reject", "reason": "  材料不全  "}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("甲公司", "  甲公司 "),
        ("\u3000甲公司", "甲公司"),
        ("ABC公司", "ａｂｃ公司"),
        ("甲  公司", "甲 公司"),
    ],
)
def test_enterprises_are_the_same_whatever_blanks_width_or_case(forms, first, second):
    data = with_value(with_value(SURVEY, "enterprises.0.name", first), "enterprises.1.name", second)
    assert refused(forms.get("survey_plan"), data) == {
        "enterprises.1.name": "appears twice in the list"
    }


def test_an_enterprise_name_is_stored_trimmed(forms):
    data = with_value(SURVEY, "enterprises.0.name", "  甲公司 ")
    assert forms.get("survey_plan").validate(data)["enterprises"][0]["name"] == "甲公司"


# -- 3. upper limits ----------------------------------------------------------------------


LIMITS = [
    ("application", APPLICATION_DATA, "expected_enterprises", 10**30, "must be at most 10000"),
    ("application", APPLICATION_DATA, "needs", "需" * 5001, "must be at most 5000 characters"),
    ("application", APPLICATION_DATA, "unit_name", "单" * 201, "must be at most 200 characters"),
    (
        "questionnaire",
        DEFAULTS["fill_questionnaire"],
        "employees",
        10**20,
        "must be at most 1000000",
    ),
    (
        "activity_record",
        DEFAULTS["record_activity"],
        "served_enterprises.0.attendees",
        10**20,
        "must be at most 10000",
    ),
]


@pytest.mark.parametrize(
    ("key", "data", "field", "value", "why"),
    [pytest.param(*case, id=f"{case[0]}-{case[2]}") for case in LIMITS],
)
def test_counts_and_texts_have_a_maximum(forms, key, data, field, value, why):
    assert refused(forms.get(key), with_value(data, field, value)) == {field: why}


def test_topics_are_at_most_the_eight_areas_each_once(forms):
    application = forms.get("application")
    areas = application.schema["properties"]["topics"]["items"]["x-suggestions"]
    application.validate(dict(APPLICATION_DATA, topics=areas))
    too_many = dict(APPLICATION_DATA, topics=["management", "finance"] * 100_000)
    assert refused(application, too_many) == {"topics": "at most 8 items allowed"}
    twice = dict(APPLICATION_DATA, topics=["management", " management"])
    assert refused(application, twice) == {"topics": "must not contain duplicates"}


@pytest.mark.parametrize(
    ("key", "data", "field"),
    [
        ("survey_plan", SURVEY, "enterprises"),
        ("expert_selection", DEFAULTS["select_experts"], "experts"),
        ("activity_record", DEFAULTS["record_activity"], "served_enterprises"),
    ],
)
def test_lists_that_open_a_task_per_row_have_at_most_200(forms, key, data, field):
    row = data[field][0]
    rows = [dict(row, name=f"{row['name']}{i}") for i in range(201)]
    assert refused(forms.get(key), dict(data, **{field: rows})) == {
        field: "at most 200 items allowed"
    }
    forms.get(key).validate(dict(data, **{field: rows[:200]}))


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name.removesuffix(".schema.json"))
def test_every_number_list_and_text_of_every_form_is_bounded(path):
    def walk(node, where):
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        bounded = {"maximum", "exclusiveMaximum", "readOnly"} & set(node)
        if kind in ("number", "integer") and not bounded:
            yield where, "maximum"
        if kind == "array" and "maxItems" not in node:
            yield where, "maxItems"
        if kind == "string" and not {"maxLength", "enum", "const", "format"} & set(node):
            yield where, "maxLength"
        for name, prop in node.get("properties", {}).items():
            yield from walk(prop, f"{where}.{name}")
        yield from walk(node.get("items"), f"{where}[]")

    assert list(walk(json.loads(path.read_text(encoding="utf-8")), "")) == []


# -- through the HTTP API -----------------------------------------------------------------


@pytest.fixture
def client(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    return create_app(system).test_client()


def state_of(client, headers, instance_id):
    path = f"/api/v1/instances/{instance_id}"
    return [
        client.get(f"{path}{part}", headers=headers).get_json()
        for part in ("", "/history", "/notices")
    ]


def post_complete(client, headers, task_id, body):
    kwargs = {"data": body, "content_type": "application/json"}
    if not isinstance(body, str):
        kwargs = {"json": body}
    return client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, **kwargs)


@pytest.mark.parametrize("amount", ["1e26", "1e30", "1e300", "1e308", "1" + "0" * 40])
def test_a_huge_amount_is_422_naming_it_and_changes_nothing(driver, client, amount):
    driver.run_until("prepare_budget")
    headers = sign_in(client, driver.system, "center_staff", ["center_staff"])
    task = driver.task("prepare_budget")
    before = state_of(client, headers, driver.instance_id)
    body = (
        '{"data": {"items": [{"category": "expert_fee", "description": "x", "amount": '
        + amount
        + "}]}}"
    )
    response = post_complete(client, headers, task.id, body)
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["fields"] == {"items.0.amount": "must be at most 9999999999.99"}
    assert state_of(client, headers, driver.instance_id) == before
    assert driver.task("prepare_budget").state == "open"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_a_non_number_amount_is_refused_and_not_stored(driver, client, literal):
    driver.run_until("prepare_budget")
    headers = sign_in(client, driver.system, "center_staff", ["center_staff"])
    task = driver.task("prepare_budget")
    before = state_of(client, headers, driver.instance_id)
    body = '{"data": {"items": [{"category": "venue", "amount": ' + literal + "}]}}"
    response = post_complete(client, headers, task.id, body)
    assert response.status_code in (400, 422), response.get_data(as_text=True)
    assert state_of(client, headers, driver.instance_id) == before


def test_a_blank_rejection_reason_is_422_and_nothing_is_sent(driver, client):
    driver.start()
    headers = sign_in(client, driver.system, "center_staff", ["center_staff"])
    task = driver.task("review_application")
    before = state_of(client, headers, driver.instance_id)
    response = post_complete(
        client, headers, task.id, {"data": {"decision": "reject", "reason": "   "}}
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["fields"] == {"reason": "must not be empty"}
    assert state_of(client, headers, driver.instance_id) == before

    answer = post_complete(
        client, headers, task.id, {"data": {"decision": "reject", "reason": " 材料不全 "}}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    [notice] = client.get(
        f"/api/v1/instances/{driver.instance_id}/notices", headers=headers
    ).get_json()
    assert "材料不全" in json.dumps(notice, ensure_ascii=False)
    assert "材料不全 " not in json.dumps(notice, ensure_ascii=False)


def test_a_blank_enterprise_opens_no_task(driver, client):
    driver.start()
    driver.complete("review_application")
    headers = sign_in(client, driver.system, "center_staff", ["center_staff"])
    task = driver.task("plan_survey")
    data = with_value(SURVEY, "enterprises.0.name", "   ")
    response = post_complete(client, headers, task.id, {"data": data})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["fields"] == {"enterprises.0.name": "must not be empty"}
    assert driver.open_elements() == ["plan_survey"]

    data = with_value(SURVEY, "enterprises.0.name", " 石家庄恒达机械有限公司\u3000")
    assert post_complete(client, headers, task.id, {"data": data}).status_code == 200
    subjects = {t.subject for t in driver.open_tasks("fill_questionnaire")}
    assert subjects == {e["name"] for e in SURVEY["enterprises"]}


def test_a_blank_unit_name_or_too_many_topics_start_nothing(driver, client):
    headers = sign_in(client, driver.system, "applicant", ["applicant"])
    data = dict(APPLICATION, qualification_documents=[driver.upload()], unit_name="   ")
    data["topics"] = ["management"] * 200  # (a body past 1 MiB is 413 before any field)
    data["expected_enterprises"] = 10**30
    response = client.post(
        "/api/v1/instances", headers=headers, json={"process": "order_service", "data": data}
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["fields"] == {
        "unit_name": "must not be empty",
        "topics": "at most 8 items allowed",
        "expected_enterprises": "must be at most 10000",
    }
    assert client.get("/api/v1/instances", headers=headers).get_json() == []
