"""Editing processes: the checks a diagram meets before it deploys (each refusal names its
element, and nothing changes), versions and their comparison, who may deploy, the audit
event of a deploy, and the process pages with the modeler's draft, check and deploy."""

import re
from html import unescape
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import bpmn_diff
from engine.models import AuditEvent
from webui.app import create_app
from webui.composition import PROCESSES_DIR

from .api_client import sign_in

TINY = (Path(__file__).parent / "diagrams" / "tiny_review.bpmn").read_text(encoding="utf-8")
SURVEY = (PROCESSES_DIR / "order_service_survey.bpmn").read_text(encoding="utf-8")
TOKEN = re.compile(r'data-csrf="([^"]+)"|name="csrf_token" value="([^"]+)"')
TIMER = """
    <bpmn:boundaryEvent id="review_deadline" attachedToRef="review" cancelActivity="false">
      <bpmn:outgoing>flow_deadline</bpmn:outgoing>
      <bpmn:timerEventDefinition id="review_deadline_timer">
        <bpmn:timeDuration>{expression}</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="deadline_noted"><bpmn:incoming>flow_deadline</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_deadline" sourceRef="review_deadline" targetRef="deadline_noted" />
  </bpmn:process>"""
SCRIPT = """
    <bpmn:scriptTask id="compute"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
  </bpmn:process>"""


def tiny(*replacements: tuple[str, str]) -> str:
    xml = TINY
    for old, new in replacements:
        assert old in xml, old
        xml = xml.replace(old, new)
    return xml


def deploy(client, headers, xml, path="/api/v1/processes/deploy"):
    return client.post(
        f"{path}?filename=tiny_review.bpmn",
        headers=headers,
        data=xml.encode("utf-8"),
        content_type="application/xml",
    )


@pytest.fixture
def app(system):
    return create_app(system, {"SECRET_KEY": "test-secret"})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def owner(client, system):
    return sign_in(client, system, "owner", ["process_owner"])


# -- the checks before deploy -------------------------------------------------------------

