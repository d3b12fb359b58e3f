"""Every error status of API.md, provoked through HTTP, each in the one error shape of the
contract — `{"error": {"code", "message", ...}}` — and never with a stack trace."""

import io

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from engine.models import StoredFile
from webui.app import create_app
from webui.composition import PROCESSES_DIR

from .api_client import sign_in
from .driver import APPLICATION, DEFAULTS

MAIN = (PROCESSES_DIR / "order_service.bpmn").read_text(encoding="utf-8")
ARCHIVING = (PROCESSES_DIR / "order_service_archiving.bpmn").read_bytes()
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def assert_error(response, status, code=None):
    """The response is `status` in API.md's error shape; returns its `error` object."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert "Traceback" not in text and 'File "' not in text, text
    assert response.mimetype == "application/json", text
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, text
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], text
    assert isinstance(error.get("message"), str) and error["message"], text
    assert set(error) <= {"code", "message", "fields", "details"}, text
    if "fields" in error:
        assert isinstance(error["fields"], dict), text
        assert all(isinstance(v, str) for v in error["fields"].values()), text
    if code is not None:
        assert error["code"] == code, text
    if status == 401:
        assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")
    return error


def large_upload(content: bytes, filename: str) -> dict:
    """A multipart body built in memory: the test client spools a large one to a temporary
    file that it never closes (a ResourceWarning, an error under filterwarnings)."""
    upload = FileStorage(io.BytesIO(content), filename, content_type="application/octet-stream")
    boundary, body = encode_multipart({"file": upload})
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


@pytest.fixture
def app(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    return create_app(system)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def started(driver):
    """An application submitted by `applicant`, waiting for the center's review."""
    driver.start()
    return driver


# -- 400 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/api/v1/instances", b'{"process": "order_service", ', "body"),
        ("post", "/api/v1/instances", b"\xff\xfe not utf-8", "body"),
        ("post", "/api/v1/instances", b'["order_service"]', "body"),
        ("post", "/api/v1/instances", b'"order_service"', "body"),
        ("post", "/api/v1/instances", b'{"process": "order_service", "colour": "red"}', "colour"),
        ("post", "/api/v1/instances", b'{"data": {}}', "process"),
        ("post", "/api/v1/instances", b'{"process": 7}', "process"),
        ("post", f"/api/v1/tasks/{UNKNOWN}/complete", b'{"data": {}, "extra": 1}', "extra"),
        ("post", "/api/v1/auth/token", b'{"username": "x"}', "password"),
        ("get", "/api/v1/tasks?scope=everyone", None, "scope"),
        ("get", "/api/v1/tasks?overdue=maybe", None, "overdue"),
        ("get", "/api/v1/instances?status=sleeping", None, "status"),
        ("get", "/api/v1/processes/order_service/bpmn?version=two", None, "version"),
        ("get", "/api/v1/processes/order_service/bpmn?version=1.5", None, "version"),
    ],
    ids=[
        "malformed-json",
        "not-utf8",
        "array-body",
        "string-body",
        "unknown-top-level-field",
        "missing-process",
        "process-not-a-string",
        "unknown-field-on-complete",
        "missing-password",
        "bad-scope",
        "bad-overdue",
        "bad-status",
        "non-integer-version",
        "fractional-version",
    ],
)
def test_a_request_the_server_cannot_read_is_400_naming_the_field(
    client, system, method, path, body, field
):
    headers = sign_in(client, system, "center_staff", ["center_staff"])
    if path.startswith("/api/v1/auth/"):
        headers = {}
    response = getattr(client, method)(
        path, data=body, headers=headers, content_type="application/json"
    )
    error = assert_error(response, 400, "bad_request")
    assert field in error["fields"], error


def test_an_unknown_field_is_named_in_the_message_and_in_fields(client, system):
    headers = sign_in(client, system, "applicant", ["applicant"])
    response = client.post(
        "/api/v1/instances",
        headers=headers,
        json={"process": "order_service", "data": APPLICATION, "priority": "high"},
    )
    error = assert_error(response, 400, "bad_request")
    assert error["fields"] == {"priority": "unknown field"}
    assert "priority" in error["message"]


