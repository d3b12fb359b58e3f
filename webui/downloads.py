"""Bytes sent for the browser to save as a file: uploads, archive bundles.

send_file writes the name — Chinese too — as RFC 6266 `filename*` (a header must be
Latin-1), and its plain `filename` for older clients is the name's ASCII letters: for a
Chinese name, where that leaves only the extension, it is `download` and the extension
instead of a bare `.pdf`. Nothing is cached (they are someone's records), and nosniff
keeps a browser from reading an upload as something it would run.
"""

import unicodedata
from io import BytesIO
from urllib.parse import quote

from flask import send_file


def attachment(content: bytes, name: str, mimetype: str):
    response = send_file(
        BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=name, max_age=0
    )
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    stem, dot, extension = plain.rpartition(".") if "." in plain else (plain, "", "")
    if plain != name and not stem.strip(" ."):
        if not extension.isalnum():  # only a plain extension goes into the header
            dot, extension = "", ""
        response.headers["Content-Disposition"] = (
            f"attachment; filename=download{dot}{extension}; "
            f"filename*=UTF-8''{quote(name, safe='')}"
        )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