BROKEN = {
    "schema": (
        tiny(
            (
                '<bpmn:endEvent id="end_rejected"',
                '<bpmn:noSuchThing id="odd" /><bpmn:endEvent id="end_rejected"',
            )
        ),
        None,
        "",
    ),
    "called-process": (
        tiny(
            (
                '<bpmn:endEvent id="end_rejected" name="不通过">',
                '<bpmn:callActivity id="call_missing" calledElement="nowhere" />'
                '<bpmn:endEvent id="end_rejected" name="不通过">',
            )
        ),
        "call_missing",
        "nowhere",
    ),
    "form": (
        tiny(('value="review_application.schema.json"', 'value="nope.schema.json"')),
        "review",
        "nope.schema.json",
    ),
    "lane-role": (
        tiny(('name="center_staff"', 'name="night_watch"')),
        "lane_center_staff",
        "night_watch",
    ),
    "condition": (
        tiny(('review.get("decision") == "accept"', '__import__("os").system("true")')),
        "flow_accepted",
        "refused",
    ),
    "timer": (
        tiny(("\n  </bpmn:process>", TIMER.format(expression="now().__class__"))),
        "review_deadline",
        "refused",
    ),
    "script": (
        tiny(("\n  </bpmn:process>", SCRIPT.format(script="x = ().__class__"))),
        "compute",
        "refused",
    ),
    "gateway-without-way-out": (
        tiny(
            (
                'sourceRef="decide" targetRef="end_accepted"',
                'sourceRef="review" targetRef="end_accepted"',
            ),
            (
                'sourceRef="decide" targetRef="end_rejected"',
                'sourceRef="review" targetRef="end_rejected"',
            ),
            (' default="flow_rejected"', ""),
        ),
        "decide",
        "no outgoing",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_each_deploy_check_refuses_with_422_naming_the_element(client, system, owner, case):
    xml, element, words = BROKEN[case]
    response = deploy(client, owner, xml)
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "invalid_bpmn"
    assert error["details"], error
    if element is None:  # the schema: where it is, by line
        assert any(d["line"] for d in error["details"]), error
    else:
        assert element in [d["element"] for d in error["details"]], error
    assert any(words in d["message"] for d in error["details"]), error
    assert client.get("/api/v1/processes/tiny_review", headers=owner).status_code == 404

    # Checking without deploying finds the same, and deploys nothing either.
    checked = client.post(
        "/api/v1/processes/check?filename=tiny_review.bpmn",
        headers=owner,
        data=xml.encode(),
        content_type="application/xml",
    )
    assert checked.status_code == 200
    assert checked.get_json()["valid"] is False
    assert checked.get_json()["details"] == error["details"]
    assert client.get("/api/v1/processes/tiny_review", headers=owner).status_code == 404


@pytest.mark.parametrize("encoding", ["GBK", "UTF-16", "ISO-8859-1"])
def test_a_diagram_not_in_utf8_is_422_naming_its_encoding(client, system, owner, encoding):
    """It answered 500 (the stored text is UTF-8): a clear error, nothing deployed."""
    xml = TINY.replace('encoding="UTF-8"', f'encoding="{encoding}"', 1)
    assert xml != TINY
    response = client.post(
        "/api/v1/processes/deploy?filename=tiny_review.bpmn",
        headers=owner,
        data=xml.encode(encoding, errors="replace"),
        content_type="application/xml",
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    [detail] = response.get_json()["error"]["details"]
    assert detail["message"] == f"the diagram is encoded as {encoding}: save it as UTF-8"
    assert client.get("/api/v1/processes/tiny_review", headers=owner).status_code == 404


def test_the_shipped_diagrams_pass_every_check(client, system, owner):
    files = sorted(PROCESSES_DIR.glob("*.bpmn"))
    response = client.post(
        "/api/v1/processes/check",
        headers=owner,
        data={"file": [(BytesIO(p.read_bytes()), p.name) for p in files]},
        content_type="multipart/form-data",
    )
    assert response.get_json() == {"valid": True, "details": []}


# -- versions -----------------------------------------------------------------------------


def test_identical_content_does_not_create_a_version_and_each_deploy_is_audited(
    client, system, owner
):
    first = deploy(client, owner, TINY)
    assert first.status_code == 201, first.get_data(as_text=True)
    assert first.get_json()["version"] == 1
    again = deploy(client, owner, TINY)
    assert again.status_code == 200
    assert (again.get_json()["version"], again.get_json()["created"]) == (1, False)
    renamed = deploy(client, owner, tiny(('name="审核材料"', 'name="复核材料"')))
    assert renamed.status_code == 201
    assert renamed.get_json()["version"] == 2

    versions = client.get("/api/v1/processes/tiny_review", headers=owner).get_json()["versions"]
    assert [(v["version"], v["deployed_by"]) for v in versions] == [(1, "owner"), (2, "owner")]
    with system.engine.unit_of_work() as uow:
        events = uow.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.type == "process_deployed", AuditEvent.element == "tiny_review")
            .order_by(AuditEvent.seq)
        )
        assert [(e.actor, e.data) for e in events] == [
            ("owner", {"key": "tiny_review", "version": 1}),
            ("owner", {"key": "tiny_review", "version": 2}),
        ]


@pytest.mark.parametrize("role", ["center_staff", "center_head", "auditor", "admin"])
def test_only_a_process_owner_may_deploy_or_check(client, system, role):
    headers = sign_in(client, system, f"a_{role}", [role])
    assert deploy(client, headers, TINY).status_code == 403
    assert deploy(client, headers, TINY, "/api/v1/processes/check").status_code == 403
    assert client.get("/api/v1/processes/tiny_review", headers=headers).status_code == 404


def test_the_comparison_lists_added_removed_and_changed_elements(client, system, owner):
    deploy(client, owner, TINY)
    changed = tiny(
        ('name="审核材料"', 'name="复核材料"'),
        ('review.get("decision") == "accept"', 'review.get("decision") in ("accept", "ok")'),
        ('<bpmn:endEvent id="end_rejected" name="不通过">', '<bpmn:endEvent id="end_refused">'),
        ("<bpmn:flowNodeRef>end_rejected<", "<bpmn:flowNodeRef>end_refused<"),
        ('targetRef="end_rejected"', 'targetRef="end_refused"'),
    )
    assert deploy(client, owner, changed).status_code == 201
    response = client.get("/api/v1/processes/tiny_review/diff?from=1&to=2", headers=owner)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["from"], body["to"]) == (1, 2)
    assert [(i["element"], i["type"]) for i in body["added"]] == [("end_refused", "endEvent")]
    assert [(i["element"], i["name"]) for i in body["removed"]] == [("end_rejected", "不通过")]
    by_id = {i["element"]: i for i in body["changed"]}
    assert set(by_id) == {"review", "flow_accepted", "flow_rejected"}
    assert by_id["review"]["name"] == "复核材料"
    assert by_id["review"]["name_before"] == "审核材料"
    assert by_id["review"]["changes"] == ["name"]
    assert by_id["flow_accepted"]["changes"] == ["conditionExpression"]
    assert by_id["flow_rejected"]["changes"] == ["targetRef"]
    # Without from/to: the last two versions.
    assert client.get("/api/v1/processes/tiny_review/diff", headers=owner).get_json() == body
    assert client.get("/api/v1/processes/tiny_review/diff?from=7", headers=owner).status_code == 404


