"""Every HTTP error as one JSON body, ``{"error": {"status", "code", "message"}}``
(:class:`qabot.server.schema.Error`), never an HTML page or a traceback; and the headers
every reply carries."""

from __future__ import annotations

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from .schema import Error, quote

__all__ = [
    "GENERIC_500_MESSAGE",
    "HTTP_ERROR_CODES",
    "SECURITY_HEADERS",
    "APIError",
    "register",
]

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
#: Error codes for the HTTP errors werkzeug raises; any other status gets its name in snake case.
HTTP_ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
}
GENERIC_500_MESSAGE = "the server hit an unexpected error; it has been logged"


class APIError(HTTPException):
    """An HTTP error with a machine-readable ``error_code``: how views report a bad request."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(description=message)
        self.code = status
        self.error_code = error_code


def register(app: Flask) -> None:
    """Answer every error of ``app`` in the JSON error shape and add the security headers
    (and ``Cache-Control: no-store`` on the API) to every reply."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.after_request(_add_headers)


def _error_response(status: int, code: str, message: str) -> Response:
    response = jsonify(Error.body(status, code, message))
    response.status_code = status
    return response


def _http_error(exc: HTTPException) -> Response:
    """Every HTTP error (ours, werkzeug's 404/405/413, ...) as the JSON error body."""
    status = exc.code or 500
    if isinstance(exc, APIError):
        code, message = exc.error_code, exc.description or ""
    else:
        code = HTTP_ERROR_CODES.get(status) or (exc.name or "error").lower().replace(" ", "_")
        message = _http_message(exc, status)
    response = _error_response(status, code, message)
    # Keep the headers werkzeug adds for the error, such as Allow on a 405.
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _http_message(exc: HTTPException, status: int) -> str:
    path = quote(request.path, limit=200)
    if status == 404:
        return f"no such path: {path} (the API is under /api, see /api/openapi.json)"
    if status == 405:
        allowed = ", ".join(getattr(exc, "valid_methods", None) or [])
        return f"method {request.method} is not allowed on {path}; allowed: {allowed}"
    if status == 413:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        return f"the request body is larger than the limit of {limit} bytes"
    return exc.description or exc.name


def _unexpected_error(exc: Exception) -> Response:
    """A bug or an engine failure: the details go to the log, the client gets a generic 500."""
    current_app.logger.exception("unexpected error on %s %s", request.method, request.path)
    return _error_response(500, "internal_error", GENERIC_500_MESSAGE)


def _add_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    if response.mimetype == "application/json" or request.path.startswith("/api/"):
        response.headers["Cache-Control"] = "no-store"
    return response
