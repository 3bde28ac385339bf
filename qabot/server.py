"""Serve qabot over HTTP: the JSON chat API, the chat page, and a production WSGI server.

:func:`create_app` builds the Flask app (the bot is built once and kept on the app);
:class:`Server` runs it for ``qabot serve`` (on :class:`qabot.serving.Server`: waitress in
one process per CPU, draining on shutdown). Every error, from a bad question
to an unexpected exception, is answered with one JSON shape::

    {"error": {"status": 400, "code": "invalid_question", "message": "..."}}

and never with an HTML page or a traceback. That holds for the errors waitress raises
itself before the app runs (a malformed request, headers over the limit, an unsupported
transfer encoding, a body over the limit): :class:`Server` answers them in the same JSON
shape with the same security headers.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, current_app, jsonify, request, send_from_directory
from flask.json.provider import DefaultJSONProvider
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer
from waitress.task import ErrorTask
from waitress.utilities import RequestEntityTooLarge as WaitressTooLarge
from werkzeug.exceptions import HTTPException, NotFound, RequestEntityTooLarge

import qabot

from . import __version__, serving
from .answer import (
    DEFAULT_TOP_K,
    MAX_QUESTION_LENGTH,
    MAX_TOP_K,
    QABot,
    validate_question,
    validate_top_k,
)
from .documents import Skipped, default_corpus_path, load_corpus
from .errors import QuestionError

__all__ = [
    "MAX_BODY_BYTES",
    "APIError",
    "RequestLog",
    "Server",
    "create_app",
    "default_web_dir",
    "openapi_spec",
]

#: "Holds a character that is not whitespace", with whitespace as Python's ``str.strip``
#: sees it (ECMA-262's ``\S`` differs: it counts U+FEFF as space and U+001C-U+001F, U+0085
#: as text), so the schema and the server refuse exactly the same blank questions.
NOT_BLANK_PATTERN = (
    "[^\\t\\n\\u000b\\u000c\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a"
    "\\u2028\\u2029\\u202f\\u205f\\u3000]"
)
#: The largest request body accepted; a question is at most 1000 characters, so 64 KiB is ample.
MAX_BODY_BYTES = 64 * 1024
CHAT_FIELDS = ("question", "top_k")
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


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, made strict: never ``NaN``/``Infinity`` (not JSON; a reply holding one
    is a logged 500 instead), never a lone surrogate (not UTF-8; replaced by U+FFFD), the
    key order kept and non-ASCII text written as is."""

    sort_keys = False
    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("allow_nan", False)
        return _LONE_SURROGATE.sub("\ufffd", super().dumps(obj, **kwargs))


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class APIError(HTTPException):
    """An HTTP error with a machine-readable ``error_code``: how views report a bad request."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(description=message)
        self.code = status
        self.error_code = error_code


# ----------------------------------------------------------------------------- the app


def create_app(config: Mapping[str, Any] | None = None, *, bot: QABot | None = None) -> Flask:
    """Build the qabot Flask app.

    ``config`` keys: ``CORPUS`` (a file or folder, default ``$QABOT_CORPUS`` else
    ``./corpus``; unused when ``bot`` is given), ``STRICT`` and ``FOLLOW_SYMLINKS`` (how
    the corpus is loaded, see :func:`~qabot.documents.load_corpus`; default false),
    ``SKIPPED`` (with ``bot``: the files its corpus loading skipped, shown by
    ``/api/health``), ``WEB_DIR`` (the chat page's folder, default the packaged ``web``
    folder), ``MAX_CONTENT_LENGTH`` (default 64 KiB), plus any Flask setting. The bot is
    built here, once, and kept in ``app.extensions["qabot"]``.
    Debug mode is forced off: its error pages would leak tracebacks.
    """
    app = Flask(__name__, static_folder=None)
    app.json = JSONProvider(app)
    app.config.from_mapping(
        CORPUS=str(default_corpus_path()),
        STRICT=False,
        FOLLOW_SYMLINKS=False,
        SKIPPED=(),
        WEB_DIR=None,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
    )
    if config is not None:
        app.config.from_mapping(config)
    app.debug = False  # also sets config["DEBUG"]

    skipped: tuple[Skipped, ...] = tuple(app.config["SKIPPED"])
    if bot is None:
        documents = load_corpus(app.config["CORPUS"], strict=app.config["STRICT"],
                                follow_symlinks=app.config["FOLLOW_SYMLINKS"])
        bot = QABot.from_documents(documents)
        skipped = documents.skipped
    app.extensions["qabot"] = bot
    app.extensions["qabot.skipped"] = skipped
    app.extensions["qabot.web_dir"] = Path(app.config["WEB_DIR"] or default_web_dir())

    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.after_request(_add_headers)

    app.add_url_rule("/api/chat", "chat", _chat, methods=["POST"])
    app.add_url_rule("/api/health", "health", _health)
    app.add_url_rule("/api/sections", "sections", _sections)
    # merge_slashes off: a name beginning with "/" is a 404 like any other, not a redirect.
    app.add_url_rule("/api/documents/<path:name>", "document", _document, merge_slashes=False)
    app.add_url_rule("/api/openapi.json", "openapi", _openapi)
    app.add_url_rule("/", "index", _index)
    app.add_url_rule("/<filename>", "web_file", _web_file)
    return app


def default_web_dir() -> Path:
    """The chat page folder: ``qabot/web`` in an installed wheel, else the checkout's ``web/``."""
    package = Path(qabot.__file__).resolve().parent
    installed = package / "web"
    return installed if installed.is_dir() else package.parent / "web"


