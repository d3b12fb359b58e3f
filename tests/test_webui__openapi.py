"""The OpenAPI document at /api/v1/openapi.json, held against the routes the app serves.

`openapi-spec-validator` is not installed, so the structure is checked here by hand."""

import io
import re

import pytest

from webui.app import create_app

from .api_client import sign_in

METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
PUBLIC = {("/api/v1/auth/token", "post"), ("/api/v1/openapi.json", "get")}

# API.md's table of endpoints, as (method, path) with the prefix.
API_MD = {
    ("post", "/api/v1/auth/token"),
    ("get", "/api/v1/processes"),
    ("get", "/api/v1/processes/{key}"),
    ("get", "/api/v1/processes/{key}/bpmn"),
    ("post", "/api/v1/processes/deploy"),
    ("post", "/api/v1/instances"),
    ("get", "/api/v1/instances"),
    ("get", "/api/v1/instances/{id}"),
    ("get", "/api/v1/instances/{id}/history"),
    ("get", "/api/v1/instances/{id}/replay"),
    ("get", "/api/v1/instances/{id}/documents"),
    ("get", "/api/v1/instances/{id}/documents/{name}"),
    ("get", "/api/v1/tasks"),
    ("get", "/api/v1/tasks/{id}"),
    ("post", "/api/v1/tasks/{id}/claim"),
    ("post", "/api/v1/tasks/{id}/unclaim"),
    ("post", "/api/v1/tasks/{id}/complete"),
    ("get", "/api/v1/forms/{key}"),
    ("post", "/api/v1/files"),
    ("get", "/api/v1/files/{id}"),
}

# The error statuses API.md gives each operation (beyond 401 for every signed-in one,
# 404 for every one with an id in its path and 400 for every one with a JSON body).
CONTRACT_ERRORS = {
    ("/api/v1/auth/token", "post"): {400, 401},
    ("/api/v1/processes/deploy", "post"): {400, 403, 413, 422},
    ("/api/v1/processes/{key}/bpmn", "get"): {400},
    ("/api/v1/instances", "post"): {403, 404, 422},
    ("/api/v1/instances", "get"): {400},
    ("/api/v1/tasks", "get"): {400},
    ("/api/v1/tasks/{task_id}/claim", "post"): {403, 409},
    ("/api/v1/tasks/{task_id}/unclaim", "post"): {403, 409},
    ("/api/v1/tasks/{task_id}/complete", "post"): {403, 409, 422},
    ("/api/v1/files", "post"): {400, 413},
    ("/api/v1/test/clock", "post"): {400, 403},
}


