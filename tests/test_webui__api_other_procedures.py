"""The four order procedures through HTTP only: every path of tests/other_driver.py, each
task found in the group inbox of the role its lane names and completed there, time moved
with the test clock."""

import copy

import pytest

from tasks.roles import ORDER_STAFF_ROLES
from webui.app import create_app

from .api_client import sign_in
from .other_driver import (
    DEFAULTS,
    LANE_USER,
    ORDER,
    PATHS,
    PROCESSES,
    STARTER,
    at,
    run_path,
)

# One user per order role (the customer is entered by sales), and an admin.
USERS = (*sorted(ORDER_STAFF_ROLES), "admin")
CASES = [(process, name) for process in PROCESSES for name in PATHS[process]]


class HttpOrder:
    """The driver interface of tests/other_driver.py, spoken over HTTP by each role's user."""

    def __init__(self, client, system, process):
        self.client = client
        self.process = process
        self.headers = {user: sign_in(client, system, user, [user]) for user in USERS}
        self.instance_id = None

    def get(self, user, url, status=200):
        response = self.client.get(f"/api/v1{url}", headers=self.headers[user])
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json()

    def post(self, user, url, body, status=200):
        response = self.client.post(f"/api/v1{url}", json=body, headers=self.headers[user])
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json()

    # -- the driver interface -------------------------------------------------------------------

    def start(self, data=None):
        body = {"process": self.process, "data": copy.deepcopy(ORDER if data is None else data)}
        created = self.post(STARTER, "/instances", body, status=201)
        self.instance_id = created["id"]
        return created

    def instance(self):
        return self.get(STARTER, f"/instances/{self.instance_id}")

    def open_elements(self):
        return sorted(t["element"] for t in self.instance()["open_tasks"])

    def status(self):
        return self.instance()["status"]

    def complete(self, element, data=None):
        [task] = [t for t in self.instance()["open_tasks"] if t["element"] == element]
        user = LANE_USER.get(task["role"], task["role"])
        inbox = self.get(user, "/tasks?scope=group")
        assert task["id"] in {t["id"] for t in inbox}, (element, user)
        detail = self.get(user, f"/tasks/{task['id']}")
        assert detail["form"]["x-title"]["en"] and detail["instructions"]
        body = {"data": copy.deepcopy(DEFAULTS[element] if data is None else data)}
        return self.post(user, f"/tasks/{task['id']}/complete", body)

    def at(self, when):
        fired = self.post("admin", "/test/clock", {"now": when.isoformat()})["fired"]
        self.headers = {user: self.token(user) for user in USERS}  # tokens last 12 hours
        return fired

    def token(self, user):
        body = {"username": user, "password": "pw"}
        response = self.client.post("/api/v1/auth/token", json=body)
        assert response.status_code == 200, response.get_data(as_text=True)
        return {"Authorization": f"Bearer {response.get_json()['token']}"}


@pytest.fixture
def client(system, monkeypatch):
    monkeypatch.setenv("DINGDAN_TEST_CLOCK", "1")
    return create_app(system).test_client()


@pytest.mark.parametrize(("process", "name"), CASES, ids=[f"{p}-{n}" for p, n in CASES])
def test_every_path_over_http(client, system, process, name):
    run_path(HttpOrder(client, system, process), PATHS[process][name])


def test_the_procedures_are_deployed_and_their_forms_served(client, system):
    api = HttpOrder(client, system, "customer_order")
    keys = {p["key"] for p in api.get("order_clerk", "/processes")}
    assert keys >= {*PROCESSES, "order_exception"}
    form = api.get("order_clerk", "/forms/order_entry")
    assert form["title"] == "订单录入"
    assert form["schema"]["properties"]["total_amount"]["readOnly"] is True


