"""The administration pages and the expert register, through Flask's test client: signed in
with a session and CSRF tokens, as a browser would."""

import re
from datetime import datetime
from html import unescape

import pytest
from sqlalchemy import select

from engine.models import AuditEvent, Expert
from webui.api import experts as _experts_api  # noqa: F401 — the register's API routes
from webui.app import create_app

from .api_client import sign_in as api_sign_in
from .driver import SHANGHAI, Driver

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(system):
    return create_app(system, {"SECRET_KEY": "test-secret"})


def token(client, path="/login") -> str:
    response = client.get(path)
    found = TOKEN.search(response.get_data(as_text=True))
    assert found, f"no csrf_token on {path}"
    return found.group(1)


def log_in(client, username, password):
    return client.post(
        "/login",
        data={"csrf_token": token(client), "username": username, "password": password},
    )


def signed_in_client(app, system, username, roles, **extra):
    system.tasks.add_user(username, roles, password="pw-" + username, **extra)
    client = app.test_client()
    response = log_in(client, username, "pw-" + username)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def post(client, path, data, page=None):
    """Post a form the way a browser does: with the CSRF token of a page it shows."""
    return client.post(path, data={"csrf_token": token(client, page or path), **data})


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


@pytest.fixture
def root(app, system):
    return signed_in_client(app, system, "root", ["admin"])


# -- users ----------------------------------------------------------------------------------


def test_an_admin_adds_a_user_who_can_then_sign_in(app, system, root):
    response = post(
        root,
        "/admin/users",
        {
            "username": "zhao",
            "display_name": "赵主任",
            "password": "zhao-password",
            "roles": ["center_staff", "center_head"],
        },
    )
    assert response.status_code == 302
    page = text(root.get(response.headers["Location"]))
    assert "已添加用户 zhao。" in page
    assert "赵主任" in page and "服务中心经办人员" in page and "服务中心负责人" in page

    newcomer = app.test_client()
    assert log_in(newcomer, "zhao", "wrong").status_code == 401
    signed_in = log_in(newcomer, "zhao", "zhao-password")
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/"
    assert system.tasks.actor("zhao").roles == {"center_staff", "center_head"}
    [event] = _events(system, "user_changed")
    assert (event.actor, event.data["username"], event.data["change"]) == ("root", "zhao", "added")


def test_a_wrong_new_user_is_shown_with_its_errors_and_values_kept(root):
    response = post(
        root,
        "/admin/users",
        {"username": "li si", "display_name": "李四", "password": "short", "roles": ["expert"]},
        page="/admin/users",
    )
    assert response.status_code == 422
    page = text(response)
    assert "只能包含字母、数字和 . _ - @" in page
    assert "至少 8 个字符" in page
    assert "接受服务企业或专家用户必须填写所代表的企业或专家名称" in page
    assert 'value="li si"' in page and 'value="李四"' in page
    assert re.search(r'id="new-expert" checked', page)


def test_an_admin_changes_roles_and_resets_a_password(app, system, root):
    system.tasks.add_user("wang", ["center_staff"], password="old-password")
    response = post(root, "/admin/users/wang/roles", {"roles": ["auditor"]}, page="/admin/users")
    assert response.status_code == 302
    assert system.tasks.actor("wang").roles == {"auditor"}

    none = post(root, "/admin/users/wang/roles", {}, page="/admin/users")
    assert none.status_code == 422 and "请至少选择一个角色" in text(none)
    assert system.tasks.actor("wang").roles == {"auditor"}

    response = post(
        root, "/admin/users/wang/password", {"password": "new-password"}, page="/admin/users"
    )
    assert response.status_code == 302
    assert log_in(app.test_client(), "wang", "old-password").status_code == 401
    assert log_in(app.test_client(), "wang", "new-password").status_code == 302

    response = post(root, "/admin/users/wang/deactivate", {}, page="/admin/users")
    assert response.status_code == 302
    assert log_in(app.test_client(), "wang", "new-password").status_code == 401
    assert post(root, "/admin/users/nobody/deactivate", {}, "/admin/users").status_code == 404
    assert [e.data["change"] for e in _events(system, "user_changed")] == [
        "roles",
        "password",
        "deactivated",
    ]


def test_an_admin_cannot_remove_their_own_admin_role(system, root):
    response = post(root, "/admin/users/root/roles", {"roles": ["auditor"]}, page="/admin/users")
    assert response.status_code == 422
    assert "不能取消自己的系统管理员角色" in text(response)
    assert system.tasks.actor("root").has("admin")


