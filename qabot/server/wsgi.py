"""``qabot serve``'s server: the app on waitress, with one log line per request, a body over
the limit refused as it arrives and waitress's own errors in the app's JSON error shape."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from flask import Flask
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer
from waitress.task import ErrorTask
from waitress.utilities import RequestEntityTooLarge as WaitressTooLarge

from .. import serving
from .app import MAX_BODY_BYTES
from .errors import GENERIC_500_MESSAGE, HTTP_ERROR_CODES, SECURITY_HEADERS
from .schema import Error

__all__ = ["RequestLog", "Server", "harden"]

class RequestLog:
    """WSGI middleware: one log line per request, ``GET /api/health 200 1.2 ms``.

    The path is logged percent-encoded (never the query string, which may hold user text)
    so a crafted URL cannot forge log lines. The time is until the app returns its response.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]],
                 logger: logging.Logger | None = None) -> None:
        self.app = app
        self.logger = logger or logging.getLogger("qabot.access")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        started = time.perf_counter()
        status = ["-"]

        def start(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = code.split(" ", 1)[0]
            return start_response(code, headers, exc_info)

        try:
            return self.app(environ, start)
        finally:
            path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            safe = quote(path.encode("latin-1", "replace"), safe="/:@!$&'()*+,;=-._~")
            elapsed = (time.perf_counter() - started) * 1000
            self.logger.info("%s %s %s %.1f ms", environ.get("REQUEST_METHOD", "-"), safe,
                             status[0], elapsed)


class _LimitedParser(HTTPRequestParser):
    """waitress's request parser, refusing a body over ``limit`` bytes early.

    waitress reads a whole body before the app runs (up to 1 GB by default). Here a
    ``Content-Length`` over the limit is refused as soon as the headers are in, before any
    of the body is read, and a chunked body as soon as its decoded length passes the limit;
    either way the connection is closed after the 413.
    """

    limit = MAX_BODY_BYTES

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        if not self.completed and self.error is None and self.headers_finished:
            body = self.body_rcv
            size = len(body) if self.chunked and body is not None else self.content_length
            if size > self.limit:
                self.error = WaitressTooLarge(f"over {self.limit} bytes")
                self.completed = True
        return consumed


class _JSONErrorTask(ErrorTask):
    """waitress's own error replies (400 malformed request, 413, 431 headers too large,
    501 unsupported transfer encoding, 500) in the app's JSON error shape and headers."""

    def execute(self) -> None:
        error = self.request.error
        status = int(error.code)
        code = HTTP_ERROR_CODES.get(status) or "error"
        message = {
            400: f"malformed HTTP request: {error.body}",
            413: "the request body is larger than the limit of "
                 f"{self.channel.parser_class.limit} bytes",
            431: "the request line and headers are larger than the limit of "
                 f"{self.channel.server.adj.max_request_header_size} bytes",
            501: f"not implemented: {error.body}",
        }.get(status, GENERIC_500_MESSAGE)
        body = json.dumps(Error.body(status, code, message),
                          ensure_ascii=True, allow_nan=False).encode() + b"\n"
        self.status = f"{status} {error.reason}"
        self.response_headers.extend([("Content-Type", "application/json"),
                                      ("Cache-Control", "no-store"),
                                      *SECURITY_HEADERS.items()])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)
        # A request that failed to parse has no command (method) nor path.
        logging.getLogger("qabot.access").info("%s - %s (refused by the server)",
                                               getattr(self.request, "command", "") or "-",
                                               status)


class _Channel(HTTPChannel):
    parser_class = _LimitedParser
    error_task_class = _JSONErrorTask


def harden(socket_map: dict[int, Any], max_body: int = MAX_BODY_BYTES) -> None:
    """Make every listening server in a waitress socket map accept connections that refuse
    a body over ``max_body`` bytes early and give waitress's own errors as JSON."""
    parser = type("_LimitedParser", (_LimitedParser,), {"limit": max_body})
    channel = type("_Channel", (_Channel,), {"parser_class": parser})
    for dispatcher in socket_map.values():
        if isinstance(dispatcher, BaseWSGIServer):
            dispatcher.channel_class = channel


class Server(serving.Server):
    """The app on :class:`qabot.serving.Server` (waitress, ``workers`` processes, draining on
    SIGTERM/SIGINT), with one log line per request (:class:`RequestLog`), a body over the
    app's ``MAX_CONTENT_LENGTH`` refused as it arrives and waitress's own errors as JSON
    (:func:`harden`). It binds at construction: a busy port fails here, as ``OSError``.
    """

    def __init__(self, app: Flask, **options: Any) -> None:
        # The body limit is enforced as the body arrives (see harden); waitress's own
        # cap, which counts a chunked body's framing too, is only a backstop.
        limit = app.config["MAX_CONTENT_LENGTH"] or MAX_BODY_BYTES
        super().__init__(RequestLog(app), configure=lambda socket_map: harden(socket_map, limit),
                         max_request_body_size=16 * limit, **options)