# -- 401 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Basic YXBwbGljYW50OnB3", "Token abc", "Bearer", "Bearer   ", "Bearer not-a-token"],
    ids=["no-header", "empty", "basic", "other-scheme", "no-token", "blank-token", "unknown"],
)
def test_a_request_without_a_valid_bearer_token_is_401(client, system, authorization):
    sign_in(client, system, "applicant", ["applicant"])  # a real token exists, unsent
    headers = {} if authorization is None else {"Authorization": authorization}
    for path in ("/api/v1/instances", "/api/v1/processes", "/api/v1/tasks"):
        assert_error(client.get(path, headers=headers), 401, "unauthorized")
    assert_error(
        client.post("/api/v1/instances", headers=headers, json={"process": "order_service"}),
        401,
        "unauthorized",
    )


@pytest.mark.parametrize(
    ("username", "password"),
    [("applicant", "wrong"), ("applicant", ""), ("nobody", "pw"), ("", "")],
    ids=["bad-password", "empty-password", "unknown-user", "empty-both"],
)
def test_bad_credentials_at_the_token_endpoint_are_401(client, system, username, password):
    system.tasks.add_user("applicant", ["applicant"], password="pw")
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    error = assert_error(response, 401, "unauthorized")
    assert "token" not in error


def test_a_user_without_a_password_cannot_get_a_token(client, system):
    system.tasks.add_user("nopassword", ["applicant"])
    response = client.post("/api/v1/auth/token", json={"username": "nopassword", "password": ""})
    assert_error(response, 401, "unauthorized")


# -- 403 ----------------------------------------------------------------------------------


def test_an_applicant_completing_a_center_staff_task_is_403(client, system, started):
    headers = sign_in(client, system, "applicant", ["applicant"])
    task = started.task("review_application")
    response = client.post(
        f"/api/v1/tasks/{task.id}/complete",
        headers=headers,
        json={"data": DEFAULTS["review_application"]},
    )
    assert_error(response, 403, "forbidden")
    assert_error(client.post(f"/api/v1/tasks/{task.id}/claim", headers=headers), 403)
    assert started.task("review_application").state == "open"


def test_center_staff_may_not_deploy(client, system):
    headers = sign_in(client, system, "center_staff", ["center_staff"])
    response = client.post(
        "/api/v1/processes/deploy?filename=order_service_archiving.bpmn",
        headers=headers,
        data=ARCHIVING.replace(b"</bpmn:definitions>", b"<!-- v2 --></bpmn:definitions>"),
        content_type="application/xml",
    )
    assert_error(response, 403, "forbidden")
    versions = client.get("/api/v1/processes/order_service_archiving", headers=headers)
    assert [v["version"] for v in versions.get_json()["versions"]] == [1]


def test_an_auditor_may_not_start_an_instance(client, system):
    headers = sign_in(client, system, "auditor", ["auditor"])
    response = client.post(
        "/api/v1/instances", headers=headers, json={"process": "order_service", "data": {}}
    )
    assert_error(response, 403, "forbidden")


def test_only_admin_moves_the_test_clock(system, clock, monkeypatch):
    monkeypatch.setenv("DINGDAN_TEST_CLOCK", "1")
    client = create_app(system).test_client()
    before = clock.now()
    for role in ("center_staff", "center_head", "auditor", "process_owner"):
        headers = sign_in(client, system, role, [role])
        response = client.post(
            "/api/v1/test/clock", headers=headers, json={"now": "2026-12-01T09:00:00+08:00"}
        )
        assert_error(response, 403, "forbidden")
    assert clock.now() == before

    admin = sign_in(client, system, "admin", ["admin"])
    for body, field in [
        ({"now": "next tuesday"}, "now"),
        ({"now": "2026-12-01T09:00:00"}, "now"),
        ({"now": 5}, "now"),
        ({}, "now"),
    ]:
        error = assert_error(
            client.post("/api/v1/test/clock", headers=admin, json=body), 400, "bad_request"
        )
        assert field in error["fields"]
    assert clock.now() == before
    moved = client.post(
        "/api/v1/test/clock", headers=admin, json={"now": "2026-12-01T09:00:00+08:00"}
    )
    assert moved.status_code == 200, moved.get_data(as_text=True)
    assert moved.get_json()["now"] == "2026-12-01T09:00:00+08:00"


