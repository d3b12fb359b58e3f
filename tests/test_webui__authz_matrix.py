"""The authorisation matrix: every route of the API × every role × own / other's instance,
with the status each must get — one table, read a row at a time.

Two instances stand ready. A: started by `owner` (an applicant), in the survey stage; its
task A_task is the questionnaire of 恒达 (an enterprise-lane task, one per enterprise); its
file A_file is the owner's licence. B: started by `other` (another applicant), waiting for the
center's review; B_task is review_application (center_staff's lane), B_file its licence. So
A is the owner's own instance and the other applicant's other's, and B the reverse; 恒达's
user has a task in A only. Both carry a generated document, `official_letter`. Replaying an
instance is for auditors and the center's operators: a role check before any lookup.

Each role works down the table in order, in a fresh database: reads first, then writes that
undo each other (claim then unclaim, suspend then resume), completions last. Writes are real:
a 2xx means the thing was done. 404 means "not visible to you" (API.md: never confirm what
one may not see); 403 means "visible, but not yours to do"; a role check that needs no
instance (start, deploy, the expert register, operating instances) is 403 for every id.
"""

import io
from dataclasses import dataclass

import pytest

from engine.models import Document
from tasks.experts import ExpertService
from webui.app import create_app
from webui.composition import PROCESSES_DIR

from .driver import APPLICATION, DEFAULTS, ENTERPRISES

HENGDA = ENTERPRISES[0]
ARCHIVING = (PROCESSES_DIR / "order_service_archiving.bpmn").read_bytes()
PASSWORD = "matrix-pw"

# Who each column is: (username, roles, enterprise or expert it acts for).
ROLES = {
    "anon": None,  # no token
    "owner": ("applicant", ["applicant"], None),  # the driver's applicant: it starts A
    "other": ("other", ["applicant"], None),  # another applicant: it starts B
    "staff": ("center_staff", ["center_staff"], None),
    "head": ("center_head", ["center_head"], None),
    "div": ("division_head", ["division_head"], None),
    "exp": ("expert", ["expert"], None),
    "ent": ("hengda", ["enterprise"], HENGDA),  # an enterprise user, for 恒达 only
    "po": ("process_owner", ["process_owner"], None),
    "audit": ("auditor", ["auditor"], None),
    "admin": ("admin", ["admin"], None),
}

MATRIX = """
HTTP PATH                              anon owner other staff head div exp ent po  audit admin
GET  /openapi.json                     200  200   200   200   200  200 200 200 200 200   200
POST /auth/token                       401  200   200   200   200  200 200 200 200 200   200
GET  /processes                        401  200   200   200   200  200 200 200 200 200   200
GET  /processes/order_service          401  200   200   200   200  200 200 200 200 200   200
GET  /processes/order_service/bpmn     401  200   200   200   200  200 200 200 200 200   200
GET  /processes/order_service/diff     401  200   200   200   200  200 200 200 200 200   200
GET  /forms/questionnaire              401  200   200   200   200  200 200 200 200 200   200
GET  /experts                          401  403   403   200   200  200 403 403 200 200   200
GET  /instances                        401  200   200   200   200  200 200 200 200 200   200
GET  /tasks                            401  200   200   200   200  200 200 200 200 200   200
GET  /instances/{A}                    401  200   404   200   200  200 404 200 200 200   200
GET  /instances/{B}                    401  404   200   200   200  200 404 404 200 200   200
GET  /instances/{A}/history            401  200   404   200   200  200 404 200 200 200   200
GET  /instances/{B}/history            401  404   200   200   200  200 404 404 200 200   200
GET  /instances/{A}/notices            401  200   404   200   200  200 404 200 200 200   200
GET  /instances/{B}/notices            401  404   200   200   200  200 404 404 200 200   200
GET  /instances/{A}/documents          401  200   404   200   200  200 404 200 200 200   200
GET  /instances/{B}/documents          401  404   200   200   200  200 404 404 200 200   200
GET  /instances/{A}/documents/{letter} 401  200   404   200   200  200 404 200 200 200   200
GET  /instances/{B}/documents/{letter} 401  404   200   200   200  200 404 404 200 200   200
GET  /instances/{A}/replay             401  403   403   200   200  403 403 403 403 200   200
GET  /instances/{B}/replay             401  403   403   200   200  403 403 403 403 200   200
GET  /instances/{A}/archive.zip        401  200   404   200   200  200 404 403 200 200   200
GET  /instances/{B}/archive.zip        401  404   200   200   200  200 404 404 200 200   200
GET  /files/{A_file}                   401  200   404   200   200  200 404 404 200 200   200
GET  /files/{B_file}                   401  404   200   200   200  200 404 404 200 200   200
GET  /tasks/{A_task}                   401  200   404   200   200  200 404 200 200 200   200
GET  /tasks/{B_task}                   401  404   200   200   200  200 404 404 200 200   200
POST /files                            401  201   201   201   201  201 201 201 201 403   201
POST /instances                        401  201   201   201   403  403 403 403 403 403   403
POST /processes/deploy                 401  403   403   403   403  403 403 403 200 403   403
POST /processes/check                  401  403   403   403   403  403 403 403 200 403   403
POST /experts                          401  403   403   201   201  403 403 403 403 403   201
PUT  /experts/{expert}                 401  403   403   200   200  403 403 403 403 403   200
POST /test/clock                       401  403   403   403   403  403 403 403 403 403   200
POST /instances/{A}/retry              401  403   403   409   409  403 403 403 403 403   409
POST /instances/{B}/retry              401  403   403   409   409  403 403 403 403 403   409
POST /instances/{A}/suspend            401  403   403   200   200  403 403 403 403 403   200
POST /instances/{A}/resume             401  403   403   200   200  403 403 403 403 403   200
POST /instances/{B}/suspend            401  403   403   200   200  403 403 403 403 403   200
POST /instances/{B}/resume             401  403   403   200   200  403 403 403 403 403   200
POST /tasks/{A_task}/claim             401  403   404   200   403  403 404 200 403 403   403
POST /tasks/{A_task}/unclaim           401  403   404   200   403  403 404 200 403 403   403
POST /tasks/{B_task}/claim             401  404   403   200   403  403 404 404 403 403   403
POST /tasks/{B_task}/unclaim           401  404   403   200   403  403 404 404 403 403   403
POST /tasks/{A_task}/complete          401  403   404   200   403  403 404 200 403 403   403
POST /tasks/{B_task}/complete          401  404   403   200   403  403 404 404 403 403   403
"""

