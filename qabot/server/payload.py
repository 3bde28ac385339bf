"""A request's JSON body, read strictly, then validated by its request model.

Strict on purpose: a wrong content type, a body over the limit, malformed JSON (``NaN``, and
a lone surrogate escape such as ``"\\ud800"``, which is no Unicode character, included) are
refused here with a message saying what to fix; what the JSON must hold is the request
model's business (:meth:`qabot.server.schema.RequestModel.parse`).
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from .errors import APIError
from .schema import RequestModel, RequestRefused

__all__ = ["LONE_SURROGATE", "parse_body"]

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
M = TypeVar("M", bound=RequestModel)


def parse_body(model: type[M]) -> M:
    """The current request's body as ``model``, or an :class:`APIError` (400, 413, 415)."""
    payload = _read_json(model.hint)
    try:
        return model.parse(payload)
    except RequestRefused as exc:
        raise APIError(400, exc.code, exc.message) from None


def _read_json(hint: str) -> Any:
    if not request.is_json:
        got = request.mimetype or "none"
        raise APIError(415, "unsupported_media_type",
                       f"send the body as JSON with Content-Type: application/json, got {got}")
    body = _read_body()
    if not body.strip():
        raise APIError(400, "invalid_json", f"the body is empty: send {hint}")
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
    return payload


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
            match = LONE_SURROGATE.search(value)
            if match:
                return ord(match.group())
        elif isinstance(value, dict):
            stack.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return None


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON value")
