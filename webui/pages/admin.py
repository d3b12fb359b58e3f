"""Administration, for admins only: users and their roles, the working-day calendar."""

from datetime import date

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Forbidden, InvalidData, NotFound
from tasks.admin import AdminService
from tasks.roles import ROLES

from .auth import signed_in, system
from .experts import localized_errors
from .labels import local_time, role_name

bp = Blueprint("admin", __name__, url_prefix="/admin")
KINDS = {"working": True, "off": False}
UPCOMING_DAYS = 30


def service() -> AdminService:
    return AdminService(system().engine)


@bp.before_request
def admins_only():
    actor = g.get("actor")
    if actor is not None and not actor.has("admin"):  # signed out: `signed_in` redirects
        raise Forbidden(_("只有系统管理员可以使用系统管理。"))


def role_labels() -> dict[str, str]:
    return {role: role_name(role) for role in ROLES}


# -- users --------------------------------------------------------------------------------


@bp.get("/users")
@signed_in
def users():
    return _users_page()


@bp.post("/users")
@signed_in
def add_user():
    form = request.form
    values = {
        "username": form.get("username", "").strip(),
        "display_name": form.get("display_name", ""),
        "subject_name": form.get("subject_name", ""),
        "roles": form.getlist("roles"),
    }
    try:
        user = service().add_user(g.actor, password=form.get("password", ""), **values)
    except InvalidData as error:
        return _users_page(add_values=values, add_errors=localized_errors(error.fields))
    flash(_("已添加用户 %(name)s。", name=user.username), "ok")
    return redirect(url_for("admin.users", _anchor=f"user-{user.username}"))


@bp.post("/users/<username>/roles")
@signed_in
def set_roles(username):
    roles = request.form.getlist("roles")
    return _change_user(
        username,
        lambda: service().set_roles(g.actor, username, roles),
        _("已更新 %(name)s 的角色。", name=username),
        {"roles": roles},
    )


@bp.post("/users/<username>/details")
@signed_in
def update_user(username):
    values = {
        "display_name": request.form.get("display_name", ""),
        "subject_name": request.form.get("subject_name", ""),
    }
    return _change_user(
        username,
        lambda: service().update_user(g.actor, username, **values),
        _("已保存 %(name)s 的资料。", name=username),
        values,
    )


@bp.post("/users/<username>/password")
@signed_in
def reset_password(username):
    password = request.form.get("password", "")
    return _change_user(
        username,
        lambda: service().reset_password(g.actor, username, password),
        _("已重置 %(name)s 的密码。", name=username),
        {},
    )


@bp.post("/users/<username>/deactivate")
@signed_in
def deactivate_user(username):
    return _change_user(
        username,
        lambda: service().deactivate(g.actor, username),
        _("已停用 %(name)s，该用户不能再登录。", name=username),
        {},
    )


@bp.post("/users/<username>/activate")
@signed_in
def activate_user(username):
    return _change_user(
        username,
        lambda: service().activate(g.actor, username),
        _("已恢复 %(name)s。", name=username),
        {},
    )


def _change_user(username, change, done_message, values):
    try:
        change()
    except NotFound:
        raise NotFound(_("未找到用户 %(name)s。", name=username)) from None
    except InvalidData as error:
        return _users_page(
            open_user=username, row_values=values, row_errors=localized_errors(error.fields)
        )
    flash(done_message, "ok")
    return redirect(url_for("admin.users", _anchor=f"user-{username}"))


def _users_page(add_values=None, add_errors=None, open_user=None, row_values=None, row_errors=None):
    page = render_template(
        "pages/admin_users.html",
        users=service().users(g.actor),
        role_labels=role_labels(),
        add_values=add_values or {"roles": []},
        add_errors=add_errors or {},
        open_user=open_user,
        row_values=row_values or {},
        row_errors=row_errors or {},
    )
    return page, 422 if add_errors or row_errors else 200


# -- the working-day calendar -------------------------------------------------------------


@bp.get("/calendar")
@signed_in
def calendar():
    return _calendar_page(request.args.get("year"))


@bp.post("/calendar")
@signed_in
def set_day():
    values = {
        "day": request.form.get("day", "").strip(),
        "kind": request.form.get("kind", ""),
        "note": request.form.get("note", ""),
    }
    try:
        override = service().set_day(
            g.actor, values["day"], KINDS.get(values["kind"]), values["note"]
        )
    except InvalidData as error:
        errors = localized_errors(error.fields)
        if "is_working_day" in errors:
            errors["kind"] = errors.pop("is_working_day")
        return _calendar_page(request.form.get("year"), values=values, errors=errors)
    kind = _("工作日") if override.is_working_day else _("休息日")
    flash(_("已将 %(day)s 设为%(kind)s。", day=override.day.isoformat(), kind=kind), "ok")
    return redirect(url_for("admin.calendar", year=override.day.year))


@bp.post("/calendar/<day>/remove")
@signed_in
def remove_day(day):
    try:
        service().remove_day(g.actor, day)
    except (NotFound, InvalidData):
        raise NotFound(_("%(day)s 没有日历调整。", day=day)) from None
    flash(_("已删除 %(day)s 的调整，该日恢复按原安排。", day=day), "ok")
    year = day[:4] if day[:4].isdigit() else None
    return redirect(url_for("admin.calendar", year=year))


def _calendar_page(year, values=None, errors=None):
    admin = service()
    today = admin.today()
    try:
        year = int(year) if year else today.year
        info = admin.calendar_year(g.actor, year)
    except (ValueError, InvalidData):
        raise NotFound(
            _("年份须在 %(first)s 年至 %(last)s 年之间。", first=1990, last=2100)
        ) from None
    upcoming = admin.upcoming(g.actor, UPCOMING_DAYS, start=today)
    page = render_template(
        "pages/admin_calendar.html",
        info=info,
        today=today,
        upcoming=upcoming,
        # Years the next 30 days reach into that have no State Council data.
        fallback_years=sorted({d.day.year for d in upcoming if d.source == "fallback"}),
        holidays=holiday_names(),
        weekdays=weekday_names(),
        values=values or {"kind": "off"},
        errors=errors or {},
        first_day=date(info.year, 1, 1),
        last_day=date(info.year, 12, 31),
        local_time=local_time,
    )
    return page, 422 if errors else 200


def weekday_names() -> list[str]:
    return [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")]


def holiday_names() -> dict[str, str]:
    return {
        "new_years_day": _("元旦"),
        "spring_festival": _("春节"),
        "tomb_sweeping_day": _("清明节"),
        "labour_day": _("劳动节"),
        "dragon_boat_festival": _("端午节"),
        "national_day": _("国庆节"),
        "mid_autumn_festival": _("中秋节"),
        "anti_fascist_70th_day": _("抗战胜利 70 周年纪念日"),
    }
