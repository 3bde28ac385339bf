"""The limits and names the stages and the command line share, in a module that imports
nothing heavy, so that ``qabot --help`` and ``qabot --version`` start without loading
scikit-learn, numpy or an embedding model."""

from __future__ import annotations

__all__ = [
    "DEFAULT_ENCODER",
    "DEFAULT_TOP_K",
    "ENCODERS",
    "ENCODER_ENV",
    "MAX_CONTEXT",
    "MAX_QUESTION_LENGTH",
    "MAX_TOP_K",
]

#: The longest question, in characters once surrounding space is stripped.
MAX_QUESTION_LENGTH = 1000
#: Passages a reply holds by default (the answer and its runners-up), and at most.
DEFAULT_TOP_K = 3
MAX_TOP_K = 10
#: Earlier questions a follow-up may come with (``context``), newest last.
MAX_CONTEXT = 5
#: The semantic signals ``--encoder`` offers, as ``qabot.retrieval.semantic`` defines them
#: (tests/test_cli.py checks that the two agree; the retrieval package is not imported here
#: because it loads scikit-learn).
ENCODERS = ("static", "transformer", "none")
DEFAULT_ENCODER = "static"
ENCODER_ENV = "QABOT_ENCODER"
