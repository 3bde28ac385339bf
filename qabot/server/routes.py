"""The API's endpoints, declared once: each :class:`Endpoint` is both a route of the app
(:func:`qabot.server.app.create_app` registers :data:`ENDPOINTS`) and an operation of
``/api/openapi.json`` (:func:`qabot.server.openapi.openapi_spec` describes them), with the
request model its body is parsed into and the reply models of each status.

To add an endpoint: a view here, taking the parsed body when the endpoint has one
(``body=SomeRequest``: the view is called with the ``SomeRequest`` instance), and one
:class:`Endpoint` in :data:`ENDPOINTS`; its models go in :mod:`qabot.server.schema`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Response, current_app, jsonify, send_from_directory
from werkzeug.exceptions import NotFound

from .. import __version__
from ..answer import QABot
from ..feedback import FeedbackError, FeedbackFull, FeedbackLog, parse_feedback
from . import schema
from .errors import APIError
from .payload import parse_body
from .schema import ChatRequest, FeedbackRequest, ReplyModel, RequestModel, quote

__all__ = ["ENDPOINTS", "Endpoint", "Reply"]


@dataclass(frozen=True)
class Reply:
    """One documented reply of an endpoint: a JSON body of ``model``'s shape, or, for a
    reply that is not JSON, its ``content`` as OpenAPI writes it."""

    description: str
    model: type[ReplyModel] | None = None
    content: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Endpoint:
    """A route and its contract. ``rule`` is werkzeug's (``/api/documents/<path:name>``);
    ``replies`` maps a status (``"200"``, ``"400"``, ``"default"``) to its :class:`Reply`;
    ``body`` is the request model the JSON body is parsed into and handed to ``view``;
    ``parameters`` are the OpenAPI path parameters; ``options`` go to ``add_url_rule``."""

    rule: str
    method: str
    view: Callable[..., Response]
    operation_id: str
    summary: str
    replies: Mapping[str, Reply]
    body: type[RequestModel] | None = None
    example: Mapping[str, Any] | None = None
    parameters: tuple[Mapping[str, Any], ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    def handler(self) -> Callable[..., Response]:
        """The Flask view: parses the body into ``body`` first when there is one."""
        if self.body is None:
            return self.view
        view, model = self.view, self.body

        def parsed(**kwargs: Any) -> Response:
            return view(parse_body(model), **kwargs)

        return parsed


def _bot() -> QABot:
    return current_app.extensions["qabot"]


# ----------------------------------------------------------------------------- views


def _chat(body: ChatRequest) -> Response:
    """``POST /api/chat``: the answer, exactly ``Answer.to_dict()``. ``context`` is passed
    only when it holds earlier questions (as a tuple: the per-process answer cache keys on
    it), so a request without one is answered, and cached, as before follow-ups existed."""
    ask = current_app.extensions["qabot.ask"]
    answer = (ask(body.question, body.top_k, context=tuple(body.context)) if body.context
              else ask(body.question, body.top_k))
    return jsonify(answer.to_dict())


def _health() -> Response:
    bot = _bot()
    health = schema.Health(
        status="ok", version=__version__, documents=len(bot.documents),
        passages=len(bot.passages), threshold=bot.threshold, encoder=bot.encoder,
        skipped=[s.to_dict() for s in current_app.extensions["qabot.skipped"]],
        feedback=current_app.extensions["qabot.feedback"] is not None)
    return jsonify(health.model_dump())


def _sections() -> Response:
    return jsonify(documents=_bot().sections())


def _document(name: str) -> Response:
    """``GET /api/documents/<name>``: a loaded document's sections and passages, for the
    page's reader view. ``name`` is looked up among the loaded documents' names and
    never used as a path, so nothing outside the corpus can be read."""
    document = _bot().document(name)
    if document is None:
        raise APIError(404, "unknown_document", f"no document named {quote(name, limit=200)} "
                       "in the corpus; GET /api/sections lists them")
    return jsonify(document)


def _feedback(body: FeedbackRequest) -> tuple[Response, int]:
    """``POST /api/feedback``: record a reader's vote on a reply (:mod:`qabot.feedback`),
    201 with the vote as written. 404 ``feedback_disabled`` when the server keeps no log;
    422 ``unknown_passage`` for an id the corpus does not have; 507 ``feedback_full``
    (nothing written) when the log is at its cap; 503 when it cannot be written."""
    log: FeedbackLog | None = current_app.extensions["qabot.feedback"]
    if log is None:
        raise APIError(404, "feedback_disabled", "feedback is off on this server: start it "
                       "with --feedback FILE (or QABOT_FEEDBACK=FILE) to record votes")
    try:
        # The rules a schema cannot hold: the ids are the corpus's, chosen only with down.
        vote = parse_feedback(body.model_dump(), current_app.extensions["qabot.feedback.ids"],
                              corpus_hash=current_app.extensions["qabot.feedback.corpus_hash"])
    except FeedbackError as exc:
        raise APIError(exc.status, exc.code, str(exc)) from None
    try:
        log.append(vote)
    except FeedbackFull:
        raise APIError(507, "feedback_full", "the feedback log is full, so the vote was not "
                       "recorded; the server's operator has been told") from None
    except OSError:
        current_app.logger.exception("cannot append to the feedback log %s", log.path)
        raise APIError(503, "feedback_unavailable", "the vote could not be recorded right "
                       "now; try again later") from None
    return jsonify(schema.Vote(**vote.to_dict()).model_dump()), 201


def _openapi() -> Response:
    from .openapi import openapi_spec  # it describes ENDPOINTS, defined below

    return jsonify(openapi_spec())


def _index() -> Response:
    return _web_file("index.html")


def _web_file(filename: str) -> Response:
    """A file of the web folder; hidden files and anything outside it are 404."""
    if filename.startswith("."):
        raise NotFound()
    return send_from_directory(current_app.extensions["qabot.web_dir"], filename)


# ----------------------------------------------------------------------------- the table

#: The reply any endpoint may give: components/responses/Error in the OpenAPI document.
ERROR = Reply("An error, in the one error shape", schema.Error)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "/api/chat", "POST", _chat, "chat", "Answer a question from the corpus",
        body=ChatRequest,
        example={"question": "Where are the headquarters?", "top_k": 3},
        replies={
            "200": Reply("The answer, or found=false with the nearest passages", schema.Answer),
            "400": Reply("invalid_json, invalid_body, unknown_field, invalid_question, "
                         "invalid_top_k or invalid_context", schema.Error),
            "413": Reply("The body is over 64 KiB", schema.Error),
            "415": Reply("The body is not sent as application/json", schema.Error),
            "default": ERROR,
        }),
    Endpoint(
        "/api/feedback", "POST", _feedback, "feedback",
        "Record a reader's vote on a reply (qabot serve --feedback FILE)",
        body=FeedbackRequest,
        example={"question": "Where are the headquarters?", "passage_id": "iom.txt:15824-16214",
                 "vote": "down", "chosen_passage_id": "iom.txt:753-786"},
        replies={
            "201": Reply("The vote, as appended to the log", schema.Vote),
            "400": Reply("invalid_json, invalid_body, unknown_field, invalid_question, "
                         "invalid_passage_id, invalid_vote or invalid_chosen_passage_id",
                         schema.Error),
            "404": Reply("feedback_disabled: the server records no feedback", schema.Error),
            "413": Reply("The body is over 64 KiB", schema.Error),
            "415": Reply("The body is not sent as application/json", schema.Error),
            "422": Reply("unknown_passage: a passage id that is no passage of the loaded "
                         "corpus", schema.Error),
            "503": Reply("feedback_unavailable: the log could not be written (logged)",
                         schema.Error),
            "507": Reply("feedback_full: the log is at its size cap; nothing was written",
                         schema.Error),
            "default": ERROR,
        }),
    Endpoint("/api/health", "GET", _health, "health", "Liveness and corpus size",
             replies={"200": Reply("The server is up", schema.Health), "default": ERROR}),
    Endpoint("/api/sections", "GET", _sections, "sections",
             "Each document with its sections and passage counts",
             replies={"200": Reply("The corpus outline", schema.Sections), "default": ERROR}),
    Endpoint(
        "/api/documents/<path:name>", "GET", _document, "document",
        "A document's sections and passages, to read an answer in place",
        parameters=({"name": "name", "in": "path", "required": True,
                     "description": "A document's name as replies and /api/sections give it; "
                                    "only names of the loaded corpus are found.",
                     "schema": {"type": "string", "examples": ["iom.txt"]}},),
        replies={
            "200": Reply("The document", schema.Document),
            "404": Reply("unknown_document: no such document in the corpus", schema.Error),
            "default": ERROR,
        },
        # merge_slashes off: a name beginning with "/" is a 404 like any other, not a redirect.
        options={"merge_slashes": False}),
    Endpoint("/api/openapi.json", "GET", _openapi, "openapi", "This document", replies={
        "200": Reply("OpenAPI 3.1", content={"application/json": {"schema": {"type": "object"}}}),
        "default": ERROR}),
    Endpoint("/", "GET", _index, "page", "The chat page", replies={
        "200": Reply("index.html", content={"text/html": {"schema": {"type": "string"}}}),
        "default": ERROR}),
    Endpoint(
        "/<filename>", "GET", _web_file, "webFile",
        "A file of the chat page (app.js, style.css, ...)",
        parameters=({"name": "filename", "in": "path", "required": True,
                     "schema": {"type": "string", "examples": ["app.js"]}},),
        replies={
            "200": Reply("The file", content={"*/*": {"schema": {"type": "string"}}}),
            "404": Reply("No such file", schema.Error),
            "default": ERROR,
        }),
)
