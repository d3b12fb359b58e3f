"""The one place where errors become HTTP statuses: API.md's error shape for the API,
an error page for people."""

import logging

from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

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


def _respond(status, code, message, fields=None, details=None, page_message=None):
    """JSON for the API and for a page's script that asks for JSON; a page for a person.

    The page never shows werkzeug's English description: `page_message` is ours when the
    error carries one, otherwise the page explains the status in the UI's language."""
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return error_response(status, code, message, fields, details)
    headings = {
        400: _("请求无法识别"),
        401: _("请先登录"),
        403: _("无权执行此操作"),
        404: _("未找到"),
        405: _("不支持的访问方式"),
        409: _("已被他人处理"),
        413: _("文件过大"),
        415: _("不支持的内容类型"),
        422: _("请检查表单"),
        429: _("尝试次数过多"),
    }
    explanations = {
        400: _("系统无法识别这次请求：链接或提交的内容不完整或格式有误。请返回上一页后重试。"),
        401: _("请先登录后再访问此页面。"),
        403: _("您所在的岗位无权执行此操作。如确需办理，请联系系统管理员。"),
        404: _("要查看的记录不存在，或您无权查看。"),
        405: _("此页面不接受这种访问方式。请从系统中的链接或按钮进入。"),
        409: _("此事项已被他人处理或已发生变化。请刷新页面后查看最新状态。"),
        413: _("提交的内容超过了系统允许的大小。请缩小文件后重新提交。"),
        415: _("系统不接受这种类型的内容。"),
        422: _("提交的内容有误，请检查后重新提交。"),
        429: _("尝试次数过多，请稍后再试。"),
    }
    heading = headings.get(status, _("出现错误"))
    if status == 404:  # the engine's wording names ids; a clerk needs the plain fact
        message = explanations[404]
    elif status >= 500:
        message = _("系统出现错误，已记录下来。请稍后再试，或联系系统管理员。")
    elif page_message is not None:
        message = page_message or explanations.get(status) or _("无法完成此请求。")
    return render_template(
        "pages/error.html", status=status, heading=heading, message=message
    ), status


def _own_description(error: HTTPException) -> str:
    """The description we gave an HTTP error (abort(400, description=…)), or "" when it
    is werkzeug's default (or flask-wtf's, for a CSRF failure): English, and not ours."""
    if isinstance(error, CSRFError):
        return _("页面已过期或提交不完整（缺少安全校验码），无法提交。请刷新页面后重新填写并提交。")
    default = getattr(type(error), "description", None)
    if not error.description or error.description == default:
        return ""
    return error.description


def init_app(app) -> None:
    @app.errorhandler(DingdanError)
    def domain_error(error: DingdanError):
        status = next((s for cls, s in STATUS.items() if isinstance(error, cls)), 400)
        return _respond(status, error.code, error.message, error.fields, error.details)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = HTTP_CODES.get(error.code, "error")
        response = app.make_response(
            _respond(
                error.code,
                code,
                error.description or error.name,
                page_message=_own_description(error),
            )
        )
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(error.valid_methods))  # RFC 9110
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unexpected error")
        return _respond(500, "internal_error", "internal error; it has been logged")