@pytest.mark.parametrize("role", ["center_staff", "center_head", "auditor", "process_owner"])
def test_a_non_admin_gets_403(app, system, role):
    client = signed_in_client(app, system, "someone", [role])
    for path in ("/admin/users", "/admin/calendar", "/admin/calendar?year=2027"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "无权执行此操作" in text(response)
    csrf = token(client, "/experts")
    for path, data in (
        ("/admin/users", {"username": "x", "password": "password-1", "roles": ["admin"]}),
        ("/admin/users/someone/roles", {"roles": ["admin"]}),
        ("/admin/calendar", {"day": "2027-01-01", "kind": "off"}),
    ):
        assert client.post(path, data={"csrf_token": csrf, **data}).status_code == 403, path
    assert system.tasks.actor("someone").roles == {role}


def test_signed_out_people_are_sent_to_sign_in(app):
    response = app.test_client().get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_form_without_its_csrf_token_is_refused(system, root):
    response = root.post("/admin/users/root/roles", data={"roles": ["auditor"]})
    assert response.status_code == 400
    assert system.tasks.actor("root").roles == {"admin"}


# -- the calendar ---------------------------------------------------------------------------


def test_a_day_off_set_on_the_calendar_page_moves_a_review_deadline(app, system, clock, root):
    page = text(root.get("/admin/calendar?year=2027"))
    assert "2027 年尚无国务院公布的节假日安排。" in page

    response = post(
        root,
        "/admin/calendar",
        {"day": "2027-01-01", "kind": "off", "note": "元旦", "year": "2027"},
        page="/admin/calendar?year=2027",
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/calendar?year=2027"
    page = text(root.get(response.headers["Location"]))
    assert "已将 2027-01-01 设为休息日。" in page
    assert 'id="day-2027-01-01"' in page and "元旦" in page

    clock.set(datetime(2026, 12, 31, 10, 0, tzinfo=SHANGHAI))
    driver = Driver(system, clock)
    driver.start()
    due = driver.task("review_application").due_at
    assert due == datetime(2027, 1, 4, 17, 30, tzinfo=SHANGHAI)
    assert due.astimezone(SHANGHAI).isoformat() == "2027-01-04T17:30:00+08:00"


def test_the_calendar_page_shows_the_year_the_next_days_and_removes_overrides(system, root):
    page = text(root.get("/admin/calendar"))  # the clock's year: 2026, official data
    assert "2026 年的节假日和调休上班日按国务院公布的安排计算" in page
    assert 'id="fallback-notice"' not in page
    assert "国庆节" in page and "调休上班（国庆节）" in page  # the next 30 days from 09-30

    post(root, "/admin/calendar", {"day": "2026-10-09", "kind": "off"}, "/admin/calendar")
    page = text(root.get("/admin/calendar?year=2026"))
    assert 'id="day-2026-10-09"' in page
    response = post(root, "/admin/calendar/2026-10-09/remove", {}, page="/admin/calendar")
    assert response.status_code == 302
    page = text(root.get(response.headers["Location"]))
    assert "已删除 2026-10-09 的调整" in page and 'id="day-2026-10-09"' not in page
    assert [e.data["change"] for e in _events(system, "calendar_changed")] == ["set", "removed"]
    assert post(root, "/admin/calendar/2026-10-09/remove", {}, "/admin/calendar").status_code == 404


def test_a_wrong_override_is_shown_with_its_errors(root):
    response = post(
        root,
        "/admin/calendar",
        {"day": "2027-13-01", "note": "错误示例", "year": "2027"},
        page="/admin/calendar",
    )
    assert response.status_code == 422
    page = text(response)
    assert "必须是日期（YYYY-MM-DD）" in page and "请选择工作日或休息日" in page
    assert 'value="错误示例"' in page and 'value="2027-13-01"' in page


@pytest.mark.parametrize("year", ["1900", "abc"])
def test_a_year_out_of_range_is_not_found(root, year):
    assert root.get(f"/admin/calendar?year={year}").status_code == 404


# -- the expert register --------------------------------------------------------------------

ZHANG = {
    "name": "张建国",
    "organisation": "河北经贸大学",
    "specialty": "企业融资",
    "qualification": "教授",
    "phone": "0311-87654321",
    "experience": "",
}


def test_staff_add_search_and_edit_experts_with_errors_beside_the_fields(app, system):
    staff = signed_in_client(app, system, "wang", ["center_staff"])
    assert "添加专家" in text(staff.get("/experts"))

    wrong = post(staff, "/experts/new", dict(ZHANG, organisation=" ", phone="call me"))
    assert wrong.status_code == 422
    page = text(wrong)
    assert re.search(r'id="e-organisation">必填<', page)
    assert re.search(r'id="e-phone">必须是电话号码', page)
    assert 'value="张建国"' in page and 'value="call me"' in page  # values kept

    added = post(staff, "/experts/new", ZHANG)
    assert added.status_code == 302
    assert "已添加专家：张建国" in text(staff.get(added.headers["Location"]))
    added = post(staff, "/experts/new", dict(ZHANG, name="刘洋", organisation="正和律师事务所"))
    staff.get(added.headers["Location"])  # shows the message once

    page = text(staff.get("/experts?q=经贸"))
    assert "张建国" in page and "刘洋" not in page
    for heading in ("姓名", "单位", "专业领域", "资质", "联系电话", "状态"):
        assert f"<th>{heading}</th>" in page
    [expert_id] = re.findall(r'href="/experts/(\d+)/edit"', page)

    edit_page = f"/experts/{expert_id}/edit"
    assert 'value="企业融资"' in text(staff.get(edit_page))
    wrong = post(staff, edit_page, dict(ZHANG, specialty=""))
    assert wrong.status_code == 422 and re.search(r'id="e-specialty">必填<', text(wrong))
    saved = post(staff, edit_page, dict(ZHANG, specialty="企业融资 财务管理"))
    assert saved.status_code == 302
    assert "企业融资 财务管理" in text(staff.get("/experts?q=财务"))

    stopped = post(staff, f"/experts/{expert_id}/deactivate", {}, edit_page)
    assert stopped.headers["Location"] == edit_page
    assert "已停用专家：张建国" in text(staff.get(edit_page))
    assert "张建国" not in text(staff.get("/experts?status=active"))
    assert "张建国" in text(staff.get("/experts?status=inactive"))
    assert [e.type for e in _events(system, None) if e.type.startswith("expert_")] == [
        "expert_added",
        "expert_added",
        "expert_updated",
        "expert_updated",
    ]


def test_other_staff_read_the_register_without_edit_buttons(app, system):
    staff = signed_in_client(app, system, "wang", ["center_staff"])
    post(staff, "/experts/new", ZHANG)
    auditor = signed_in_client(app, system, "li", ["auditor"])
    page = text(auditor.get("/experts"))
    assert "张建国" in page
    assert "/edit" not in page and "添加专家" not in page
    assert auditor.get("/experts/new").status_code == 403


def test_applicants_enterprises_and_experts_do_not_read_the_register(app, system):
    """It lists experts' phones and qualifications: the center's, not the public's."""
    staff = signed_in_client(app, system, "wang", ["center_staff"])
    post(staff, "/experts/new", ZHANG)
    for role in ("applicant", "enterprise", "expert"):
        subject = {} if role == "applicant" else {"subject_name": "某某公司"}
        outsider = signed_in_client(app, system, f"someone_{role}", [role], **subject)
        listing = outsider.get("/experts")
        assert listing.status_code == 403 and "张建国" not in text(listing)
    applicant = signed_in_client(app, system, "shijiazhuang", ["applicant"])
    assert applicant.get("/experts/new").status_code == 403
    expert_id = system_expert_id(system)
    assert applicant.get(f"/experts/{expert_id}/edit").status_code == 403
    response = post(applicant, f"/experts/{expert_id}/deactivate", {}, "/inbox")
    assert response.status_code == 403
    assert staff.get("/experts/999/edit").status_code == 404


def test_the_register_over_the_api(app, system):
    client = app.test_client()
    staff = api_sign_in(client, system, "wang", ["center_staff"])
    reader = api_sign_in(client, system, "li", ["auditor"])
    applicant = api_sign_in(client, system, "shijiazhuang", ["applicant"])

    created = client.post("/api/v1/experts", json=ZHANG, headers=staff)
    assert created.status_code == 201, created.get_data(as_text=True)
    expert = created.get_json()
    assert expert["name"] == "张建国" and expert["active"] is True
    assert expert["updated_at"].endswith("+08:00") and expert["experience"] is None

    found = client.get("/api/v1/experts?q=融资", headers=reader)
    assert [e["id"] for e in found.get_json()] == [expert["id"]]
    assert client.get("/api/v1/experts?q=法务", headers=reader).get_json() == []

    changed = client.put(f"/api/v1/experts/{expert['id']}", json={"active": False}, headers=staff)
    assert changed.status_code == 200 and changed.get_json()["active"] is False
    assert client.get("/api/v1/experts", headers=reader).get_json() == []
    everyone = client.get("/api/v1/experts?include_inactive=true", headers=reader).get_json()
    assert [e["id"] for e in everyone] == [expert["id"]]

    statuses = [
        client.post("/api/v1/experts", json=ZHANG, headers=reader).status_code,
        client.get("/api/v1/experts", headers=applicant).status_code,
        client.post("/api/v1/experts", json={"name": ""}, headers=staff).status_code,
        client.post("/api/v1/experts", json=dict(ZHANG, email="x"), headers=staff).status_code,
        client.put("/api/v1/experts/999", json={}, headers=staff).status_code,
        client.get("/api/v1/experts?include_inactive=maybe", headers=reader).status_code,
        client.get("/api/v1/experts").status_code,
    ]
    assert statuses == [403, 403, 422, 400, 404, 400, 401]
    wrong = client.post("/api/v1/experts", json={"name": ""}, headers=staff).get_json()
    assert wrong["error"]["fields"]["organisation"] == "required"


def system_expert_id(system) -> int:
    with system.engine.unit_of_work() as uow:
        return uow.session.scalar(select(Expert.id))


def _events(system, type_):
    with system.engine.unit_of_work() as uow:
        query = select(AuditEvent).where(AuditEvent.instance_id.is_(None))
        if type_:
            query = query.where(AuditEvent.type == type_)
        return list(uow.session.scalars(query.order_by(AuditEvent.id)))
