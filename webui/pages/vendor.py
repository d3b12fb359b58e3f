"""Front-end libraries installed from npm at set-up (node_modules/), served from here.

Only the files a page needs are reachable: a fixed list of package folders, no listing.
"""

from pathlib import Path

from flask import Blueprint, abort, send_from_directory

bp = Blueprint("vendor", __name__, url_prefix="/vendor")

NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
PACKAGES = {"bpmn-js": NODE_MODULES / "bpmn-js" / "dist"}


@bp.get("/<package>/<path:filename>")
def asset(package, filename):
    folder = PACKAGES.get(package)
    if folder is None or not folder.is_dir():
        abort(404)
    return send_from_directory(folder, filename, max_age=3600)
