"""API errors are JSON {"error": "..."} in Vietnamese, never the HTML error pages."""
from __future__ import annotations

from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from survey.api import bp
from survey.errors import REFUSED_VALUES, RETRY_AFTER, UNAVAILABLE, discard_session

MESSAGES = {
    400: "Yêu cầu không hợp lệ.",
    401: "Thiếu khóa API, khóa không đúng hoặc đã bị thu hồi. Gửi tiêu đề Authorization: Bearer <khóa>.",
    403: "Tài khoản của khóa API này không có quyền thực hiện thao tác này.",
    404: "Không tìm thấy (địa chỉ không tồn tại hoặc đơn vị ngoài phạm vi của bạn).",
    405: "Phương thức HTTP không được hỗ trợ cho địa chỉ này.",
    413: "Nội dung gửi lên quá lớn.",
    415: "Kiểu nội dung không được hỗ trợ; dùng application/json hoặc text/csv.",
    422: "Dữ liệu không hợp lệ.",
    429: "Gửi quá nhiều yêu cầu; vui lòng thử lại sau.",
    503: "Cơ sở dữ liệu tạm thời không sẵn sàng; không có gì được ghi. Vui lòng thử lại sau ít phút.",
}


def error_response(code: int, message: str | None = None, **extra):
    body = {"error": message or MESSAGES.get(code, "Có lỗi xảy ra."), **extra}
    response = jsonify(body)
    response.status_code = code
    if code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    # werkzeug's descriptions are English: the Vietnamese message for the code replaces them.
    return error_response(error.code or 500)


def database_unavailable(error: Exception):
    # Blueprint handlers come before the app's, so the API needs its own JSON 503 (see errors.py).
    current_app.logger.warning("API: database unavailable: %s", error)
    discard_session()
    response = error_response(503)
    response.headers["Retry-After"] = RETRY_AFTER
    return response


def database_refused_value(error: Exception):
    current_app.logger.warning("API: database refused a value: %r", getattr(error, "orig", error))
    discard_session()
    return error_response(400)


for _unavailable in UNAVAILABLE:
    bp.register_error_handler(_unavailable, database_unavailable)
for _refused in REFUSED_VALUES:
    bp.register_error_handler(_refused, database_refused_value)


@bp.errorhandler(Exception)
def unexpected(error: Exception):
    current_app.logger.exception("API error")
    return error_response(500, "Lỗi máy chủ; vui lòng thử lại sau.")


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str):
    # Routing errors never reach blueprint handlers; this catch-all keeps them JSON under /api/v1.
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        if method == request.method:
            continue
        try:
            endpoint, _args = adapter.match(request.path, method=method)
        except (NotFound, MethodNotAllowed, HTTPException):
            continue
        if endpoint != "api.unknown":
            return error_response(405)
    return error_response(404)
