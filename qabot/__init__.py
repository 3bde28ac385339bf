"""qabot: ask a document a question, get the passage that answers it and its section.

The public names are imported on first use (PEP 562), so that importing a light part of
the package, such as the command line for ``qabot --help``, does not load scikit-learn.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("qabot")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "Alternative",
    "Answer",
    "CorpusError",
    "Document",
    "EncoderError",
    "IndexFormatError",
    "Passage",
    "QABot",
    "QABotError",
    "QuestionError",
    "__version__",
    "load_corpus",
    "split_document",
]

#: Where each public name lives.
_HOMES = {
    "Alternative": "answer", "Answer": "answer", "QABot": "answer",
    "Document": "documents", "load_corpus": "documents",
    "CorpusError": "errors", "EncoderError": "errors", "IndexFormatError": "errors",
    "QABotError": "errors", "QuestionError": "errors",
    "Passage": "passages", "split_document": "passages",
}

if TYPE_CHECKING:
    from .answer import Alternative, Answer, QABot
    from .documents import Document, load_corpus
    from .errors import CorpusError, EncoderError, IndexFormatError, QABotError, QuestionError
    from .passages import Passage, split_document


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'qabot' has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
