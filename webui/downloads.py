"""Bytes sent for the browser to save as a file: uploads, archive bundles.

send_file writes the name — Chinese too — as RFC 6266 `filename*` (a header must be
Latin-1); nothing is cached (they are someone's records), and nosniff keeps a browser from
reading an upload as something it would run.
"""

from io import BytesIO

from flask import send_file


def attachment(content: bytes, name: str, mimetype: str):
    response = send_file(
        BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=name, max_age=0
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
