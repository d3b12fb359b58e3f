"""Processes: the deployed versions, their BPMN, and deploying new ones."""

from flask import Response, jsonify, request

from engine.errors import TooLarge

from . import bp
from . import serialize as out
from .common import actor, query_int, system
from .errors import BadRequest

MAX_BPMN_BYTES = 5 * 1024 * 1024


@bp.get("/processes")
def list_processes():
    return jsonify([out.process_version(row) for row in system().records.processes()])


@bp.get("/processes/<key>")
def get_process(key):
    versions = system().records.process_versions(key)
    counts = system().records.instance_counts(key)
    return jsonify(
        {
            "key": key,
            "name": versions[-1].name,
            "versions": [
                out.process_version(v, with_checksum=True)
                | {"instances": counts.get(v.version, {})}
                for v in versions
            ],
        }
    )


@bp.get("/processes/<key>/diff")
def diff_versions(key):
    """The elements added, removed and changed between two versions (by default the last two)."""
    records = system().records
    before, after = query_int("from"), query_int("to")
    if before is None or after is None:
        numbers = [v.version for v in records.process_versions(key)]
        after = after or numbers[-1]
        before = before or (numbers[-2] if len(numbers) > 1 else numbers[-1])
    return jsonify(records.process_diff(key, before, after))


@bp.post("/processes/check")
def check():
    """What deploying the body would refuse, without deploying: 200 `{"valid", "details"}`."""
    details = system().records.check(actor(), _uploaded_files())
    return jsonify({"valid": not details, "details": details})


@bp.get("/processes/<key>/bpmn")
def get_process_bpmn(key):
    row = system().records.process_version(key, query_int("version"))
    return Response(row.bpmn, mimetype="application/xml")


@bp.post("/processes/deploy")
def deploy():
    files = _uploaded_files()
    results = system().records.deploy(actor(), files)
    created = [r for r in results if r.created]
    main = _main_key(results, files)
    body = {
        "key": main.key,
        "version": main.version,
        "created": bool(created),
        "processes": [{"key": r.key, "version": r.version, "created": r.created} for r in results],
    }
    return jsonify(body), 201 if main.created else 200


def _uploaded_files() -> dict[str, bytes]:
    if request.mimetype in ("application/xml", "text/xml", "application/bpmn+xml"):
        name = request.args.get("filename", "upload.bpmn")
        if (request.content_length or 0) > MAX_BPMN_BYTES:
            raise TooLarge(f"a diagram may not be larger than {MAX_BPMN_BYTES} bytes")
        content = request.get_data()
        if len(content) > MAX_BPMN_BYTES:
            raise TooLarge(f"a diagram may not be larger than {MAX_BPMN_BYTES} bytes")
        return {name: content}
    if request.mimetype == "multipart/form-data":
        files = {}
        for index, upload in enumerate(request.files.getlist("file")):
            content = upload.read(MAX_BPMN_BYTES + 1)
            if len(content) > MAX_BPMN_BYTES:
                raise TooLarge(f"{upload.filename} is larger than {MAX_BPMN_BYTES} bytes")
            files[(upload.filename or f"upload{index}.bpmn").replace("\x00", "")] = content
        if not files:
            raise BadRequest("send the diagrams as multipart fields named 'file'")
        return files
    raise BadRequest(
        "send BPMN as application/xml or multipart/form-data",
        fields={"Content-Type": "unsupported"},
    )


def _main_key(results, files):
    """The deployed process that no other uploaded process calls, from the first file."""
    called = {key for r in results for key in r.calls}
    order = {name: index for index, name in enumerate(files)}
    roots = [r for r in results if r.key not in called] or results
    return min(roots, key=lambda r: order.get(r.filename, len(order)))