# Which of A, B and their tasks each role finds in the lists (GET /instances, GET /tasks).
LISTED = """
LIST      anon owner other staff head div exp ent po audit admin
instances -    A     B     AB    AB   AB  -   A   AB AB    AB
tasks     -    -     -     AB    -    -   -   A   -  -     -
"""


def parse(table: str) -> tuple[list[str], list[list[str]]]:
    header, *rows = [line.split() for line in table.strip().splitlines()]
    return header, rows


HEADER, ROWS = parse(MATRIX)
COLUMNS = HEADER[2:]
assert list(ROLES) == COLUMNS, "the table's columns are the roles, in order"
# role → [(method, path, status)], in the table's order
EXPECTED = {
    role: [(row[0], row[1], int(row[2 + i])) for row in ROWS] for i, role in enumerate(COLUMNS)
}
LIST_HEADER, LIST_ROWS = parse(LISTED)
EXPECTED_LISTS = {
    role: {row[0]: set(row[1 + i].replace("-", "")) for row in LIST_ROWS}
    for i, role in enumerate(LIST_HEADER[1:])
}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def test_the_table_is_well_formed():
    assert all(len(row) == len(HEADER) for row in ROWS), "a row has a cell too many or few"
    assert len({(row[0], row[1]) for row in ROWS}) == len(ROWS), "a row is there twice"
    assert LIST_HEADER[1:] == COLUMNS


def test_the_auditor_never_gets_a_2xx_on_a_write():
    writes = [(m, p, s) for m, p, s in EXPECTED["audit"] if m in WRITES]
    assert len(writes) > 15
    for method, path, status in writes:
        if path == "/auth/token":
            continue  # signing in changes nothing
        assert not 200 <= status < 300, (method, path)


@dataclass
class World:
    ids: dict[str, str]  # placeholder → id: A, B, A_task, B_task, A_file, B_file, expert, letter
    now: str


@pytest.fixture
def app(system, monkeypatch):
    monkeypatch.setenv("DINGDAN_TEST_CLOCK", "1")  # its route is one of the API's too
    monkeypatch.delenv("DINGDAN_BEHIND_PROXY", raising=False)
    return create_app(system, {"SECRET_KEY": "matrix"})


@pytest.fixture
def world(system, driver, clock) -> World:
    driver.start()  # A, by the driver's `applicant`: our `owner`
    driver.complete("review_application")
    driver.complete("plan_survey")
    a = driver.instance()
    other = system.tasks.add_user("other", ["applicant"])
    licence = system.tasks.store_file(other, "执照.pdf", "application/pdf", b"%PDF-1.4 B")
    b = system.tasks.start(
        other,
        "order_service",
        dict(APPLICATION, unit_name="保定市中小企业局", qualification_documents=[licence.id]),
    )
    with system.engine.unit_of_work() as uow:
        for instance_id in (a.id, b.id):
            uow.session.add(
                Document(
                    instance_id=instance_id,
                    name="official_letter",
                    title="公函",
                    content_type="text/html; charset=utf-8",
                    body="<!doctype html><title>公函</title><p>公函</p>",
                    created_at=uow.now,
                    created_by="center_staff",
                )
            )
    [b_task] = [
        t
        for t in system.tasks.inbox(driver.actors["center_staff"], scope="group")
        if t.instance_id == b.id
    ]
    expert = ExpertService(system.engine).add(
        driver.actors["center_staff"],
        {
            "name": "张教授",
            "organisation": "河北经贸大学",
            "specialty": "企业融资",
            "qualification": "教授",
        },
    )
    return World(
        ids={
            "A": a.id,
            "B": b.id,
            "A_task": driver.task("fill_questionnaire", HENGDA).id,
            "B_task": b_task.id,
            "A_file": a.data["application"]["qualification_documents"][0],
            "B_file": licence.id,
            "expert": str(expert.id),
            "letter": "official_letter",
        },
        now=clock.now().isoformat(),
    )


