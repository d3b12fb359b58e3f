"""The one place where errors become HTTP statuses: API.md's error shape for the API,
an error page for people."""

import logging

from flask import jsonify, render_template, request
from flask_babel import gettext as _
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


def _respond(status, code, message, fields=None, details=None):
    """JSON for the API and for a page's script that asks for JSON; a page for a person."""
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return error_response(status, code, message, fields, details)
    headings = {
        400: _("请求无法识别"),
        401: _("请先登录"),
        403: _("无权执行此操作"),
        404: _("未找到"),
        409: _("已被他人处理"),
        413: _("文件过大"),
        422: _("请检查表单"),
    }
    heading = headings.get(status, _("出现错误"))
    if status == 404:  # the engine's wording names ids; a clerk needs the plain fact
        message = _("要查看的记录不存在，或您无权查看。")
    elif status >= 500:
        message = _("系统出现错误，已记录下来。请稍后再试，或联系系统管理员。")
    return render_template(
        "pages/error.html", status=status, heading=heading, message=message
    ), status


def init_app(app) -> None:
    @app.errorhandler(DingdanError)
    def domain_error(error: DingdanError):
        status = next((s for cls, s in STATUS.items() if isinstance(error, cls)), 400)
        return _respond(status, error.code, error.message, error.fields, error.details)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = HTTP_CODES.get(error.code, "error")
        return _respond(error.code, code, error.description or error.name)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unexpected error")
        return _respond(500, "internal_error", "internal error; it has been logged")
