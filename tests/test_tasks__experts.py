"""The expert register: search, add, change, deactivate — staff keep it, everyone reads it."""

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, InvalidData, NotFound
from engine.models import AuditEvent
from tasks.experts import ExpertService

ZHANG = {
    "name": "张建国",
    "organisation": "河北经贸大学",
    "specialty": "企业融资",
    "qualification": "教授",
    "experience": "二十年中小企业融资咨询经验",
    "phone": "0311-87654321",
}
LIU = {
    "name": "刘洋",
    "organisation": "河北正和律师事务所",
    "specialty": "公司法务 合同管理",
    "qualification": "执业律师",
}
QUALITY = {
    "name": "河北省质量技术服务中心",
    "organisation": "Hebei Quality Institute",
    "specialty": "质量管理 ISO 9001",
    "qualification": "专业机构",
}


@pytest.fixture
def register(system):
    return ExpertService(system.engine)


@pytest.fixture
def people(system):
    add = system.tasks.add_user
    return {
        "staff": add("wang_staff", ["center_staff"]),
        "head": add("li_head", ["center_head"]),
        "admin": add("root", ["admin"]),
        "applicant": add("shijiazhuang", ["applicant"]),
        "auditor": add("audit", ["auditor"]),
    }


@pytest.fixture
def filled(register, people):
    return [register.add(people["staff"], data) for data in (ZHANG, LIU, QUALITY)]


def events(system, type_):
    with system.engine.unit_of_work() as uow:
        query = select(AuditEvent).where(AuditEvent.type == type_).order_by(AuditEvent.id)
        return list(uow.session.scalars(query))


def names(rows):
    return sorted(row.name for row in rows)


def test_staff_add_an_expert_and_the_addition_is_audited(system, register, people):
    expert = register.add(people["staff"], dict(ZHANG, name="  张建国 "))
    assert expert.id and expert.active is True
    assert expert.name == "张建国"  # stripped
    assert (expert.updated_by, expert.updated_at) == ("wang_staff", system.engine.clock.now())
    [event] = events(system, "expert_added")
    assert event.instance_id is None and event.actor == "wang_staff"
    assert event.data["expert_id"] == expert.id and event.data["name"] == "张建国"
    assert register.get(people["auditor"], expert.id).organisation == "河北经贸大学"


@pytest.mark.parametrize("who", ["staff", "head", "admin"])
def test_staff_the_head_and_admins_keep_the_register(register, people, who):
    expert = register.add(people[who], LIU)
    assert register.update(people[who], expert.id, {"phone": "13800138000"}).phone == "13800138000"


@pytest.mark.parametrize("who", ["applicant", "auditor"])
def test_others_never_change_it_and_only_staff_read_it(register, people, filled, who):
    if who == "auditor":
        assert names(register.search(people[who])) == names(filled)
    else:  # the experts' phones are not the applicant's to read
        with pytest.raises(Forbidden):
            register.search(people[who])
        with pytest.raises(Forbidden):
            register.get(people[who], filled[0].id)
    with pytest.raises(Forbidden):
        register.add(people[who], ZHANG)
    with pytest.raises(Forbidden):
        register.update(people[who], filled[0].id, {"phone": "110"})
    with pytest.raises(Forbidden):
        register.deactivate(people[who], filled[0].id)


def test_reading_needs_someone_signed_in(register):
    with pytest.raises(Forbidden):
        register.search(None)


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("张建国", ["张建国"]),  # name
        ("律师事务所", ["刘洋"]),  # organisation
        ("法务", ["刘洋"]),  # specialty
        ("iso", ["河北省质量技术服务中心"]),  # case does not matter
        ("hebei QUALITY", ["河北省质量技术服务中心"]),  # every word, anywhere
        ("河北", ["刘洋", "张建国", "河北省质量技术服务中心"]),
        ("河北 法务", ["刘洋"]),
        ("教授", []),  # qualification is not searched
        ("%", []),  # wildcards are plain characters
        ("_", []),
        ("", ["刘洋", "张建国", "河北省质量技术服务中心"]),
    ],
)
def test_search_by_name_organisation_or_specialty(register, people, filled, q, found):
    assert names(register.search(people["auditor"], q=q)) == sorted(found)