def openapi_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path: `<name>` and `<conv:name>` become `{name}`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def served(app) -> set[tuple[str, str]]:
    return {
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.fixture(params=[False, True], ids=["plain", "test-clock"])
def test_clock(request, monkeypatch):
    """Whether the app is built with DINGDAN_TEST_CLOCK=1."""
    if request.param:
        monkeypatch.setenv("DINGDAN_TEST_CLOCK", "1")
    else:
        monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    return request.param


@pytest.fixture
def app(system, test_clock):
    return create_app(system)


@pytest.fixture
def plain_app(system, monkeypatch):
    monkeypatch.delenv("DINGDAN_TEST_CLOCK", raising=False)
    return create_app(system)


def fetch(app):
    response = app.test_client().get("/api/v1/openapi.json")  # no Authorization header
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


@pytest.fixture
def document(app):
    return fetch(app)


def test_the_document_is_public_and_openapi_3_1(document):
    assert re.fullmatch(r"3\.1\.\d+", document["openapi"])
    assert isinstance(document["info"]["title"], str) and document["info"]["title"]
    assert isinstance(document["info"]["version"], str) and document["info"]["version"]
    assert isinstance(document["paths"], dict) and document["paths"]
    assert all(path.startswith("/") for path in document["paths"])


def test_the_documented_operations_are_exactly_the_served_routes(app, document, test_clock):
    documented = {(path, method) for path, method, _ in operations(document)}
    assert documented == served(app)
    assert (("/api/v1/test/clock", "post") in documented) == test_clock


def test_every_operation_is_structurally_sound(document):
    schemes = document["components"]["securitySchemes"]
    for requirement in document.get("security", []):
        assert set(requirement) <= set(schemes)
    for path, method, operation in operations(document):
        where = f"{method.upper()} {path}"
        assert isinstance(operation.get("summary"), str) and operation["summary"], where
        responses = operation["responses"]
        assert isinstance(responses, dict) and responses, where
        for status, response in responses.items():
            assert re.fullmatch(r"[1-5]\d\d|[1-5]XX|default", status), (where, status)
            assert isinstance(response.get("description"), str), (where, status)
            assert response["description"], (where, status)
            for media, content in response.get("content", {}).items():
                assert "/" in media and "schema" in content, (where, status, media)
        assert any(s.startswith("2") for s in responses), where

        declared = {p["name"]: p for p in operation.get("parameters", []) if p.get("in") == "path"}
        assert set(declared) == set(re.findall(r"\{([^}]+)\}", path)), where
        assert all(p.get("required") is True for p in declared.values()), where
        for parameter in operation.get("parameters", []):
            assert parameter["in"] in ("path", "query", "header", "cookie"), where
            assert "schema" in parameter, where
        if "requestBody" in operation:
            assert operation["requestBody"]["content"], where


def test_every_reference_resolves(document):
    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    found = set(refs(document))
    assert found
    for ref in found:
        assert ref.startswith("#/"), ref
        node = document
        for part in ref[2:].split("/"):
            assert isinstance(node, dict) and part in node, ref
            node = node[part]


def test_every_operation_lists_its_error_responses(document):
    error = document["components"]["schemas"]["Error"]
    assert {"code", "message", "fields"} <= set(error["properties"]["error"]["properties"])
    for path, method, operation in operations(document):
        where = f"{method.upper()} {path}"
        statuses = {int(s) for s in operation["responses"] if s.isdigit()}
        wanted = set(CONTRACT_ERRORS.get((path, method), set()))
        if (path, method) not in PUBLIC:
            wanted.add(401)
        if "{" in path:
            wanted.add(404)
        body = operation.get("requestBody", {}).get("content", {})
        if "application/json" in body:
            wanted.add(400)
        assert wanted <= statuses, (where, sorted(wanted - statuses))
        for status, response in operation["responses"].items():
            if status[0] in "45":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (where, status)


def test_every_endpoint_of_api_md_is_served(plain_app):
    routes = {(method, shape(path)) for path, method in served(plain_app)}
    wanted = {(method, shape(path)) for method, path in API_MD}
    assert wanted <= routes, sorted(wanted - routes)


def test_the_public_operations_declare_no_security(plain_app):
    for path, method, operation in operations(fetch(plain_app)):
        if (path, method) in PUBLIC:
            assert operation.get("security") == [], f"{method.upper()} {path}"


OBSERVED = [
    ("post", "/api/v1/files", {"data": {}}, 400),
    pytest.param(
        "post",
        "/api/v1/files",
        {"upload": (b"x", "")},
        422,
        id="post-/api/v1/files-nameless-422",
    ),
    ("post", "/api/v1/instances", {"json": {"process": "order_service", "data": {}}}, 422),
    ("post", "/api/v1/processes/deploy", {"data": b"<x/>", "content_type": "text/plain"}, 400),
    ("get", "/api/v1/processes/{key}/bpmn", {"path": "/api/v1/processes/x/bpmn?version=a"}, 400),
    ("get", "/api/v1/forms/{key}", {"path": "/api/v1/forms/nope"}, 404),
    (
        "get",
        "/api/v1/instances/{instance_id}/replay",
        {"path": "/api/v1/instances/nope/replay?seq=x"},
        400,
    ),
    (
        "get",
        "/api/v1/instances/{instance_id}/replay",
        {"path": "/api/v1/instances/nope/replay"},
        403,
    ),
    ("post", "/api/v1/tasks/{task_id}/complete", {"path": "/api/v1/tasks/nope/complete"}, 404),
]


@pytest.mark.parametrize(("method", "path", "request_kwargs", "status"), OBSERVED)
def test_a_status_the_server_answers_is_documented(
    plain_app, system, method, path, request_kwargs, status
):
    client = plain_app.test_client()
    headers = sign_in(client, system, "applicant", ["applicant", "process_owner"])
    kwargs = dict(request_kwargs)
    url = kwargs.pop("path", path)
    if "upload" in kwargs:  # a fresh stream each run: the client closes the one it sends
        content, filename = kwargs.pop("upload")
        kwargs["data"] = {"file": (io.BytesIO(content), filename)}
    response = getattr(client, method)(url, headers=headers, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    assert str(status) in fetch(plain_app)["paths"][path][method]["responses"]