def _bot() -> QABot:
    return current_app.extensions["qabot"]


# ----------------------------------------------------------------------------- views


def _chat() -> Response:
    """``POST /api/chat``: validate the body strictly, answer with ``Answer.to_dict()``."""
    question, top_k = _parse_chat_request()
    return jsonify(_bot().ask(question, top_k).to_dict())


def _health() -> Response:
    bot = _bot()
    skipped = [s.to_dict() for s in current_app.extensions["qabot.skipped"]]
    return jsonify(status="ok", version=__version__, documents=len(bot.documents),
                   passages=len(bot.passages), threshold=bot.threshold,
                   encoder=bot.encoder, skipped=skipped)


def _sections() -> Response:
    return jsonify(documents=_bot().sections())


def _document(name: str) -> Response:
    """``GET /api/documents/<name>``: a loaded document's sections and passages, for the
    page's reader view. ``name`` is looked up among the loaded documents' names and
    never used as a path, so nothing outside the corpus can be read."""
    document = _bot().document(name)
    if document is None:
        raise APIError(404, "unknown_document", f"no document named {_quote(name, limit=200)} "
                       "in the corpus; GET /api/sections lists them")
    return jsonify(document)


def _openapi() -> Response:
    return jsonify(openapi_spec())


def _index() -> Response:
    return _web_file("index.html")


def _web_file(filename: str) -> Response:
    """A file of the web folder; hidden files and anything outside it are 404."""
    if filename.startswith("."):
        raise NotFound()
    return send_from_directory(current_app.extensions["qabot.web_dir"], filename)


# ----------------------------------------------------------------------------- validation


