"""Process pages: every process and its versions, a version's diagram and BPMN, uploads, a
comparison of two versions, and the modeler (modeler.js) with its draft, check and deploy
endpoints. Reading is for the staff who see every instance; changing is for process owners.
"""

import functools

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from engine.errors import Forbidden, InvalidBpmn, TooLarge
from tasks.roles import ROLES, reads_processes

from .auth import signed_in, system
from .labels import local_time, status_name

bp = Blueprint("processes", __name__)

MAX_BPMN_BYTES = 5 * 1024 * 1024


def readers_only(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not reads_processes(g.actor):
            raise Forbidden(
                "only process owners, the center's head, admins and auditors read the processes"
            )
        return view(*args, **kwargs)

    return signed_in(wrapped)


def owners_only(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not g.actor.has("process_owner"):
            raise Forbidden("only a process owner may change processes")
        return view(*args, **kwargs)

    return signed_in(wrapped)


# -- reading ------------------------------------------------------------------------------


@bp.get("/processes")
@readers_only
def index():
    return render_template(
        "pages/processes.html",
        processes=system().records.processes(),
        local_time=local_time,
        errors=[],
    )


@bp.get("/processes/<key>")
@readers_only
def detail(key):
    records = system().records
    versions = records.process_versions(key)
    numbers = [v.version for v in versions]
    before = _version_arg("from", numbers)
    after = _version_arg("to", numbers)
    comparison = None
    if before and after:
        comparison = records.process_diff(key, before, after)
    elif len(numbers) > 1:
        before, after = numbers[-2], numbers[-1]
    shown = _version_arg("version", numbers) or (after if comparison else numbers[-1])
    return render_template(
        "pages/process.html",
        key=key,
        versions=list(reversed(versions)),
        latest=versions[-1],
        shown=shown,
        counts=records.instance_counts(key),
        comparison=comparison,
        before=before,
        after=after,
        local_time=local_time,
        status_name=status_name,
    )


@bp.get("/processes/<key>/bpmn")
@readers_only
def bpmn(key):
    version = _version_arg("version", None)
    row = system().records.process_version(key, version)
    response = Response(row.bpmn, mimetype="application/octet-stream")
    name = row.filename.removesuffix(".bpmn") or key
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{_ascii(name)}-v{row.version}.bpmn"'
    )
    return response


# -- uploading ----------------------------------------------------------------------------


@bp.post("/processes/upload")
@owners_only
def upload():
    files = {}
    for index, item in enumerate(request.files.getlist("file")):
        if not item.filename:
            continue
        content = item.read(MAX_BPMN_BYTES + 1)
        if len(content) > MAX_BPMN_BYTES:
            raise TooLarge(f"{item.filename} is larger than {MAX_BPMN_BYTES} bytes")
        files[item.filename.replace("\x00", "") or f"upload{index}.bpmn"] = content
    if not files:
        flash(_("请选择要上传的 BPMN 文件。"), "error")
        return redirect(url_for("processes.index"))
    try:
        results = system().records.deploy_with_callers(g.actor, files)
    except InvalidBpmn as exc:
        return render_template(
            "pages/processes.html",
            processes=system().records.processes(),
            local_time=local_time,
            errors=exc.details,
        ), 422
    created = [r for r in results if r.created]
    if created:
        flash(_("已部署：%(list)s", list="，".join(f"{r.key} v{r.version}" for r in created)), "ok")
    else:
        flash(_("内容与已部署的版本相同，没有创建新版本。"), "ok")
    first = created[0].key if created else results[0].key
    return redirect(url_for("processes.detail", key=first))


# -- the modeler --------------------------------------------------------------------------


@bp.get("/processes/<key>/modeler")
@owners_only
def modeler(key):
    latest = system().records.process_version(key)
    forms = sorted(f"{form.key}.schema.json" for form in system().forms)
    return render_template(
        "pages/modeler.html",
        key=key,
        latest=latest,
        roles=ROLES,
        forms=forms,
    )


@bp.get("/processes/<key>/modeler/source")
@owners_only
def source(key):
    latest = system().records.process_version(key)
    draft = system().drafts.get(g.actor, key)
    return jsonify(
        {
            "key": key,
            "version": latest.version,
            "xml": draft.xml if draft else latest.bpmn,
            "draft": _draft(draft),
        }
    )


@bp.post("/processes/<key>/draft")
@owners_only
def save_draft(key):
    system().records.process_version(key)  # 404 for a process that does not exist
    draft = system().drafts.save(g.actor, key, _xml())
    return jsonify({"draft": _draft(draft)})


@bp.post("/processes/<key>/draft/discard")
@owners_only
def discard_draft(key):
    system().drafts.discard(g.actor, key)
    return jsonify({"draft": None})


@bp.post("/processes/<key>/check")
@owners_only
def check(key):
    latest = system().records.process_version(key)
    details = system().records.check(
        g.actor, {latest.filename: _xml().encode("utf-8")}, with_callers=True
    )
    return jsonify({"valid": not details, "details": details})


@bp.post("/processes/<key>/deploy")
@owners_only
def deploy(key):
    latest = system().records.process_version(key)
    results = system().records.deploy_with_callers(
        g.actor, {latest.filename: _xml().encode("utf-8")}
    )
    mine = next((r for r in results if r.key == key), results[0])
    if any(r.created for r in results):
        system().drafts.discard(g.actor, key)
    return jsonify(
        {
            "key": mine.key,
            "version": mine.version,
            "created": mine.created,
            "processes": [
                {"key": r.key, "version": r.version, "created": r.created} for r in results
            ],
        }
    ), 201 if mine.created else 200


# -- helpers ------------------------------------------------------------------------------


def _xml() -> str:
    if (request.content_length or 0) > MAX_BPMN_BYTES:
        raise TooLarge(f"a diagram may not be larger than {MAX_BPMN_BYTES} bytes")
    body = request.get_json(silent=True)
    xml = body.get("xml") if isinstance(body, dict) else None
    if not isinstance(xml, str) or not xml.strip():
        raise InvalidBpmn(
            "no diagram sent",
            details=[{"file": None, "element": None, "line": None, "message": "no diagram"}],
        )
    return xml.replace("\x00", "")


def _draft(draft) -> dict | None:
    if draft is None:
        return None
    return {"saved_by": draft.saved_by, "saved_at": local_time(draft.saved_at)}


def _version_arg(name: str, known: list[int] | None) -> int | None:
    value = request.args.get(name, "")
    if not value.isdigit():
        return None
    number = int(value)
    return number if known is None or number in known else None


def _ascii(name: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)