def request_for(method, path, role, world, uploaded) -> dict:
    """The body each row sends: real, valid data, so that an allowed write is done."""
    if path == "/auth/token":
        username = ROLES[role][0] if ROLES[role] else "nobody"
        return {"json": {"username": username, "password": PASSWORD}}
    if path == "/files":
        return {"data": {"file": (io.BytesIO(b"%PDF-1.4 mine"), "营业执照.pdf", "application/pdf")}}
    if (method, path) == ("POST", "/instances"):
        data = dict(APPLICATION, qualification_documents=[uploaded or "none"])
        return {"json": {"process": "order_service", "data": data}}
    if path in ("/processes/deploy", "/processes/check"):
        return {
            "query_string": {"filename": "order_service_archiving.bpmn"},
            "data": ARCHIVING,  # identical to the deployed version: 200, nothing new
            "content_type": "application/xml",
        }
    if path == "/experts":
        expert = {
            "name": "刘律师",
            "organisation": "正和律所",
            "specialty": "法务",
            "qualification": "律师",
        }
        return {"json": expert}
    if path.startswith("/experts/"):
        return {"json": {"phone": "0311-88000002"}}
    if path == "/test/clock":
        return {"json": {"now": world.now}}
    if path.endswith("/retry"):
        return {"json": {}}
    if path.endswith("/complete"):
        element = "fill_questionnaire" if "{A_task}" in path else "review_application"
        return {"json": {"data": DEFAULTS[element]}}
    return {}


def headers_for(client, system, role) -> dict:
    if ROLES[role] is None:
        return {}
    username, roles, subject = ROLES[role]
    system.tasks.add_user(username, roles, password=PASSWORD, subject_name=subject)
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


def test_every_api_route_is_in_the_table(app, world):
    served = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    adapter = app.url_map.bind("localhost")
    covered, scoped = set(), {}
    for method, path, *_ in ROWS:
        concrete = "/api/v1" + path.format(**world.ids)
        endpoint, arguments = adapter.match(concrete, method)
        covered.add((endpoint, method))
        if {"instance_id", "task_id", "file_id"} & set(arguments):
            scoped.setdefault((endpoint, method), set()).add("{A" in path)
    assert served == covered, "add a row for each new route; drop the rows of a removed one"
    assert all(sides == {True, False} for sides in scoped.values()), scoped  # own and other's


@pytest.mark.parametrize("role", COLUMNS)
def test_each_role_lists_and_gets_what_the_tables_give(app, system, world, role):
    client = app.test_client()
    headers = headers_for(client, system, role)
    if role != "anon":
        assert_lists(client, headers, world, role)

    uploaded = None
    actual = []
    for method, path, _ in EXPECTED[role]:
        kwargs = request_for(method, path, role, world, uploaded)
        response = client.open(
            "/api/v1" + path.format(**world.ids), method=method, headers=headers, **kwargs
        )
        actual.append((method, path, response.status_code))
        body = response.get_json(silent=True)
        if response.status_code >= 400:  # an error says nothing of what it guards
            assert isinstance(body, dict) and set(body) == {"error"}, (path, body)
        if (method, path) == ("POST", "/files") and response.status_code == 201:
            uploaded = body["id"]
    mismatches = [
        f"{m} {p}: expected {want}, got {got}"
        for (m, p, want), (_, _, got) in zip(EXPECTED[role], actual, strict=True)
        if want != got
    ]
    assert not mismatches, f"{role}:\n" + "\n".join(mismatches)


def assert_lists(client, headers, world, role):
    labels = {world.ids[k]: k.removesuffix("_task") for k in ("A", "B", "A_task", "B_task")}
    instances = client.get("/api/v1/instances", headers=headers).get_json()
    tasks = client.get("/api/v1/tasks?scope=all", headers=headers).get_json()
    listed = {
        "instances": {labels[i["id"]] for i in instances if i["id"] in labels},
        "tasks": {labels[t["id"]] for t in tasks if t["id"] in labels},
    }
    assert listed == EXPECTED_LISTS[role], role
    if role in ("owner", "other"):  # an applicant sees nothing at all of another's
        assert {i["started_by"] for i in instances} == {ROLES[role][0]}