def _parse_chat_request() -> tuple[str, int]:
    """The question and ``top_k`` of the current request, or an :class:`APIError`.

    Strict on purpose: a wrong content type, malformed JSON (a lone surrogate escape such as
    ``"\\ud800"`` included: it is no Unicode character), a body that is not an object,
    an unknown field (a misspelt ``topk`` would otherwise be silently ignored), a question
    that is not a non-blank string of at most 1000 characters, or a ``top_k`` that is not an
    integer in 1..10 are all refused with a message naming the field and the fix. These are
    exactly the rules of the ``ChatRequest`` schema in :func:`openapi_spec`.
    """
    if not request.is_json:
        got = request.mimetype or "none"
        raise APIError(415, "unsupported_media_type",
                       f"send the body as JSON with Content-Type: application/json, got {got}")
    body = _read_body()
    if not body.strip():
        raise APIError(400, "invalid_json", 'the body is empty: send {"question": "..."}')
    try:
        payload = json.loads(body, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise APIError(400, "invalid_json", "the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise APIError(400, "invalid_json", f"the body is not valid JSON: {exc.msg} "
                       f"(line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:  # NaN or Infinity, see _refuse_constant
        raise APIError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise APIError(400, "invalid_json", "the body is not valid JSON: nested too deeply") \
            from None
    surrogate = _lone_surrogate(payload)
    if surrogate is not None:
        raise APIError(400, "invalid_json", "the body holds the lone surrogate "
                       f"\\u{surrogate:04x}, which is not a Unicode character (a surrogate "
                       "escape must be one of a high-low pair)")
    if not isinstance(payload, dict):
        raise APIError(400, "invalid_body", 'the body must be a JSON object like '
                       f'{{"question": "..."}}, got {_describe(payload)}')
    unknown = [name for name in payload if name not in CHAT_FIELDS]
    if unknown:
        names = ", ".join(_quote(name) for name in unknown)
        raise APIError(400, "unknown_field", f"unknown field{'s' if len(unknown) > 1 else ''} "
                       f"{names}: the allowed fields are {', '.join(CHAT_FIELDS)}")
    return _question(payload), _top_k(payload)


def _read_body() -> bytes:
    """The request body, or 413 when it is over ``MAX_CONTENT_LENGTH``.

    werkzeug refuses an over-long ``Content-Length`` itself, but cuts a chunked body (no
    length) at the limit instead of refusing it, so one more byte is read to tell.
    """
    body = request.get_data(cache=False)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if (limit is not None and len(body) >= limit and request.content_length is None
            and request.environ["wsgi.input"].read(1)):
        raise RequestEntityTooLarge()
    return body


def _lone_surrogate(payload: Any) -> int | None:
    """The code point of the first lone surrogate in any key or string of ``payload``.

    ``json.loads`` turns ``"\\ud800"`` (and the bytes of a UTF-8-encoded surrogate) into a
    string no UTF-8 reply can hold; such a string is refused here, before it is used or
    echoed. A valid pair (``"\\ud83d\\ude00"``) is decoded to its one character and passes.
    Iterative, since the JSON may be nested as deeply as the parser allows.
    """
    stack = [payload]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            match = _LONE_SURROGATE.search(value)
            if match:
                return ord(match.group())
        elif isinstance(value, dict):
            stack.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return None


def _question(payload: dict[str, Any]) -> str:
    """The question: a string of 1 to 1000 characters as sent, not whitespace only.

    The limit counts the string as sent, surrounding space included (the schema's
    ``maxLength`` does the same); the stripped text is what is answered and echoed.
    """
    if "question" not in payload:
        raise APIError(400, "invalid_question", 'question is required: send {"question": "..."}')
    question = payload["question"]
    if not isinstance(question, str):
        raise APIError(400, "invalid_question",
                       f"question must be a string, got {_describe(question)}")
    if len(question) > MAX_QUESTION_LENGTH:
        raise APIError(400, "invalid_question", f"question must be 1 to {MAX_QUESTION_LENGTH} "
                       f"characters, got {len(question)}")
    try:
        validate_question(question)
    except QuestionError as exc:
        raise APIError(400, "invalid_question", str(exc)) from None
    return question


def _top_k(payload: dict[str, Any]) -> int:
    """``top_k``: a JSON integer in 1..10. A number with no fraction (``3.0``, ``3e0``) is the
    integer 3, as in JSON Schema, which cannot tell ``3.0`` from ``3``."""
    top_k = payload.get("top_k", DEFAULT_TOP_K)
    if isinstance(top_k, float) and top_k.is_integer():
        top_k = int(top_k)
    if isinstance(top_k, bool) or not isinstance(top_k, int):
        # The engine names Python types; a JSON client should read JSON ones.
        raise APIError(400, "invalid_top_k",
                       f"top_k must be an integer from 1 to {MAX_TOP_K}, got {_describe(top_k)}")
    try:
        return validate_top_k(top_k)
    except QuestionError as exc:
        raise APIError(400, "invalid_top_k", str(exc)) from None


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON value")


def _describe(value: object) -> str:
    """A JSON value's type, with the value itself when short: ``string "3"``, ``number 1.5``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int | float):
        return f"number {value}" if isinstance(value, int) or math.isfinite(value) else "number"
    if isinstance(value, str):
        return f"string {_quote(value)}"
    return "array" if isinstance(value, list) else "object"


def _quote(text: str, limit: int = 40) -> str:
    """``text`` as a JSON string, cut to ``limit`` characters so an error stays short."""
    return json.dumps(text if len(text) <= limit else text[:limit] + "…", ensure_ascii=False)


# ----------------------------------------------------------------------------- errors & headers


def _error_response(status: int, code: str, message: str) -> Response:
    """The one error body: ``{"error": {"status": ..., "code": ..., "message": ...}}``."""
    response = jsonify(error={"status": status, "code": code, "message": message})
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
    path = _quote(request.path, limit=200)
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


# ----------------------------------------------------------------------------- OpenAPI


def openapi_spec() -> dict[str, Any]:
    """The OpenAPI 3.1 description of every route, with the Answer and Error schemas."""
    nullable_str = {"type": ["string", "null"]}
    passage_id = {"type": "string",
                  "description": "The passage's stable id, <document>:<start>-<end> (its "
                                 "character span in the document), with :2, :3, ... for a "
                                 "further passage of the same span; GET "
                                 "/api/documents/{name} lists it.",
                  "examples": ["iom.txt:1234-1456"]}
    schemas: dict[str, Any] = {
        "ChatRequest": {
            "type": "object",
            "required": ["question"],
            "additionalProperties": False,
            "properties": {
                "question": {"type": "string", "minLength": 1, "maxLength": MAX_QUESTION_LENGTH,
                             "pattern": NOT_BLANK_PATTERN,
                             "description": "Not blank; the limit counts the string as sent, "
                                            "surrounding space included, which is then "
                                            "stripped. A lone surrogate escape (\\ud800) "
                                            "is refused as invalid JSON."},
                "top_k": {"type": "integer", "minimum": 1, "maximum": MAX_TOP_K,
                          "default": DEFAULT_TOP_K,
                          "description": "Passages to return: the answer and runners-up. "
                                         "A JSON integer such as 3 (3.0 is the same number); "
                                         "1.5, \"3\" and true are refused."},
            },
        },
        "Alternative": {
            "type": "object",
            "required": ["answer", "section", "document", "score", "passage_id"],
            "additionalProperties": False,
            "properties": {
                "answer": {"type": "string"},
                "section": {"type": "string"},
                "document": {"type": "string"},
                "score": {"type": "number"},
                "passage_id": passage_id,
            },
        },
        "Answer": {
            "type": "object",
            "description": "QABot.ask(...).to_dict(). When found is false, answer, section, "
                           "document, highlight and passage_id are null, message says why "
                           "and alternatives hold the best passage of each nearest section. "
                           "An answer from a list holds the list, one item a line; highlight "
                           "is the item that matched.",
            "required": ["question", "found", "answer", "section", "document", "score",
                         "highlight", "alternatives", "message", "passage_id"],
            "additionalProperties": False,
            "properties": {
                "question": {"type": "string"},
                "found": {"type": "boolean"},
                "answer": nullable_str,
                "section": nullable_str,
                "document": nullable_str,
                "score": {"type": "number"},
                "highlight": nullable_str,
                "alternatives": {"type": "array",
                                 "items": {"$ref": "#/components/schemas/Alternative"}},
                "message": nullable_str,
                "passage_id": {**passage_id, "type": ["string", "null"]},
            },
        },
        "Document": {
            "type": "object",
            "description": "A document as qabot read it: its sections in order, each with "
                           "the headings above it and its passages. Text, never markup.",
            "required": ["document", "title", "sections"],
            "additionalProperties": False,
            "properties": {
                "document": {"type": "string"},
                "title": {"type": "string"},
                "sections": {"type": "array", "minItems": 1, "items": {
                    "type": "object",
                    "required": ["section", "parents", "passages"],
                    "additionalProperties": False,
                    "properties": {
                        "section": {"type": "string"},
                        "parents": {"type": "array", "items": {"type": "string"},
                                    "description": "The headings above the section, "
                                                   "outermost first."},
                        "passages": {"type": "array", "minItems": 1, "items": {
                            "type": "object",
                            "required": ["passage_id", "text", "start", "end"],
                            "additionalProperties": False,
                            "properties": {
                                "passage_id": passage_id,
                                "text": {"type": "string"},
                                "start": {"type": "integer", "minimum": 0},
                                "end": {"type": "integer", "minimum": 0},
                            },
                        }},
                    },
                }},
            },
        },
        "Health": {
            "type": "object",
            "required": ["status", "version", "documents", "passages", "threshold", "encoder",
                         "skipped"],
            "additionalProperties": False,
            "properties": {
                "status": {"const": "ok"},
                "version": {"type": "string"},
                "documents": {"type": "integer", "minimum": 1},
                "passages": {"type": "integer", "minimum": 1},
                "threshold": {"type": "number", "minimum": 0,
                              "description": "The lowest score answered with found true."},
                "encoder": {"enum": ["static", "transformer", "none"],
                            "description": "The semantic signal joined to TF-IDF (none: "
                                           "TF-IDF alone)."},
                "skipped": {
                    "type": "array",
                    "description": "Files of the corpus folder left out, and why (binary, "
                                   "not UTF-8, empty, unreadable, a link outside the folder).",
                    "items": {"type": "object", "required": ["document", "reason"],
                              "additionalProperties": False,
                              "properties": {"document": {"type": "string"},
                                             "reason": {"type": "string"}}},
                },
            },
        },
        "Sections": {
            "type": "object",
            "required": ["documents"],
            "additionalProperties": False,
            "properties": {"documents": {"type": "array", "items": {
                "type": "object",
                "required": ["document", "title", "sections"],
                "additionalProperties": False,
                "properties": {
                    "document": {"type": "string"},
                    "title": {"type": "string"},
                    "sections": {"type": "array", "items": {
                        "type": "object",
                        "required": ["section", "passages"],
                        "additionalProperties": False,
                        "properties": {"section": {"type": "string"},
                                       "passages": {"type": "integer", "minimum": 1}},
                    }},
                },
            }}},
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "additionalProperties": False,
            "properties": {"error": {
                "type": "object",
                "required": ["status", "code", "message"],
                "additionalProperties": False,
                "properties": {
                    "status": {"type": "integer", "minimum": 400, "maximum": 599},
                    "code": {"type": "string", "pattern": "^[a-z_]+$",
                             "examples": ["invalid_question", "invalid_top_k", "unknown_field",
                                          "unknown_document",
                                          "invalid_json", "invalid_body",
                                          "unsupported_media_type", "body_too_large",
                                          "not_found", "method_not_allowed",
                                          "internal_error", "bad_request",
                                          "headers_too_large", "not_implemented"]},
                    "message": {"type": "string"},
                },
            }},
        },
    }

    def json_response(description: str, schema: str) -> dict[str, Any]:
        return {"description": description, "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}

    error = {"$ref": "#/components/responses/Error"}

    def get(summary: str, response: dict[str, Any], op: str) -> dict[str, Any]:
        return {"get": {"summary": summary, "operationId": op,
                        "responses": {"200": response, "default": error}}}

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "qabot",
            "version": __version__,
            "description": "Ask a document a question; get the passage that answers it and "
                           "its section. Every error has the Error shape.",
        },
        "paths": {
            "/api/chat": {"post": {
                "summary": "Answer a question from the corpus",
                "operationId": "chat",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/ChatRequest"},
                    "example": {"question": "Where are the headquarters?", "top_k": 3}}}},
                "responses": {
                    "200": json_response("The answer, or found=false with the nearest "
                                         "passages", "Answer"),
                    "400": json_response("invalid_json, invalid_body, unknown_field, "
                                         "invalid_question or invalid_top_k", "Error"),
                    "413": json_response("The body is over 64 KiB", "Error"),
                    "415": json_response("The body is not sent as application/json", "Error"),
                    "default": error,
                },
            }},
            "/api/health": get("Liveness and corpus size",
                               json_response("The server is up", "Health"), "health"),
            "/api/sections": get("Each document with its sections and passage counts",
                                 json_response("The corpus outline", "Sections"), "sections"),
            "/api/documents/{name}": {
                "get": {
                    "summary": "A document's sections and passages, to read an answer in "
                               "place",
                    "operationId": "document",
                    "parameters": [{"name": "name", "in": "path", "required": True,
                                    "description": "A document's name as replies and "
                                                   "/api/sections give it; only names of "
                                                   "the loaded corpus are found.",
                                    "schema": {"type": "string", "examples": ["iom.txt"]}}],
                    "responses": {
                        "200": json_response("The document", "Document"),
                        "404": json_response("unknown_document: no such document in the "
                                             "corpus", "Error"),
                        "default": error,
                    },
                },
            },
            "/api/openapi.json": get("This document", {
                "description": "OpenAPI 3.1", "content": {"application/json": {
                    "schema": {"type": "object"}}}}, "openapi"),
            "/": get("The chat page", {"description": "index.html", "content": {
                "text/html": {"schema": {"type": "string"}}}}, "page"),
            "/{filename}": {
                "get": {
                    "summary": "A file of the chat page (app.js, style.css, ...)",
                    "operationId": "webFile",
                    "parameters": [{"name": "filename", "in": "path", "required": True,
                                    "schema": {"type": "string", "examples": ["app.js"]}}],
                    "responses": {
                        "200": {"description": "The file", "content": {
                            "*/*": {"schema": {"type": "string"}}}},
                        "404": json_response("No such file", "Error"),
                        "default": error,
                    },
                },
            },
        },
        "components": {
            "schemas": schemas,
            "responses": {"Error": json_response("An error, in the one error shape", "Error")},
        },
    }


# ----------------------------------------------------------------------------- serving


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
        body = json.dumps({"error": {"status": status, "code": code, "message": message}},
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