def test_the_test_clock_route_does_not_exist_without_the_variable(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    client = create_app(system).test_client()
    admin = sign_in(client, system, "admin", ["admin"])
    for headers in (admin, {}):
        response = client.post(
            "/api/v1/test/clock", headers=headers, json={"now": "2026-12-01T09:00:00+08:00"}
        )
        assert_error(response, 404, "not_found")


def test_the_test_clock_route_does_not_exist_when_the_variable_is_not_1(system, monkeypatch):
    monkeypatch.setenv("DINGDAN_TEST_CLOCK", "true")
    client = create_app(system).test_client()
    admin = sign_in(client, system, "admin", ["admin"])
    response = client.post(
        "/api/v1/test/clock", headers=admin, json={"now": "2026-12-01T09:00:00+08:00"}
    )
    assert_error(response, 404, "not_found")


# -- 404 ----------------------------------------------------------------------------------


def test_unknown_ids_are_404(client, system, started):
    headers = sign_in(client, system, "center_staff", ["center_staff"])
    real = started.instance_id
    for method, path in [
        ("get", f"/api/v1/instances/{UNKNOWN}"),
        ("get", f"/api/v1/instances/{UNKNOWN}/history"),
        ("get", f"/api/v1/instances/{UNKNOWN}/notices"),
        ("get", f"/api/v1/instances/{UNKNOWN}/documents"),
        ("get", f"/api/v1/instances/{UNKNOWN}/documents/official_letter"),
        ("get", f"/api/v1/instances/{real}/documents/no_such_document"),
        ("get", "/api/v1/instances/not-even-a-uuid"),
        ("get", f"/api/v1/tasks/{UNKNOWN}"),
        ("post", f"/api/v1/tasks/{UNKNOWN}/claim"),
        ("post", f"/api/v1/tasks/{UNKNOWN}/unclaim"),
        ("post", f"/api/v1/tasks/{UNKNOWN}/complete"),
        ("get", "/api/v1/forms/no_such_form"),
        ("get", "/api/v1/processes/no_such_process"),
        ("get", "/api/v1/processes/no_such_process/bpmn"),
        ("get", "/api/v1/processes/order_service/bpmn?version=99"),
        ("get", f"/api/v1/files/{UNKNOWN}"),
    ]:
        kwargs = {"json": {}} if method == "post" else {}
        response = getattr(client, method)(path, headers=headers, **kwargs)
        assert_error(response, 404, "not_found")


def test_starting_an_undeployed_process_is_404(client, system):
    headers = sign_in(client, system, "applicant", ["applicant"])
    response = client.post(
        "/api/v1/instances", headers=headers, json={"process": "no_such", "data": APPLICATION}
    )
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "anonymous"])
def test_an_unknown_api_route_is_404_in_the_error_shape(client, system, signed_in):
    headers = sign_in(client, system, "applicant", ["applicant"]) if signed_in else {}
    for path in ("/api/v1/nope", "/api/v1/instances/x/y/z", "/api/v2/instances", "/api/v1/"):
        assert_error(client.get(path, headers=headers), 404, "not_found")
    assert_error(client.post("/api/v1/nope", headers=headers, json={}), 404, "not_found")


def test_a_wrong_method_is_405_in_the_error_shape(client, system, started):
    headers = sign_in(client, system, "applicant", ["applicant"])
    response = client.delete(f"/api/v1/instances/{started.instance_id}", headers=headers)
    assert_error(response, 405, "method_not_allowed")
    assert_error(client.get("/api/v1/auth/token"), 405)


