"""The Flask app: :func:`create_app` builds it, with the bot built once and kept on it, the
routes of :data:`qabot.server.routes.ENDPOINTS` and the JSON error handling of
:mod:`qabot.server.errors`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

import qabot

from ..answer import QABot
from ..documents import Skipped, default_corpus_path, load_corpus
from . import errors
from .payload import LONE_SURROGATE
from .routes import ENDPOINTS

__all__ = ["MAX_BODY_BYTES", "JSONProvider", "create_app", "default_web_dir"]

#: The largest request body accepted; a question is at most 1000 characters, so 64 KiB is ample.
MAX_BODY_BYTES = 64 * 1024


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, made strict: never ``NaN``/``Infinity`` (not JSON; a reply holding one
    is a logged 500 instead), never a lone surrogate (not UTF-8; replaced by U+FFFD), the
    key order kept and non-ASCII text written as is."""

    sort_keys = False
    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("allow_nan", False)
        return LONE_SURROGATE.sub("\ufffd", super().dumps(obj, **kwargs))


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

    errors.register(app)
    for endpoint in ENDPOINTS:
        app.add_url_rule(endpoint.rule, endpoint.operation_id, endpoint.handler(),
                         methods=[endpoint.method], **endpoint.options)
    return app


def default_web_dir() -> Path:
    """The chat page folder: ``qabot/web`` in an installed wheel, else the checkout's ``web/``."""
    package = Path(qabot.__file__).resolve().parent
    installed = package / "web"
    return installed if installed.is_dir() else package.parent / "web"