def test_moving_shapes_is_not_a_change():
    moved = TINY.replace('<dc:Bounds x="280" y="130"', '<dc:Bounds x="290" y="140"')
    assert bpmn_diff.diff(TINY, moved) == {"added": [], "removed": [], "changed": []}


def test_running_instances_stay_on_their_version(client, system, owner):
    deploy(client, owner, TINY)
    staff = sign_in(client, system, "staff", ["center_staff"])
    first = client.post("/api/v1/instances", headers=staff, json={"process": "tiny_review"})
    assert first.status_code == 201, first.get_data(as_text=True)
    deploy(client, owner, tiny(('name="审核材料"', 'name="复核材料"')))
    second = client.post("/api/v1/instances", headers=staff, json={"process": "tiny_review"})
    assert (first.get_json()["version"], second.get_json()["version"]) == (1, 2)
    [task] = client.get(f"/api/v1/instances/{first.get_json()['id']}", headers=staff).get_json()[
        "open_tasks"
    ]
    assert task["name"] == "审核材料"
    done = client.post(
        f"/api/v1/tasks/{task['id']}/complete", headers=staff, json={"data": {"decision": "accept"}}
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    assert (done.get_json()["status"], done.get_json()["version"]) == ("archived", 1)
    versions = client.get("/api/v1/processes/tiny_review", headers=owner).get_json()["versions"]
    assert [v["instances"] for v in versions] == [{"archived": 1}, {"running": 1}]


def test_editing_a_called_process_gives_its_callers_a_new_version(system):
    """The pages deploy a called diagram with its callers: a caller's version bundles the
    versions it calls, so only a new caller version starts new instances on the edit."""
    system.tasks.add_user("owner", ["process_owner"], password="pw")
    edited = SURVEY.replace('name="现场调查并形成报告"', 'name="现场调查"')
    results = system.records.deploy_with_callers(
        system.tasks.actor("owner"), {"order_service_survey.bpmn": edited.encode()}
    )
    assert {(r.key, r.version, r.created) for r in results} == {
        ("order_service_survey", 2, True),
        ("order_service", 2, True),
    }


# -- the pages ----------------------------------------------------------------------------


def page_client(app, system, username, roles):
    system.tasks.add_user(username, roles, password="pw-" + username)
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    csrf = TOKEN.search(login).group(2)
    response = client.post(
        "/login", data={"csrf_token": csrf, "username": username, "password": "pw-" + username}
    )
    assert response.status_code == 302
    return client


def csrf_of(client, path) -> str:
    found = TOKEN.search(client.get(path).get_data(as_text=True))
    return found.group(1) or found.group(2)


def test_the_process_pages_list_versions_show_diagrams_and_compare(app, client, system, owner):
    deploy(client, owner, TINY)
    deploy(client, owner, tiny(('name="审核材料"', 'name="复核材料"')))
    browser = page_client(app, system, "head", ["center_head"])
    listing = unescape(browser.get("/processes").get_data(as_text=True))
    assert "小审核流程" in listing and "order_service" in listing
    assert "上传 BPMN 文件" not in listing  # reading only
    page = unescape(browser.get("/processes/tiny_review?from=1&to=2").get_data(as_text=True))
    assert "v1" in page and "v2" in page and "owner" in page
    assert "<code>review</code>" in page and "原名“审核材料”" in page
    assert 'data-changed="review"' in page
    download = browser.get("/processes/tiny_review/bpmn?version=1")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert 'name="审核材料"' in download.get_data(as_text=True)
    assert browser.get("/processes/tiny_review/modeler").status_code == 403
    for role in ("applicant", "center_staff", "division_head", "enterprise"):
        other = page_client(app, system, f"someone_{role}", [role])
        assert other.get("/processes").status_code == 403, role
        assert other.get("/processes/tiny_review/bpmn").status_code == 403, role
    for role in ("admin", "auditor"):
        reader = page_client(app, system, f"reader_{role}", [role])
        assert reader.get("/processes/tiny_review").status_code == 200, role


def test_the_modeler_saves_a_draft_checks_and_deploys(app, client, system, owner, tmp_path):
    system.drafts.directory = tmp_path / "drafts"
    deploy(client, owner, TINY)
    browser = page_client(app, system, "designer", ["process_owner"])
    assert browser.get("/processes/tiny_review/modeler").status_code == 200
    headers = {"X-CSRFToken": csrf_of(browser, "/processes/tiny_review/modeler")}
    headers["Accept"] = "application/json"
    source = browser.get("/processes/tiny_review/modeler/source").get_json()
    assert source["version"] == 1 and source["draft"] is None

    edited = tiny(('name="审核材料"', 'name="复核材料"'))
    saved = browser.post("/processes/tiny_review/draft", headers=headers, json={"xml": edited})
    assert saved.status_code == 200 and saved.get_json()["draft"]["saved_by"] == "designer"
    source = browser.get("/processes/tiny_review/modeler/source").get_json()
    assert source["xml"] == edited and source["draft"]["saved_by"] == "designer"
    # Without the CSRF token: refused.
    assert browser.post("/processes/tiny_review/draft", json={"xml": edited}).status_code == 400

    bad = tiny(('name="center_staff"', 'name="night_watch"'))
    checked = browser.post("/processes/tiny_review/check", headers=headers, json={"xml": bad})
    assert checked.get_json()["valid"] is False
    assert checked.get_json()["details"][0]["element"] == "lane_center_staff"
    refused = browser.post("/processes/tiny_review/deploy", headers=headers, json={"xml": bad})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["details"][0]["element"] == "lane_center_staff"

    done = browser.post("/processes/tiny_review/deploy", headers=headers, json={"xml": edited})
    assert done.status_code == 201 and done.get_json()["version"] == 2
    source = browser.get("/processes/tiny_review/modeler/source").get_json()
    assert source["version"] == 2 and source["draft"] is None  # the draft is gone

    upload = browser.post(
        "/processes/upload",
        data={
            "csrf_token": csrf_of(browser, "/processes"),
            "file": (BytesIO(bad.encode()), "tiny_review.bpmn"),
        },
        content_type="multipart/form-data",
    )
    assert upload.status_code == 422
    assert "lane_center_staff" in unescape(upload.get_data(as_text=True))
