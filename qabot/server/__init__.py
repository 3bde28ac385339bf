"""Serve qabot over HTTP: the JSON chat API, the chat page, and a production WSGI server.

One module per concern: :mod:`~qabot.server.schema` declares the request and reply shapes
(pydantic models: they validate requests and are the OpenAPI components);
:mod:`~qabot.server.payload` reads a request's JSON body strictly;
:mod:`~qabot.server.routes` holds the views and the endpoint table;
:mod:`~qabot.server.openapi` generates ``/api/openapi.json`` from the two;
:mod:`~qabot.server.errors` answers every error in one JSON shape::

    {"error": {"status": 400, "code": "invalid_question", "message": "..."}}

never with an HTML page or a traceback; :mod:`~qabot.server.app` builds the Flask app
(:func:`create_app`, the bot built once and kept on the app); :mod:`~qabot.server.wsgi`
runs it for ``qabot serve`` (:class:`Server`, on :class:`qabot.serving.Server`: waitress in
one process per CPU, draining on shutdown), answering the errors waitress raises itself
before the app runs (a malformed request, headers over the limit, an unsupported transfer
encoding, a body over the limit) in the same JSON shape with the same security headers.
"""

from __future__ import annotations

from .app import MAX_BODY_BYTES, create_app, default_web_dir
from .errors import SECURITY_HEADERS, APIError
from .openapi import openapi_spec
from .schema import NOT_BLANK_PATTERN
from .wsgi import RequestLog, Server, harden

__all__ = [
    "MAX_BODY_BYTES",
    "NOT_BLANK_PATTERN",
    "SECURITY_HEADERS",
    "APIError",
    "RequestLog",
    "Server",
    "create_app",
    "default_web_dir",
    "harden",
    "openapi_spec",
]
