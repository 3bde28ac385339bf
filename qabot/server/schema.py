"""The HTTP API's request and reply shapes, declared once as pydantic models.

A request model both validates what a client sends (:meth:`RequestModel.parse`) and is the
JSON Schema of that body in ``/api/openapi.json`` (:mod:`qabot.server.openapi` generates
every component from the models here), so what the server accepts and what it documents
are one declaration. A refusal names the field, the rule and the value got: the code is
``invalid_<field>`` and the message comes from the field's :class:`Refusal`, built from the
same limits as the field's constraints. A field that is missing, an unknown field and a body
that is not an object get messages made from the model itself.

The reply models describe what the views send. The chat reply is the engine's
``Answer.to_dict()`` as it is (the one JSON shape the Python API, the CLI and HTTP share);
the tests check every reply against these models' schemas, so they cannot drift apart.

To add a request field: an annotated attribute with its constraints, its description and a
:class:`Refusal` (optional fields get a default). To add a reply key: an attribute on the
reply model (with a default when the key is not always there).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from ..answer import validate_question
from ..errors import QuestionError
from ..feedback import MAX_PASSAGE_ID_LENGTH, VOTES
from ..limits import DEFAULT_TOP_K, ENCODERS, MAX_CONTEXT, MAX_QUESTION_LENGTH, MAX_TOP_K

__all__ = [
    "NOT_BLANK_PATTERN",
    "REPLY_MODELS",
    "REQUEST_MODELS",
    "Alternative",
    "Answer",
    "ChatRequest",
    "FeedbackRequest",
    "Document",
    "Error",
    "Health",
    "Refusal",
    "RequestModel",
    "RequestRefused",
    "Sections",
    "Vote",
    "describe",
    "quote",
]

#: "Holds a character that is not whitespace", with whitespace as Python's ``str.strip``
#: sees it (ECMA-262's ``\S`` differs: it counts U+FEFF as space and U+001C-U+001F, U+0085
#: as text), so the schema and the server refuse exactly the same blank questions.
NOT_BLANK_PATTERN = (
    "[^\\t\\n\\u000b\\u000c\\r\\u001c-\\u001f \\u0085\\u00a0\\u1680\\u2000-\\u200a"
    "\\u2028\\u2029\\u202f\\u205f\\u3000]"
)


def quote(text: str, limit: int = 40) -> str:
    """``text`` as a JSON string, cut to ``limit`` characters so an error stays short."""
    return json.dumps(text if len(text) <= limit else text[:limit] + "…", ensure_ascii=False)


def describe(value: object) -> str:
    """A JSON value's type, with the value itself when short: ``string "3"``, ``number 1.5``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int | float):
        return f"number {value}" if isinstance(value, int) or math.isfinite(value) else "number"
    if isinstance(value, str):
        return f"string {quote(value)}"
    return "array" if isinstance(value, list) else "object"


# ----------------------------------------------------------------------------- requests


