"""Administration: users and roles, calendar overrides — admins only, every change audited."""

from datetime import date, datetime

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, InvalidData, NotFound
from engine.models import AuditEvent
from tasks.admin import AdminService

from .driver import SHANGHAI


@pytest.fixture
def admin(system):
    return AdminService(system.engine)


@pytest.fixture
def root(system):
    return system.tasks.add_user("root", ["admin"], password="root-password")


@pytest.fixture
def staff(system):
    return system.tasks.add_user("wang", ["center_staff"], password="wang-password")


def events(system, type_):
    with system.engine.unit_of_work() as uow:
        query = select(AuditEvent).where(AuditEvent.type == type_).order_by(AuditEvent.id)
        return list(uow.session.scalars(query))


def changes(system):
    return [(e.data["username"], e.data["change"]) for e in events(system, "user_changed")]


# -- users ----------------------------------------------------------------------------------


def test_an_admin_adds_a_user_who_can_then_sign_in(system, admin, root):
    view = admin.add_user(
        root,
        " zhao ",
        ["center_head", "center_staff"],
        "a-long-password",
        display_name="赵主任",
    )
    assert (view.username, view.display_name, view.active) == ("zhao", "赵主任", True)
    assert view.roles == ("center_staff", "center_head")  # in the order of ROLES
    actor = system.tasks.check_password("zhao", "a-long-password")
    assert actor is not None and actor.roles == {"center_staff", "center_head"}
    [event] = events(system, "user_changed")
    assert event.actor == "root" and event.instance_id is None
    assert event.data == {
        "username": "zhao",
        "change": "added",
        "roles": ["center_staff", "center_head"],
        "display_name": "赵主任",
        "subject_name": None,
    }
    assert "a-long-password" not in str(event.data)
    assert [u.username for u in admin.users(root)] == ["root", "zhao"]


def test_an_enterprise_user_acts_for_its_enterprise(system, admin, root):
    admin.add_user(
        root, "hengda", ["enterprise"], "password-1", subject_name="石家庄恒达机械有限公司"
    )
    assert system.tasks.actor("hengda").subject_name == "石家庄恒达机械有限公司"
    with pytest.raises(InvalidData) as caught:
        admin.add_user(root, "lvyuan", ["enterprise"], "password-1")
    assert caught.value.fields == {"subject_name": "required for an enterprise or expert user"}


@pytest.mark.parametrize(
    ("username", "roles", "password", "fields"),
    [
        ("wang", ["applicant"], "long-enough", {"username": "already exists"}),
        ("", ["applicant"], "long-enough", {"username": "required"}),
        (
            "wang fang",
            ["applicant"],
            "long-enough",
            {"username": "letters, digits and . _ - @ only"},
        ),
        ("x" * 201, ["applicant"], "long-enough", {"username": "at most 200 characters"}),
        ("fang", [], "long-enough", {"roles": "choose at least one role"}),
        ("fang", ["boss"], "long-enough", {"roles": "unknown role: boss"}),
        ("fang", "admin", "long-enough", {"roles": "must be a list of roles"}),
        ("fang", ["applicant"], "short", {"password": "at least 8 characters"}),
        ("fang", ["applicant"], "", {"password": "required"}),
        (
            "",
            [],
            None,
            {"username": "required", "roles": "choose at least one role", "password": "required"},
        ),
    ],
)
def test_a_wrong_new_user_names_every_wrong_field(
    system, admin, root, staff, username, roles, password, fields
):
    with pytest.raises(InvalidData) as caught:
        admin.add_user(root, username, roles, password)
    assert caught.value.fields == fields
    assert [u.username for u in admin.users(root)] == ["root", "wang"]
    assert system.tasks.check_password("wang", "wang-password") is not None  # untouched
    assert events(system, "user_changed") == []


def test_chinese_usernames_are_fine(system, admin, root):
    admin.add_user(root, "王芳", ["applicant"], "password-1")
    assert system.tasks.check_password("王芳", "password-1") is not None


def test_set_roles_replaces_them_and_the_change_is_effective_at_once(system, admin, root, staff):
    view = admin.set_roles(root, "wang", ["center_head", "auditor"])
    assert view.roles == ("center_head", "auditor")
    assert system.tasks.actor("wang").roles == {"center_head", "auditor"}
    [event] = events(system, "user_changed")
    assert event.data == {
        "username": "wang",
        "change": "roles",
        "from": ["center_staff"],
        "to": ["center_head", "auditor"],
    }
    admin.set_roles(root, "wang", ["auditor", "center_head"])  # the same: no event
    assert len(events(system, "user_changed")) == 1


