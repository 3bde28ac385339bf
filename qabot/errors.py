"""The exceptions qabot raises: one base class, each subclass also a matching built-in."""

from __future__ import annotations

__all__ = ["QABotError", "CorpusError", "EncoderError", "QuestionError", "IndexFormatError"]


class QABotError(Exception):
    """Base class of every error qabot raises on purpose."""


class CorpusError(QABotError, ValueError):
    """A corpus path is missing, unreadable, not text, or holds no usable text.

    The message names the file and the problem, so it can be shown to a user as is.
    """


class QuestionError(QABotError, ValueError):
    """A question is empty, whitespace only, too long, or ``top_k`` is out of range."""


class IndexFormatError(QABotError, ValueError):
    """A saved index directory is incomplete, corrupt, or was written for another corpus."""


class EncoderError(QABotError, ValueError):
    """An encoder name is unknown, its model file is missing or altered, or its optional
    dependencies are not installed. The message says what to do."""