class RequestRefused(ValueError):
    """A request body its model refuses: ``code`` (``invalid_body``, ``unknown_field``,
    ``invalid_<field>``) and a message naming the field, the rule, the value got and the fix."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Refusal:
    """A request field's error message: ``message(value)`` for a value the field refuses,
    the value as the client sent it (Annotated metadata of the field)."""

    message: Callable[[Any], str]


class RequestModel(BaseModel):
    """A JSON request body: an object of the declared fields only, each checked strictly
    (no string to number coercion, no bool as integer)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The smallest valid body, quoted when a field is missing or the body is no object.
    hint: ClassVar[str]

    @classmethod
    def parse(cls, payload: object) -> Self:
        """``payload`` (parsed JSON) as this model, or :class:`RequestRefused`.

        One refusal is reported, in this order: the body is not an object, unknown fields
        (all of them named), then the first refused field in declaration order.
        """
        try:
            return cls.model_validate(payload)
        except ValidationError as exc:
            raise cls._refusal(payload, exc) from None

    @classmethod
    def _refusal(cls, payload: object, exc: ValidationError) -> RequestRefused:
        if not isinstance(payload, dict):
            return RequestRefused("invalid_body", "the body must be a JSON object like "
                                  f"{cls.hint}, got {describe(payload)}")
        fields = cls.model_fields
        unknown = [name for name in payload if name not in fields]
        if unknown:
            names = ", ".join(quote(name) for name in unknown)
            return RequestRefused("unknown_field",
                                  f"unknown field{'s' if len(unknown) > 1 else ''} {names}: "
                                  f"the allowed fields are {', '.join(fields)}")
        refused = {error["loc"][0]: error for error in reversed(exc.errors(include_url=False))
                   if error["loc"]}
        name = next(name for name in fields if name in refused)
        if name not in payload:
            return RequestRefused(f"invalid_{name}", f"{name} is required: send {cls.hint}")
        refusal = next((m for m in fields[name].metadata if isinstance(m, Refusal)), None)
        if refusal is None:  # a field declared without one: pydantic's words
            return RequestRefused(f"invalid_{name}", f"{name}: {refused[name]['msg']}")
        return RequestRefused(f"invalid_{name}", refusal.message(payload[name]))


def _question_refused(value: Any) -> str:
    if not isinstance(value, str):
        return f"question must be a string, got {describe(value)}"
    if len(value) > MAX_QUESTION_LENGTH:  # counted as sent, like the schema's maxLength
        return f"question must be 1 to {MAX_QUESTION_LENGTH} characters, got {len(value)}"
    try:
        validate_question(value)
    except QuestionError as exc:  # empty or blank: the engine's own words
        return str(exc)
    raise AssertionError(f"the question {value!r} was refused for no known reason")