def test_another_applicants_instance_is_404_not_403(client, system, started):
    owner = sign_in(client, system, "applicant", ["applicant"])
    other = sign_in(client, system, "other_applicant", ["applicant"])
    instance_id = started.instance_id
    assert client.get(f"/api/v1/instances/{instance_id}", headers=owner).status_code == 200
    file_id = started.instance().data["application"]["qualification_documents"][0]
    assert client.get(f"/api/v1/files/{file_id}", headers=owner).status_code == 200
    for path in (
        f"/api/v1/instances/{instance_id}",
        f"/api/v1/instances/{instance_id}/history",
        f"/api/v1/instances/{instance_id}/notices",
        f"/api/v1/instances/{instance_id}/documents",
        f"/api/v1/files/{file_id}",
    ):
        hidden = assert_error(client.get(path, headers=other), 404, "not_found")
        # Indistinguishable from an id that does not exist at all.
        unknown_path = path.replace(instance_id, UNKNOWN).replace(file_id, UNKNOWN)
        missing = assert_error(client.get(unknown_path, headers=other), 404, "not_found")
        shown = hidden["message"].replace(instance_id, UNKNOWN).replace(file_id, UNKNOWN)
        assert shown == missing["message"]
    listed = client.get("/api/v1/instances", headers=other)
    assert listed.status_code == 200 and listed.get_json() == []


def test_a_file_uploaded_by_someone_else_and_not_yet_attached_is_404(client, system):
    owner = sign_in(client, system, "applicant", ["applicant"])
    other = sign_in(client, system, "other_applicant", ["applicant"])
    uploaded = client.post(
        "/api/v1/files", headers=owner, data={"file": (io.BytesIO(b"%PDF-1.4"), "a.pdf")}
    )
    assert uploaded.status_code == 201
    file_id = uploaded.get_json()["id"]
    assert_error(client.get(f"/api/v1/files/{file_id}", headers=other), 404, "not_found")


# -- 409 ----------------------------------------------------------------------------------


def test_completing_an_already_completed_task_is_409(client, system, started):
    headers = sign_in(client, system, "center_staff", ["center_staff"])
    task = started.task("review_application")
    body = {"data": DEFAULTS["review_application"]}
    first = client.post(f"/api/v1/tasks/{task.id}/complete", headers=headers, json=body)
    assert first.status_code == 200, first.get_data(as_text=True)
    events = len(started.events())
    again = client.post(f"/api/v1/tasks/{task.id}/complete", headers=headers, json=body)
    assert_error(again, 409, "conflict")
    assert_error(client.post(f"/api/v1/tasks/{task.id}/claim", headers=headers), 409)
    assert len(started.events()) == events


def test_claiming_a_task_claimed_by_someone_else_is_409(client, system, started):
    wang = sign_in(client, system, "wang", ["center_staff"])
    li = sign_in(client, system, "li", ["center_staff"])
    task = started.task("review_application")
    claimed = client.post(f"/api/v1/tasks/{task.id}/claim", headers=wang)
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "wang"
    again = client.post(f"/api/v1/tasks/{task.id}/claim", headers=wang)
    assert again.status_code == 200  # claiming one's own task again is harmless

    assert_error(client.post(f"/api/v1/tasks/{task.id}/claim", headers=li), 409, "conflict")
    assert_error(client.post(f"/api/v1/tasks/{task.id}/unclaim", headers=li), 409, "conflict")
    response = client.post(
        f"/api/v1/tasks/{task.id}/complete",
        headers=li,
        json={"data": DEFAULTS["review_application"]},
    )
    assert_error(response, 409, "conflict")
    assert started.task("review_application").assignee == "wang"


# -- 413 ----------------------------------------------------------------------------------


def test_an_upload_over_the_file_limit_is_413(system):
    system.max_file_bytes = 1000
    client = create_app(system).test_client()
    headers = sign_in(client, system, "applicant", ["applicant"])
    fits = client.post(
        "/api/v1/files", headers=headers, data={"file": (io.BytesIO(b"x" * 1000), "fits.pdf")}
    )
    assert fits.status_code == 201 and fits.get_json()["size"] == 1000
    response = client.post(
        "/api/v1/files", headers=headers, data={"file": (io.BytesIO(b"x" * 1001), "big.pdf")}
    )
    error = assert_error(response, 413, "too_large")
    assert error["fields"] == {"file": "too large"}


