"""The Flask app: :func:`create_app` builds it, with the bot built once and kept on it, the
routes of :data:`qabot.server.routes.ENDPOINTS` and the JSON error handling of
:mod:`qabot.server.errors`."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

import qabot

from ..answer import QABot
from ..documents import Skipped, corpus_hash, default_corpus_path, load_corpus
from ..feedback import DEFAULT_MAX_BYTES, FeedbackLog
from . import errors
from .payload import LONE_SURROGATE
from .routes import ENDPOINTS

__all__ = ["MAX_BODY_BYTES", "JSONProvider", "create_app", "default_web_dir"]

#: The largest request body accepted; a question is at most 1000 characters, so 64 KiB is ample.
MAX_BODY_BYTES = 64 * 1024
#: Answers each process keeps, by (question, top_k): a repeated question costs no search.
ANSWER_CACHE = 256


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, made strict: never ``NaN``/``Infinity`` (not JSON; a reply holding one
    is a logged 500 instead), never a lone surrogate (not UTF-8; replaced by U+FFFD), the
    key order kept and non-ASCII text written as is."""

    sort_keys = False
    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("allow_nan", False)
        return LONE_SURROGATE.sub("\ufffd", super().dumps(obj, **kwargs))


def create_app(config: Mapping[str, Any] | None = None, *, bot: QABot | None = None,
               feedback_path: str | Path | None = None) -> Flask:
    """Build the qabot Flask app.

    ``config`` keys: ``CORPUS`` (a file or folder, default ``$QABOT_CORPUS`` else
    ``./corpus``; unused when ``bot`` is given), ``STRICT`` and ``FOLLOW_SYMLINKS`` (how
    the corpus is loaded, see :func:`~qabot.documents.load_corpus`; default false),
    ``SKIPPED`` (with ``bot``: the files its corpus loading skipped, shown by
    ``/api/health``), ``WEB_DIR`` (the chat page's folder, default the packaged ``web``
    folder), ``MAX_CONTENT_LENGTH`` (default 64 KiB), ``FEEDBACK_MAX_BYTES`` (the feedback
    log's size cap, default 16 MiB), plus any Flask setting. The bot is built here, once,
    and kept in ``app.extensions["qabot"]``. ``feedback_path``: the JSON-lines file that
    ``POST /api/feedback`` appends readers' votes to (:mod:`qabot.feedback`); without it,
    feedback is off. A path that cannot be appended to raises
    :class:`~qabot.feedback.FeedbackError` here.
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
        FEEDBACK_MAX_BYTES=DEFAULT_MAX_BYTES,
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
    # The index is read-only, so an answer depends only on (question, top_k): each process
    # keeps its last ANSWER_CACHE answers (Answer is frozen, safe to share between threads).
    app.extensions["qabot.ask"] = lru_cache(maxsize=ANSWER_CACHE)(bot.ask)
    app.extensions["qabot.skipped"] = skipped
    app.extensions["qabot.web_dir"] = Path(app.config["WEB_DIR"] or default_web_dir())
    _setup_feedback(app, bot, feedback_path)

    errors.register(app)
    for endpoint in ENDPOINTS:
        app.add_url_rule(endpoint.rule, endpoint.operation_id, endpoint.handler(),
                         methods=[endpoint.method], **endpoint.options)
    return app


def _setup_feedback(app: Flask, bot: QABot, path: str | Path | None) -> None:
    """Keep the feedback log (``None``: off) on the app and, when on, the corpus's passage
    ids and hash: the server's record of which corpus a vote was about."""
    app.extensions["qabot.feedback"] = None
    if path is None:
        return
    log = FeedbackLog(path, app.config["FEEDBACK_MAX_BYTES"])
    log.check()
    app.extensions["qabot.feedback"] = log
    app.extensions["qabot.feedback.ids"] = frozenset(bot.passage_ids)
    app.extensions["qabot.feedback.corpus_hash"] = corpus_hash(bot.documents)


def default_web_dir() -> Path:
    """The chat page folder: ``qabot/web`` in an installed wheel, else the checkout's ``web/``."""
    package = Path(qabot.__file__).resolve().parent
    installed = package / "web"
    return installed if installed.is_dir() else package.parent / "web"