def _whole_number(value: Any) -> Any:
    """A number with no fraction (``3.0``, ``3e0``) is that integer, as in JSON Schema,
    which cannot tell ``3.0`` from ``3``."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _top_k_refused(value: Any) -> str:
    value = _whole_number(value)
    # The engine names Python types; a JSON client should read JSON ones.
    got = value if isinstance(value, int) and not isinstance(value, bool) else describe(value)
    return f"top_k must be an integer from 1 to {MAX_TOP_K}, got {got}"


def _context_refused(value: Any) -> str:
    if not isinstance(value, list) or len(value) > MAX_CONTEXT:
        got = f"{len(value)} items" if isinstance(value, list) else describe(value)
        return (f"context must be a list of at most {MAX_CONTEXT} earlier questions (newest "
                f"last), got {got}")
    for number, item in enumerate(value, start=1):
        if not isinstance(item, str) or not 1 <= len(item) <= MAX_QUESTION_LENGTH or (
                not item.strip()):
            got = (f"{len(item)} characters" if isinstance(item, str) and item.strip()
                   else describe(item))
            return (f"context item {number} must be a question of 1 to "
                    f"{MAX_QUESTION_LENGTH} characters, not blank, got {got}")
    raise AssertionError(f"the context {value!r} was refused for no known reason")


#: One earlier question of a follow-up's context: checked like ``question``.
EarlierQuestion = Annotated[str, Field(
    strict=True, min_length=1, max_length=MAX_QUESTION_LENGTH, pattern=NOT_BLANK_PATTERN)]


class ChatRequest(RequestModel):
    """The body of POST /api/chat."""

    hint: ClassVar[str] = '{"question": "..."}'

    question: Annotated[str, Field(
        strict=True, min_length=1, max_length=MAX_QUESTION_LENGTH, pattern=NOT_BLANK_PATTERN,
        description="Not blank; the limit counts the string as sent, surrounding space "
                    "included, which is then stripped. A lone surrogate escape (\\ud800) is "
                    "refused as invalid JSON."), Refusal(_question_refused)]
    top_k: Annotated[int, Field(
        strict=True, ge=1, le=MAX_TOP_K,
        description="Passages to return: the answer and runners-up. A JSON integer such as "
                    "3 (3.0 is the same number); 1.5, \"3\" and true are refused."),
        BeforeValidator(_whole_number), Refusal(_top_k_refused)] = DEFAULT_TOP_K
    context: Annotated[list[EarlierQuestion], Field(
        strict=True, max_length=MAX_CONTEXT, default_factory=list,
        description="The conversation's earlier questions, newest last, each checked like "
                    "question. A question that leans on them (\"When was it founded?\") is "
                    "answered as the standalone question given in the reply's "
                    "resolved_question."), Refusal(_context_refused)]


# ----------------------------------------------------------------------------- feedback


def _passage_id_refused(name: str, what: str) -> Callable[[Any], str]:
    def message(value: Any) -> str:
        return (f"{name} must be {what} as replies give it (<document>:<start>-<end>, at most "
                f"{MAX_PASSAGE_ID_LENGTH} characters), got {describe(value)}")
    return message


def _feedback_question_refused(value: Any) -> str:
    return ("question must be the question asked, a non-blank string of 1 to "
            f"{MAX_QUESTION_LENGTH} characters, got {describe(value)}")


class FeedbackRequest(RequestModel):
    """The body of POST /api/feedback: a reader's vote on a reply. Both passage ids must be
    passages of the loaded corpus (else 422 unknown_passage), and differ; the view checks
    that (:func:`qabot.feedback.parse_feedback`), since no schema can list the corpus."""

    # A chosen passage goes with a thumbs-down only.
    model_config = ConfigDict(json_schema_extra={
        "if": {"properties": {"vote": {"const": "up"}}, "required": ["vote"]},
        "then": {"properties": {"chosen_passage_id": {"type": "null"}}}})

    hint: ClassVar[str] = '{"question": "...", "passage_id": "...", "vote": "up"}'

    question: Annotated[str, Field(
        strict=True, min_length=1, max_length=MAX_QUESTION_LENGTH, pattern=NOT_BLANK_PATTERN,
        description="The question asked (the reply's question)."),
        Refusal(_feedback_question_refused)]
    passage_id: Annotated[str, Field(
        strict=True, min_length=1, max_length=MAX_PASSAGE_ID_LENGTH,
        description="The passage shown as the answer (the reply's passage_id).",
        examples=["iom.txt:15824-16214"]),
        Refusal(_passage_id_refused("passage_id", "a passage id"))]
    vote: Annotated[Literal[VOTES], Field(  # type: ignore[valid-type]
        description="up: the answer was right; down: it was not."),
        Refusal(lambda value: f'vote must be "up" or "down", got {describe(value)}')]
    chosen_passage_id: Annotated[
        Annotated[str, Field(strict=True, min_length=1, max_length=MAX_PASSAGE_ID_LENGTH)] | None,
        Field(description="With vote down only: the alternative the reader says was the "
                          "right passage (another passage than passage_id)."),
        Refusal(_passage_id_refused("chosen_passage_id", "null or a passage id"))] = None


# ----------------------------------------------------------------------------- replies


class ReplyModel(BaseModel):
    """A JSON reply: exactly these keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


PassageId = Annotated[str, Field(
    description="The passage's stable id, <document>:<start>-<end> (its character span in the "
                "document), with :2, :3, ... for a further passage of the same span; GET "
                "/api/documents/{name} lists it.",
    examples=["iom.txt:1234-1456"])]


class Alternative(ReplyModel):
    answer: str
    section: str
    document: str
    score: float
    passage_id: PassageId


class Answer(ReplyModel):
    """QABot.ask(...).to_dict(). When found is false, answer, section, document, highlight
    and passage_id are null, message says why and alternatives hold the best passage of each
    nearest section. An answer from a list holds the list, one item a line; highlight is the
    item that matched."""

    question: str
    found: bool
    answer: str | None
    section: str | None
    document: str | None
    score: float
    highlight: str | None
    alternatives: list[Alternative]
    message: str | None
    passage_id: PassageId | None
    resolved_question: str | None = Field(
        default=None,
        description="Only when the request had a context: the standalone question answered "
                    "when question was read as a follow-up, null when it was answered as "
                    "asked.")


