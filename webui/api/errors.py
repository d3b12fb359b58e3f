"""The one place where errors become HTTP statuses, always in API.md's error shape."""

import logging

from flask import jsonify
from werkzeug.exceptions import HTTPException

from engine.errors import (
    Conflict,
    DingdanError,
    Forbidden,
    InvalidBpmn,
    InvalidData,
    NotFound,
    ProcessError,
    TooLarge,
)

log = logging.getLogger("dingdan.web")

STATUS = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    InvalidData: 422,
    InvalidBpmn: 422,
    ProcessError: 422,
    TooLarge: 413,
}
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_data",
}


class BadRequest(DingdanError):
    """A request the server cannot read: malformed JSON, wrong shape, unknown fields."""

    code = "bad_request"


class Unauthorized(DingdanError):
    code = "unauthorized"


STATUS.update({BadRequest: 400, Unauthorized: 401})


def error_response(status: int, code: str, message: str, fields=None, details=None):
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    if details:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="dingdan"'
    return response


def init_app(app) -> None:
    @app.errorhandler(DingdanError)
    def domain_error(error: DingdanError):
        status = next((s for cls, s in STATUS.items() if isinstance(error, cls)), 400)
        return error_response(status, error.code, error.message, error.fields, error.details)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = HTTP_CODES.get(error.code, "error")
        return error_response(error.code, code, error.description or error.name)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unexpected error")
        return error_response(500, "internal_error", "internal error; it has been logged")