def test_a_customer_task_reaches_sales_and_the_history_says_for_whom(client, system):
    api = HttpOrder(client, system, "customer_order")
    api.start()
    api.complete("enter_order")
    api.complete("review_order", {"decision": "query", "questions": "请确认规格"})
    [task] = api.instance()["open_tasks"]
    assert (task["element"], task["role"], task["form"]) == (
        "answer_query",
        "customer",
        "customer_reply",
    )
    assert api.get("order_clerk", "/tasks?scope=group") == []
    api.complete("answer_query")
    history = api.get(STARTER, f"/instances/{api.instance_id}/history")
    [answered] = [
        e for e in history if e["type"] == "task_completed" and e["element"] == "answer_query"
    ]
    assert (answered["actor"], answered["data"]["on_behalf_of"]) == ("sales", "customer")


def test_a_wrong_submission_names_its_fields_and_only_the_lanes_role_may_act(client, system):
    api = HttpOrder(client, system, "customer_order")
    api.start()
    [task] = api.instance()["open_tasks"]
    unchecked = dict(DEFAULTS["enter_order"], checked_against_original=False)
    error = api.post(
        "order_clerk", f"/tasks/{task['id']}/complete", {"data": unchecked}, status=422
    )["error"]
    assert list(error["fields"]) == ["checked_against_original"]
    refused = api.post("production", f"/tasks/{task['id']}/complete", {"data": {}}, status=403)
    assert refused["error"]["code"] == "forbidden"  # order staff see every order, act in their lane
    api.headers["stranger"] = sign_in(client, system, "stranger", ["customer"])
    api.post("stranger", f"/tasks/{task['id']}/complete", {"data": {}}, status=404)
    api.get("stranger", f"/instances/{api.instance_id}", status=404)
    assert api.open_elements() == ["enter_order"]


def test_notices_and_the_order_number_are_visible_to_whoever_placed_the_order(client, system):
    api = HttpOrder(client, system, "order_receiving")
    created = api.start()
    assert created["file_number"] == "DO-2026-0001"
    for element in ("enter_order", "review_order", "send_confirmation"):
        api.complete(element)
    documents = api.get(STARTER, f"/instances/{api.instance_id}/documents")
    assert [d["name"] for d in documents] == ["order_confirmation"]
    response = client.get(
        f"/api/v1/instances/{api.instance_id}/documents/order_confirmation",
        headers=api.headers[STARTER],
    )
    assert "订单确认书" in response.get_data(as_text=True)
    for element in (
        "sign_confirmation",
        "plan_production",
        "purchase_materials",
        "produce",
        "inspect_quality",
    ):
        api.complete(element)
    notices = api.get(STARTER, f"/instances/{api.instance_id}/notices")
    assert [(n["to"], n["text"]) for n in notices] == [
        (STARTER, "订单 DO-2026-0001 的产品已通过质量检验，准备交付。")
    ]
    found = api.get(STARTER, "/instances?q=DO-2026-0001")
    assert [i["status"] for i in found] == ["archived"]


def test_escalations_show_as_overdue_tasks_in_the_heads_inboxes(client, system):
    api = HttpOrder(client, system, "order_execution")
    api.start()
    for element in ("review_order", "enter_order", "confirm_order", "plan_production"):
        api.complete(element)
    api.complete("track_order", {"status": "exception", "exception_description": "关键设备故障"})
    [resolve] = [t for t in api.instance()["open_tasks"] if t["element"] == "resolve_exception"]
    assert resolve["due_at"] == "2026-10-08T17:30:00+08:00"
    assert api.at(at(2026, 10, 8, 17, 31)) == 1
    [supervise] = api.get("department_head", "/tasks?scope=group")
    assert supervise["element"] == "supervise_exception"
    overdue = api.get("order_clerk", "/tasks?scope=group&overdue=true")
    assert [t["element"] for t in overdue] == ["resolve_exception"]
    assert api.at(at(2026, 10, 10, 17, 31)) == 1
    assert [t["element"] for t in api.get("management", "/tasks?scope=group")] == [
        "escalate_exception"
    ]
    api.complete("resolve_exception")
    assert api.get("management", "/tasks?scope=group") == []
    assert api.get("department_head", "/tasks?scope=group") == []