def test_a_request_over_max_content_length_is_413(app, client, system):
    headers = sign_in(client, system, "applicant", ["applicant"])
    limit = app.config["MAX_CONTENT_LENGTH"]
    too_big = b" " * (limit + 1)
    response = client.post("/api/v1/files", headers=headers, **large_upload(too_big, "huge.pdf"))
    assert_error(response, 413, "too_large")
    response = client.post(
        "/api/v1/instances", headers=headers, data=too_big, content_type="application/json"
    )
    assert_error(response, 413, "too_large")


def test_a_multipart_diagram_over_the_bpmn_limit_is_413(client, system):
    headers = sign_in(client, system, "process_owner", ["process_owner"])
    padded = ARCHIVING.replace(
        b"</bpmn:definitions>", b"<!--" + b"x" * (5 * 1024 * 1024) + b"--></bpmn:definitions>"
    )
    response = client.post(
        "/api/v1/processes/deploy",
        headers=headers,
        **large_upload(padded, "order_service_archiving.bpmn"),
    )
    assert_error(response, 413, "too_large")


def test_an_xml_body_diagram_over_the_bpmn_limit_is_413(client, system):
    headers = sign_in(client, system, "process_owner", ["process_owner"])
    padded = ARCHIVING.replace(
        b"</bpmn:definitions>", b"<!--" + b"x" * (5 * 1024 * 1024) + b"--></bpmn:definitions>"
    )
    response = client.post(
        "/api/v1/processes/deploy?filename=order_service_archiving.bpmn",
        headers=headers,
        data=padded,
        content_type="application/xml",
    )
    assert_error(response, 413, "too_large")


# -- 422 ----------------------------------------------------------------------------------


def test_a_start_form_error_is_422_with_per_field_messages(client, system):
    headers = sign_in(client, system, "applicant", ["applicant"])
    data = {k: v for k, v in APPLICATION.items() if k != "contact_person"}
    data["expected_enterprises"] = "three"
    response = client.post(
        "/api/v1/instances", headers=headers, json={"process": "order_service", "data": data}
    )
    error = assert_error(response, 422, "invalid_data")
    assert {"contact_person", "expected_enterprises", "qualification_documents"} <= set(
        error["fields"]
    ), error
    assert client.get("/api/v1/instances", headers=headers).get_json() == []


def test_a_file_id_of_someone_else_is_a_field_error(client, system):
    owner = sign_in(client, system, "applicant", ["applicant"])
    other = sign_in(client, system, "other_applicant", ["applicant"])
    uploaded = client.post(
        "/api/v1/files", headers=owner, data={"file": (io.BytesIO(b"%PDF-1.4"), "a.pdf")}
    )
    data = dict(APPLICATION, qualification_documents=[uploaded.get_json()["id"], UNKNOWN])
    response = client.post(
        "/api/v1/instances", headers=other, json={"process": "order_service", "data": data}
    )
    error = assert_error(response, 422, "invalid_data")
    assert set(error["fields"]) == {"qualification_documents.0", "qualification_documents.1"}


def test_a_task_form_error_is_422_with_per_field_messages(client, system, started):
    headers = sign_in(client, system, "center_staff", ["center_staff"])
    task = started.task("review_application")
    for data, field in [({"decision": "maybe"}, "decision"), ({}, "decision")]:
        response = client.post(
            f"/api/v1/tasks/{task.id}/complete", headers=headers, json={"data": data}
        )
        error = assert_error(response, 422, "invalid_data")
        assert field in error["fields"], error


def test_a_failed_completion_leaves_the_instance_unchanged(client, system, started):
    staff = sign_in(client, system, "center_staff", ["center_staff"])
    applicant = sign_in(client, system, "applicant", ["applicant"])
    task = started.task("review_application")
    path = f"/api/v1/instances/{started.instance_id}"
    before = client.get(path, headers=staff).get_json()
    history = client.get(f"{path}/history", headers=staff).get_json()

    attempts = [
        (staff, {"data": {"decision": "maybe"}}, 422),
        (staff, {"data": {"decision": "reject"}}, 422),  # a rejection needs its reason
        (staff, {"data": {"decision": "accept", "surprise": 1}}, 422),
        (staff, {"data": {"decision": "accept"}, "extra": 1}, 400),
        (applicant, {"data": {"decision": "accept"}}, 403),
    ]
    for headers, body, status in attempts:
        response = client.post(f"/api/v1/tasks/{task.id}/complete", headers=headers, json=body)
        assert_error(response, status)
        assert client.get(path, headers=staff).get_json() == before
        assert client.get(f"{path}/history", headers=staff).get_json() == history
    assert started.task("review_application").state == "open"