def test_an_update_changes_only_the_fields_sent_and_records_what_changed(system, register, people):
    expert = register.add(people["staff"], ZHANG)
    updated = register.update(people["head"], expert.id, {"specialty": "企业融资 财务管理"})
    assert updated.specialty == "企业融资 财务管理"
    assert (updated.name, updated.phone, updated.experience) == (
        "张建国",
        "0311-87654321",
        ZHANG["experience"],
    )
    assert updated.updated_by == "li_head"
    [event] = events(system, "expert_updated")
    assert event.actor == "li_head"
    assert event.data == {
        "expert_id": expert.id,
        "name": "张建国",
        "changed": {"specialty": {"from": "企业融资", "to": "企业融资 财务管理"}},
    }
    # Saving the same values again writes no event; clearing an optional field does.
    register.update(people["head"], expert.id, {"specialty": "企业融资 财务管理"})
    register.update(people["head"], expert.id, {"phone": ""})
    assert [e.data["changed"] for e in events(system, "expert_updated")][1:] == [
        {"phone": {"from": "0311-87654321", "to": None}}
    ]
    assert register.get(people["staff"], expert.id).phone is None


def test_deactivated_experts_stay_in_the_register_and_can_come_back(system, register, people):
    zhang, liu, _ = [register.add(people["staff"], d) for d in (ZHANG, LIU, QUALITY)]
    assert register.deactivate(people["staff"], zhang.id).active is False
    staff = people["staff"]
    assert "张建国" not in names(register.search(staff, active=True))
    assert names(register.search(staff, active=False)) == ["张建国"]
    assert len(register.search(staff)) == 3
    assert register.search(staff)[-1].name == "张建国"  # inactive ones last
    assert events(system, "expert_updated")[-1].data["changed"] == {
        "active": {"from": True, "to": False}
    }
    assert register.activate(people["admin"], zhang.id).active is True
    assert register.update(staff, liu.id, {"active": False}).active is False


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({}, {k: "required" for k in ("name", "organisation", "specialty", "qualification")}),
        (dict(ZHANG, organisation="   "), {"organisation": "required"}),
        (dict(ZHANG, name=None), {"name": "required"}),
        (dict(ZHANG, name=42), {"name": "must be text"}),
        (dict(ZHANG, name="张" * 201), {"name": "at most 200 characters"}),
        (dict(ZHANG, phone="call me"), {"phone": "must be a phone number"}),
        (dict(ZHANG, email="a@b.c"), {"email": "unknown field"}),
        (dict(ZHANG, active=False), {"active": "unknown field"}),  # new experts are active
        (dict(ZHANG, specialty="a\x00b"), {"specialty": "must not contain NUL characters"}),
        ([], {"": "must be an object"}),
    ],
)
def test_a_wrong_expert_names_every_wrong_field(system, register, people, data, fields):
    with pytest.raises(InvalidData) as caught:
        register.add(people["staff"], data)
    assert caught.value.fields == fields
    assert register.search(people["staff"]) == []
    assert events(system, "expert_added") == []


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        ({"name": ""}, {"name": "required"}),
        ({"active": "no"}, {"active": "must be true or false"}),
        ({"phone": "+86 (311) 8765-4321", "id": 3}, {"id": "unknown field"}),
    ],
)
def test_a_wrong_update_changes_nothing(register, people, filled, data, fields):
    with pytest.raises(InvalidData) as caught:
        register.update(people["staff"], filled[0].id, data)
    assert caught.value.fields == fields
    assert register.get(people["staff"], filled[0].id).phone == ZHANG["phone"]


@pytest.mark.parametrize("expert_id", [999, 0, -1, 2**40, "1"])
def test_an_unknown_expert_is_not_found(register, people, expert_id):
    with pytest.raises(NotFound):
        register.get(people["staff"], expert_id)
    with pytest.raises(NotFound):
        register.update(people["staff"], expert_id, {"phone": "110"})