class DocumentPassage(ReplyModel):
    passage_id: PassageId
    text: str
    start: Annotated[int, Field(ge=0)]
    end: Annotated[int, Field(ge=0)]


class DocumentSection(ReplyModel):
    section: str
    parents: list[str] = Field(description="The headings above the section, outermost first.")
    passages: list[DocumentPassage] = Field(min_length=1)


class Document(ReplyModel):
    """A document as qabot read it: its sections in order, each with the headings above it
    and its passages. Text, never markup."""

    document: str
    title: str
    sections: list[DocumentSection] = Field(min_length=1)


class SkippedFile(ReplyModel):
    document: str
    reason: str


class Health(ReplyModel):
    status: Literal["ok"]
    version: str
    documents: Annotated[int, Field(ge=1)]
    passages: Annotated[int, Field(ge=1)]
    threshold: float = Field(ge=0, description="The lowest score answered with found true.")
    encoder: Literal[ENCODERS] = Field(  # type: ignore[valid-type]
        description="The semantic signal joined to TF-IDF (none: TF-IDF alone).")
    skipped: list[SkippedFile] = Field(
        description="Files of the corpus folder left out, and why (binary, not UTF-8, empty, "
                    "unreadable, a link outside the folder).")
    feedback: bool = Field(description="Whether POST /api/feedback records votes (qabot serve "
                                       "--feedback FILE).")


class Vote(ReplyModel):
    """A vote as written to the feedback log, one JSON line (qabot.feedback.Vote.to_dict());
    time and corpus_hash are the server's."""

    time: str = Field(description="ISO 8601, UTC", examples=["2026-11-30T08:00:00.123Z"])
    corpus_hash: str = Field(pattern="^[0-9a-f]{64}$",
                             description="SHA-256 of the loaded corpus's documents.")
    question: str
    passage_id: PassageId
    vote: Literal[VOTES]  # type: ignore[valid-type]
    chosen_passage_id: PassageId | None


class SectionCount(ReplyModel):
    section: str
    passages: Annotated[int, Field(ge=1)]


class DocumentOutline(ReplyModel):
    document: str
    title: str
    sections: list[SectionCount]


class Sections(ReplyModel):
    documents: list[DocumentOutline]


#: Every error code the server answers with (the schema's examples).
ERROR_CODES = ("invalid_question", "invalid_top_k", "invalid_context", "unknown_field",
               "unknown_document",
               "invalid_json", "invalid_body", "unsupported_media_type", "body_too_large",
               "not_found", "method_not_allowed", "internal_error", "bad_request",
               "headers_too_large", "not_implemented", "invalid_vote", "invalid_passage_id",
               "invalid_chosen_passage_id", "unknown_passage", "feedback_disabled",
               "feedback_full", "feedback_unavailable")


class ErrorDetail(ReplyModel):
    status: Annotated[int, Field(ge=400, le=599)]
    code: Annotated[str, Field(pattern="^[a-z_]+$", examples=list(ERROR_CODES))]
    message: str


class Error(ReplyModel):
    """The one shape of every error reply."""

    error: ErrorDetail

    @staticmethod
    def body(status: int, code: str, message: str) -> dict[str, Any]:
        """The error reply as plain data, its keys those of :class:`ErrorDetail`."""
        return {"error": {"status": status, "code": code, "message": message}}


#: The models /api/openapi.json has as components, under their class names.
REQUEST_MODELS: tuple[type[RequestModel], ...] = (ChatRequest, FeedbackRequest)
REPLY_MODELS: tuple[type[ReplyModel], ...] = (Answer, Document, Health, Sections, Vote, Error)
