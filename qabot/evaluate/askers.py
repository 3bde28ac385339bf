"""Askers: ``question -> reply dict`` over an in-process bot or a running server
(``POST URL/api/chat``), so both are judged by the same code."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ..errors import QABotError


class Asker(Protocol):
    """``(question, context=()) -> reply dict`` (the shape of ``Answer.to_dict()``);
    ``context`` holds a follow-up's earlier questions, newest last, and is passed only
    when there are some, so a ``question -> reply`` callable serves a set without
    follow-ups."""

    def __call__(self, question: str, context: Sequence[str] = ..., /) -> Mapping[str, Any]:
        ...


class RemoteError(QABotError, ConnectionError):
    """A server being evaluated with ``--url`` is unreachable or answered with an error."""


# --------------------------------------------------------------------------- askers


def bot_asker(bot: Any, top_k: int) -> Asker:
    """An asker over an in-process :class:`qabot.answer.QABot` (replies via ``to_dict``)."""

    def ask(question: str, context: Sequence[str] = (), /) -> Mapping[str, Any]:
        return bot.ask(question, top_k=top_k, context=context or None).to_dict()

    return ask


def http_asker(url: str, top_k: int, *, timeout: float = 30.0) -> Asker:
    """An asker that posts ``{"question", "top_k"}`` (and ``context`` when there is one)
    to ``URL/api/chat`` (urllib, JSON).

    An unreachable server, an HTTP error status or a body that is not a JSON object raise
    :class:`RemoteError` with one readable line (the server's ``error`` field if it has one).
    """
    base = url.strip().rstrip("/")
    if not re.match(r"^https?://[^/]", base, flags=re.IGNORECASE):
        raise RemoteError(f"--url must be an http:// or https:// address, got {url!r}")
    endpoint = f"{base}/api/chat"

    def ask(question: str, context: Sequence[str] = (), /) -> Mapping[str, Any]:
        payload: dict[str, Any] = {"question": question, "top_k": top_k}
        if context:
            payload["context"] = list(context)
        body = json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(
            endpoint, data=body, method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc.read())
            exc.close()
            raise RemoteError(
                f"{endpoint} answered HTTP {exc.code}{': ' + detail if detail else ''} "
                f"(question {question!r})"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RemoteError(f"cannot reach {endpoint}: {reason}") from None
        try:
            reply = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise RemoteError(f"{endpoint} did not answer with JSON") from None
        if not isinstance(reply, dict) or "found" not in reply:
            raise RemoteError(f"{endpoint} answered JSON without a 'found' field")
        return reply

    return ask


def _error_detail(raw: bytes) -> str:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return raw.decode("utf-8", "replace").strip()[:200]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            error = error.get("message", error)
        if error is not None:
            return str(error)[:200]
    return ""


# --------------------------------------------------------------------------- judging
