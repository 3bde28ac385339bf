"""qabot: ask a document a question, get the passage that answers it and its section."""

from importlib.metadata import PackageNotFoundError, version

from .answer import Alternative, Answer, QABot
from .documents import Document, load_corpus
from .errors import CorpusError, EncoderError, IndexFormatError, QABotError, QuestionError
from .passages import Passage, split_document

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
