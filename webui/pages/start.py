"""The start page: a process's start form (for the order service, the application form);
submitting it starts an instance."""

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import Forbidden, InvalidData
from engine.registry import start_lane
from tasks.roles import starter_roles
from webui.form_html import describe

from .auth import signed_in
from .task_form import (
    NO_FORM,
    field_messages,
    file_name,
    lang,
    read_submission,
    sources_for,
    stage_label,
    system,
    validation_messages,
)

bp = Blueprint("start", __name__)


@bp.route("/start/<process>", methods=["GET", "POST"])
@signed_in
def form(process):
    version = system().records.process_version(process)  # NotFound: the app's error page
    if not g.actor.roles & starter_roles(start_lane(version)):
        raise Forbidden(_("您的角色不能发起此流程。"))
    form_key = version.start_form if version.start_form in system().forms else None
    schema = system().forms.get(form_key).schema if form_key else NO_FORM
    data, errors, blank_rows, status = {}, {}, {}, 200
    if request.method == "POST":
        submission = read_submission(schema)
        data = submission.parsed.data
        if submission.blank_rows is not None:
            blank_rows = submission.blank_rows
        elif submission.parsed.errors:
            errors = {**validation_messages(form_key, data), **submission.parsed.errors}
            status = 422
        else:
            try:
                instance = system().tasks.start(g.actor, process, data)
            except InvalidData as exc:
                errors = field_messages(form_key, data, exc)
                status = 422
            else:
                flash(_("已提交，当前阶段：%(stage)s", stage=stage_label(instance.stage)), "ok")
                return redirect(url_for("instances.detail", instance_id=instance.id))
    page = describe(
        schema,
        data,
        lang(),
        errors,
        file_name=file_name,
        blank_rows=blank_rows,
        sources=sources_for(schema),
    )
    return render_template(
        "pages/start.html", process=version, form=page, has_form=form_key is not None
    ), status