def test_a_missing_called_process_is_422_naming_the_call_activity(client, system):
    headers = sign_in(client, system, "process_owner", ["process_owner"])
    broken = MAIN.replace('calledElement="order_service_survey"', 'calledElement="no_such"')
    response = client.post(
        "/api/v1/processes/deploy?filename=order_service.bpmn",
        headers=headers,
        data=broken.encode(),
        content_type="application/xml",
    )
    error = assert_error(response, 422, "invalid_bpmn")
    [detail] = error["details"]
    assert detail["element"] == "call_survey"
    assert "no_such" in detail["message"]
    versions = client.get("/api/v1/processes/order_service", headers=headers).get_json()
    assert [v["version"] for v in versions["versions"]] == [1]


@pytest.mark.parametrize("multipart", [False, True], ids=["xml-body", "multipart"])
def test_a_doctype_is_refused_with_422_and_nothing_deployed(client, system, multipart):
    headers = sign_in(client, system, "process_owner", ["process_owner"])
    hostile = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="xxe_process" name="&xxe;" isExecutable="true"/></bpmn:definitions>"""
    if multipart:
        response = client.post(
            "/api/v1/processes/deploy",
            headers=headers,
            data={"file": (io.BytesIO(hostile), "xxe.bpmn")},
        )
    else:
        response = client.post(
            "/api/v1/processes/deploy?filename=xxe.bpmn",
            headers=headers,
            data=hostile,
            content_type="application/xml",
        )
    error = assert_error(response, 422, "invalid_bpmn")
    assert "DOCTYPE" in error["message"]
    assert error["details"] and error["details"][0]["file"] == "xxe.bpmn"
    assert "root:" not in response.get_data(as_text=True)  # /etc/passwd never read
    assert_error(client.get("/api/v1/processes/xxe_process", headers=headers), 404)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"", "application/xml"), (b"not xml at all", "application/xml"), (b"<x/>", "text/plain")],
    ids=["empty", "not-xml", "wrong-content-type"],
)
def test_a_deploy_that_is_not_bpmn_is_a_client_error(client, system, content, content_type):
    headers = sign_in(client, system, "process_owner", ["process_owner"])
    response = client.post(
        "/api/v1/processes/deploy", headers=headers, data=content, content_type=content_type
    )
    assert_error(response, 400 if content_type == "text/plain" else 422)


# -- never a 500 for bad input ------------------------------------------------------------


NUL_REQUESTS = [
    ("get", "/api/v1/instances/a%00b"),
    ("get", "/api/v1/instances/a%00b/history"),
    ("get", "/api/v1/tasks/a%00b"),
    ("post", "/api/v1/tasks/a%00b/complete"),
    ("get", "/api/v1/files/a%00b"),
    ("get", "/api/v1/processes/a%00b"),
    ("get", "/api/v1/instances?q=a%00b"),
    ("get", "/api/v1/instances?process=a%00b"),
    ("get", "/api/v1/tasks?scope=group&process=a%00b"),
]


@pytest.mark.parametrize(("method", "path"), NUL_REQUESTS)
def test_a_nul_character_in_an_id_or_filter_is_not_a_500(
    client, system, database_url, request, method, path
):
    headers = sign_in(client, system, "center_staff", ["center_staff"])
    response = getattr(client, method)(path, headers=headers, json={} if method == "post" else None)
    # A NUL can reach no database: refused as a malformed request.
    assert_error(response, 400, "bad_request")


def test_a_nul_character_in_a_username_is_not_a_500(client, system):
    response = client.post("/api/v1/auth/token", json={"username": "a\x00b", "password": "pw"})
    assert_error(response, 400, "bad_request")
    assert response.get_json()["error"]["fields"] == {"username": "NUL"}


def test_a_nul_character_in_form_text_is_not_a_500(client, system, started, database_url, request):
    headers = sign_in(client, system, "center_staff", ["center_staff"])
    task = started.task("review_application")
    response = client.post(
        f"/api/v1/tasks/{task.id}/complete",
        headers=headers,
        json={"data": {"decision": "reject", "reason": "材料不全\x00"}},
    )
    assert_error(response, 400, "bad_request")
    assert response.get_json()["error"]["fields"] == {"data.reason": "NUL"}


@pytest.mark.parametrize(
    ("body", "field", "why"),
    [
        (
            '{"data": {"decision": "reject", "reason": "\\ud800abc"}}',
            "data.reason",
            "lone surrogate",
        ),
        ('{"data": {"decision": "reject", "\\udfff": "x"}}', "data", "lone surrogate"),
        (
            '{"data": {"decision": "reject", "reason": "x", "n": NaN}}',
            "data.n",
            "not a finite number",
        ),
        (
            '{"data": {"decision": "reject", "reason": "x", "n": [-Infinity]}}',
            "data.n.0",
            "not a finite number",
        ),
    ],
)
def test_text_no_utf8_encodes_and_non_finite_numbers_are_400_and_change_nothing(
    client, system, started, body, field, why
):
    """A lone surrogate reached the audit hash (UTF-8) and answered 500; NaN reached JSON
    columns that no JSON reader takes back."""
    headers = sign_in(client, system, "center_staff", ["center_staff"])
    task = started.task("review_application")
    before = client.get(f"/api/v1/instances/{task.instance_id}/history", headers=headers)
    response = client.post(
        f"/api/v1/tasks/{task.id}/complete",
        headers=headers,
        data=body,
        content_type="application/json",
    )
    assert_error(response, 400, "bad_request")
    assert response.get_json()["error"]["fields"] == {field: why}
    after = client.get(f"/api/v1/instances/{task.instance_id}/history", headers=headers)
    assert after.get_json() == before.get_json()
    assert client.get(f"/api/v1/tasks/{task.id}", headers=headers).get_json()["state"] == "open"


def test_a_deeply_nested_json_body_is_400(client, system):
    headers = sign_in(client, system, "applicant", ["applicant"])
    response = client.post(
        "/api/v1/instances", headers=headers, data="[" * 100_000, content_type="application/json"
    )
    assert_error(response, 400, "bad_request")


def test_an_out_of_range_version_is_not_a_500(client, system):
    headers = sign_in(client, system, "applicant", ["applicant"])
    response = client.get(
        "/api/v1/processes/order_service/bpmn?version=99999999999999999999", headers=headers
    )
    assert response.status_code in (400, 404), response.get_data(as_text=True)
    assert_error(response, response.status_code)


def test_a_405_names_the_methods_the_path_takes(client, system):
    headers = sign_in(client, system, "applicant", ["applicant"])
    response = client.delete("/api/v1/instances", headers=headers)
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_a_json_body_past_a_mebibyte_is_413_before_it_is_read(client, system):
    """A 25 MB body was parsed whole and answered 422 for its fields."""
    headers = sign_in(client, system, "applicant", ["applicant"])
    topics = ["management"] * 200_000  # 2.6 MB of JSON
    body = {"process": "order_service", "data": {"topics": topics}}
    response = client.post("/api/v1/instances", headers=headers, json=body)
    assert_error(response, 413, "too_large")
    assert response.get_json()["error"]["fields"] == {"body": "too large"}


def test_two_files_in_one_upload_are_400_and_neither_is_kept(client, system):
    """Only the first was stored and the second dropped, unseen by the client."""
    headers = sign_in(client, system, "applicant", ["applicant"])
    response = client.post(
        "/api/v1/files",
        headers=headers,
        data={"file": [(io.BytesIO(b"one"), "a.txt"), (io.BytesIO(b"two"), "b.txt")]},
        content_type="multipart/form-data",
    )
    assert_error(response, 400, "bad_request")
    assert response.get_json()["error"]["fields"] == {"file": "more than one file"}
    with system.engine.unit_of_work(read_only=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(StoredFile)) == 0
