"""Uploads: stored in the database, served back only as attachments."""

from flask import jsonify, request

from engine.errors import TooLarge

from ..downloads import attachment
from . import bp
from . import serialize as out
from .common import actor, system
from .errors import BadRequest


@bp.post("/files")
def upload_file():
    uploads = request.files.getlist("file")
    if not uploads:
        raise BadRequest(
            "send the file as a multipart field named 'file'", fields={"file": "required"}
        )
    if len(uploads) > 1:  # one id answers one file: the others would be dropped unseen
        raise BadRequest(
            "send one file per request: POST /files answers one id",
            fields={"file": "more than one file"},
        )
    [upload] = uploads
    limit = system().max_file_bytes
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise TooLarge(f"the file is larger than {limit} bytes", fields={"file": "too large"})
    row = system().tasks.store_file(actor(), upload.filename, upload.mimetype, content, limit)
    return jsonify(out.stored_file(row)), 201


@bp.get("/files/<file_id>")
def download_file(file_id):
    row = system().records.file(actor(), file_id)
    return attachment(row.content, row.name, row.content_type)
