"""The expert register: search it (the center's staff); add, edit, deactivate (center staff,
the center head, admins)."""

import re

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Forbidden, InvalidData, NotFound
from tasks.experts import FIELDS, ExpertService, may_edit

from .auth import signed_in, system

bp = Blueprint("experts", __name__)
STATUSES = {"active": True, "inactive": False}


def service() -> ExpertService:
    return ExpertService(system().engine)


@bp.get("/experts")
@signed_in
def index():
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    rows = service().search(g.actor, q=q, active=STATUSES.get(status))
    return render_template(
        "pages/experts.html", experts=rows, q=q, status=status, may_edit=may_edit(g.actor)
    )


@bp.route("/experts/new", methods=["GET", "POST"])
@signed_in
def new():
    _editor()
    values, errors = {}, {}
    if request.method == "POST":
        values = _submitted()
        try:
            expert = service().add(g.actor, values)
        except InvalidData as error:
            errors = localized_errors(error.fields)
        else:
            flash(_("已添加专家：%(name)s", name=expert.name), "ok")
            return redirect(url_for("experts.index", q=expert.name))
    return _form(None, values, errors)


@bp.route("/experts/<int:expert_id>/edit", methods=["GET", "POST"])
@signed_in
def edit(expert_id):
    _editor()
    expert = _expert(expert_id)
    values = {key: getattr(expert, key) or "" for key in FIELDS}
    errors = {}
    if request.method == "POST":
        values = _submitted()
        try:
            expert = service().update(g.actor, expert_id, values)
        except InvalidData as error:
            errors = localized_errors(error.fields)
        else:
            flash(_("已保存专家：%(name)s", name=expert.name), "ok")
            return redirect(url_for("experts.index", q=expert.name))
    return _form(expert, values, errors)


@bp.post("/experts/<int:expert_id>/deactivate")
@signed_in
def deactivate(expert_id):
    _editor()
    _expert(expert_id)
    expert = service().deactivate(g.actor, expert_id)
    flash(_("已停用专家：%(name)s", name=expert.name), "ok")
    return redirect(url_for("experts.edit", expert_id=expert_id))


@bp.post("/experts/<int:expert_id>/activate")
@signed_in
def activate(expert_id):
    _editor()
    _expert(expert_id)
    expert = service().activate(g.actor, expert_id)
    flash(_("已恢复专家：%(name)s", name=expert.name), "ok")
    return redirect(url_for("experts.edit", expert_id=expert_id))


def _form(expert, values, errors):
    page = render_template("pages/expert_form.html", expert=expert, values=values, errors=errors)
    return page, 422 if errors else 200


def _submitted() -> dict:
    return {key: request.form.get(key, "") for key in FIELDS}


def _editor() -> None:
    if not may_edit(g.actor):
        raise Forbidden(_("只有服务中心经办人员、服务中心负责人或系统管理员可以修改专家库。"))


def _expert(expert_id):
    try:
        return service().get(g.actor, expert_id)
    except NotFound:
        raise NotFound(_("未找到该专家。")) from None


def localized_errors(fields: dict) -> dict:
    """The task layer's field messages (plain English) in the page's language."""
    return {key: _localized(message) for key, message in fields.items()}


def _localized(message: str) -> str:
    fixed = {
        "required": _("必填"),
        "unknown field": _("未知字段"),
        "must be an object": _("必须是对象"),
        "must be text": _("必须是文字"),
        "must not contain NUL characters": _("不能包含 NUL 字符"),
        "must be a phone number": _("必须是电话号码（数字，可含 +、-、空格、括号）"),
        "must be true or false": _("必须是“是”或“否”"),
        "already exists": _("该用户名已存在"),
        "letters, digits and . _ - @ only": _("只能包含字母、数字和 . _ - @"),
        "choose at least one role": _("请至少选择一个角色"),
        "must be a list of roles": _("角色格式不正确"),
        "you cannot take away your own admin role": _("不能取消自己的系统管理员角色"),
        "you cannot deactivate your own account": _("不能停用自己的账号"),
        "required for an enterprise or expert user": _(
            "接受服务企业或专家用户必须填写所代表的企业或专家名称"
        ),
        "at most 1000 characters, no NUL": _("最多 1000 个字符，不能包含 NUL 字符"),
        "must be a date (YYYY-MM-DD)": _("必须是日期（YYYY-MM-DD）"),
        "required: a working day or a day off": _("请选择工作日或休息日"),
    }
    if message in fixed:
        return fixed[message]
    for pattern, translate in (
        (r"at most (\d+) characters", lambda n: _("最多 %(n)s 个字符", n=n)),
        (r"at least (\d+) characters", lambda n: _("至少 %(n)s 个字符", n=n)),
        (r"unknown role: (.+)", lambda roles: _("未知角色：%(roles)s", roles=roles)),
        (r"a (?:year|day) from (\d+) to (\d+)", None),
    ):
        found = re.fullmatch(pattern, message)
        if found and translate is not None:
            return translate(found.group(1))
        if found:
            first, last = found.groups()
            return _("须在 %(first)s 年至 %(last)s 年之间", first=first, last=last)
    return message