def test_an_admin_cannot_take_away_their_own_admin_role(system, admin, root):
    with pytest.raises(InvalidData) as caught:
        admin.set_roles(root, "root", ["center_staff"])
    assert caught.value.fields == {"roles": "you cannot take away your own admin role"}
    assert admin.set_roles(root, "root", ["admin", "auditor"]).roles == ("auditor", "admin")


def test_expert_and_enterprise_roles_need_a_subject_first(system, admin, root, staff):
    with pytest.raises(InvalidData):
        admin.set_roles(root, "wang", ["expert"])
    admin.update_user(root, "wang", display_name="王工", subject_name="张建国")
    assert admin.set_roles(root, "wang", ["expert"]).subject_name == "张建国"
    with pytest.raises(InvalidData) as caught:
        admin.update_user(root, "wang", display_name="王工", subject_name=" ")
    assert caught.value.fields == {"subject_name": "required for an enterprise or expert user"}
    assert changes(system) == [("wang", "details"), ("wang", "roles")]


def test_reset_password_ends_the_old_password_and_its_tokens(system, admin, root, staff):
    token, _ = system.tasks.sign_in("wang", "wang-password")
    admin.reset_password(root, "wang", "new-password")
    assert system.tasks.check_password("wang", "wang-password") is None
    assert system.tasks.check_password("wang", "new-password") is not None
    assert system.tasks.actor_for_token(token) is None
    assert changes(system) == [("wang", "password")]
    with pytest.raises(InvalidData):
        admin.reset_password(root, "wang", "short")


def test_a_deactivated_user_cannot_sign_in_until_activated(system, admin, root, staff):
    token, _ = system.tasks.sign_in("wang", "wang-password")
    assert admin.deactivate(root, "wang").active is False
    assert system.tasks.check_password("wang", "wang-password") is None
    assert system.tasks.sign_in("wang", "wang-password") is None
    assert system.tasks.actor_for_token(token) is None
    admin.deactivate(root, "wang")  # already: nothing changes, nothing recorded
    assert admin.activate(root, "wang").active is True
    assert system.tasks.check_password("wang", "wang-password") is not None
    assert changes(system) == [("wang", "deactivated"), ("wang", "activated")]


def test_an_admin_cannot_deactivate_themselves(admin, root):
    with pytest.raises(InvalidData) as caught:
        admin.deactivate(root, "root")
    assert caught.value.fields == {"active": "you cannot deactivate your own account"}


@pytest.mark.parametrize(
    "call",
    [
        lambda a, who: a.user(who, "nobody"),
        lambda a, who: a.set_roles(who, "nobody", ["applicant"]),
        lambda a, who: a.update_user(who, "nobody", "x", None),
        lambda a, who: a.reset_password(who, "nobody", "password-1"),
        lambda a, who: a.deactivate(who, "nobody"),
        lambda a, who: a.activate(who, "nobody"),
    ],
)
def test_an_unknown_user_is_not_found(admin, root, call):
    with pytest.raises(NotFound):
        call(admin, root)


ADMIN_CALLS = {
    "users": lambda a, who: a.users(who),
    "user": lambda a, who: a.user(who, "root"),
    "add_user": lambda a, who: a.add_user(who, "x", ["admin"], "password-1"),
    "set_roles": lambda a, who: a.set_roles(who, "wang", ["admin"]),
    "update_user": lambda a, who: a.update_user(who, "wang", "x", None),
    "reset_password": lambda a, who: a.reset_password(who, "root", "password-1"),
    "deactivate": lambda a, who: a.deactivate(who, "root"),
    "activate": lambda a, who: a.activate(who, "root"),
    "calendar_year": lambda a, who: a.calendar_year(who, 2026),
    "upcoming": lambda a, who: a.upcoming(who),
    "set_day": lambda a, who: a.set_day(who, date(2027, 1, 1), False),
    "remove_day": lambda a, who: a.remove_day(who, date(2027, 1, 1)),
}


@pytest.mark.parametrize("name", sorted(ADMIN_CALLS))
def test_only_admins_administer(system, admin, root, staff, name):
    head = system.tasks.add_user("head", ["center_head", "center_staff", "auditor"])
    for someone in (staff, head, None):
        with pytest.raises(Forbidden):
            ADMIN_CALLS[name](admin, someone)
    assert system.tasks.check_password("root", "root-password") is not None
    assert events(system, "user_changed") == events(system, "calendar_changed") == []


# -- the working-day calendar ---------------------------------------------------------------


def test_a_year_says_whether_official_data_exists(admin, root):
    # chinesecalendar 1.11.0 has the State Council schedule up to 2026.
    assert admin.calendar_year(root, 2026).has_official_data is True
    assert admin.calendar_year(root, "2027").has_official_data is False
    for year in (1989, 2101, "next", True):
        with pytest.raises(InvalidData):
            admin.calendar_year(root, year)


