"""Form definitions: the JSON Schema with its zh-CN and en labels."""

from flask import jsonify

from . import bp
from .common import system


@bp.get("/forms/<key>")
def get_form(key):
    form = system().records.form(key)
    return jsonify({"key": form.key, "title": form.title(), "schema": form.schema})