def test_an_override_is_listed_under_its_year_and_moves_deadlines(system, admin, root):
    calendar = system.engine.calendar
    with system.engine.unit_of_work() as uow:
        before = calendar(uow.session).working_days_after(datetime(2026, 12, 31, 9), 1)
    assert before == datetime(2027, 1, 1, 17, 30, tzinfo=SHANGHAI)  # Monday–Friday fallback

    view = admin.set_day(root, "2027-01-01", False, " 元旦 ")
    assert (view.day, view.is_working_day, view.note) == (date(2027, 1, 1), False, "元旦")
    assert view.default_working_day is True and view.updated_by == "root"
    year = admin.calendar_year(root, 2027)
    assert [(o.day, o.is_working_day) for o in year.overrides] == [(date(2027, 1, 1), False)]
    assert admin.calendar_year(root, 2026).overrides == []
    with system.engine.unit_of_work() as uow:
        after = calendar(uow.session).working_days_after(datetime(2026, 12, 31, 9), 1)
    assert after == datetime(2027, 1, 4, 17, 30, tzinfo=SHANGHAI)

    [event] = events(system, "calendar_changed")
    assert event.actor == "root" and event.instance_id is None
    assert event.data == {
        "day": "2027-01-01",
        "change": "set",
        "is_working_day": False,
        "note": "元旦",
        "was": None,
    }


def test_setting_a_day_again_changes_it_and_removing_it_restores_the_schedule(system, admin, root):
    admin.set_day(root, date(2026, 10, 10), False, "临时调整")  # officially a make-up Saturday
    view = admin.set_day(root, date(2026, 10, 10), True)
    assert (view.is_working_day, view.note, view.default_working_day) == (True, None, True)
    assert len(admin.calendar_year(root, 2026).overrides) == 1
    admin.remove_day(root, "2026-10-10")
    assert admin.calendar_year(root, 2026).overrides == []
    with pytest.raises(NotFound):
        admin.remove_day(root, "2026-10-10")
    assert [(e.data["change"], e.data["was"]) for e in events(system, "calendar_changed")] == [
        ("set", None),
        ("set", {"is_working_day": False, "note": "临时调整"}),
        ("removed", {"is_working_day": True, "note": None}),
    ]


@pytest.mark.parametrize(
    ("day", "working", "note", "fields"),
    [
        ("2027-02-30", False, None, {"day": "must be a date (YYYY-MM-DD)"}),
        ("", False, None, {"day": "must be a date (YYYY-MM-DD)"}),
        ("20270101", False, None, {"day": "must be a date (YYYY-MM-DD)"}),
        (datetime(2027, 1, 1, 9), False, None, {"day": "must be a date (YYYY-MM-DD)"}),
        ("3027-01-01", False, None, {"day": "a day from 1990 to 2100"}),
        ("2027-01-01", None, None, {"is_working_day": "required: a working day or a day off"}),
        ("2027-01-01", "off", None, {"is_working_day": "required: a working day or a day off"}),
        ("2027-01-01", False, "长" * 501, {"note": "at most 500 characters"}),
        (
            "x",
            None,
            5,
            {
                "day": "must be a date (YYYY-MM-DD)",
                "is_working_day": "required: a working day or a day off",
                "note": "must be text",
            },
        ),
    ],
)
def test_a_wrong_override_names_every_wrong_field(system, admin, root, day, working, note, fields):
    with pytest.raises(InvalidData) as caught:
        admin.set_day(root, day, working, note)
    assert caught.value.fields == fields
    assert events(system, "calendar_changed") == []


def test_the_next_days_say_whether_each_is_a_working_day_and_why(system, admin, root):
    days = {d.day: d for d in admin.upcoming(root)}  # from 2026-09-30, the clock's today
    assert len(days) == 30 and min(days) == date(2026, 9, 30)
    national_day = days[date(2026, 10, 1)]
    assert (national_day.is_working_day, national_day.source) == (False, "official")
    assert national_day.holiday == "national_day"
    make_up = days[date(2026, 10, 10)]  # a Saturday worked for the holidays
    assert (make_up.is_working_day, make_up.holiday) == (True, "national_day")
    assert days[date(2026, 10, 8)].is_working_day is True


def test_the_next_days_into_a_year_without_data_fall_back_to_monday_to_friday(admin, root):
    admin.set_day(root, "2027-01-01", False, "元旦")
    days = {d.day: d for d in admin.upcoming(root, start=date(2026, 12, 20))}
    assert days[date(2026, 12, 31)].source == "official"
    new_year = days[date(2027, 1, 1)]
    assert (new_year.is_working_day, new_year.source, new_year.note) == (False, "override", "元旦")
    monday = days[date(2027, 1, 4)]
    assert (monday.is_working_day, monday.source, monday.holiday) == (True, "fallback", None)
    assert days[date(2027, 1, 2)].is_working_day is False  # a Saturday
