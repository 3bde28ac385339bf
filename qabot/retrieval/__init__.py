"""Retrieval: score every passage for a question with each signal and fuse the scores.

``lexical`` (TF-IDF, always on) and ``semantic`` (sentence embeddings, ``--encoder``)
are the signals, ``fusion`` the rule that joins them, and ``ranker`` the one object the
answer layer asks (and saves and verifies an index on disk).
"""

from .fusion import SEMANTIC_WEIGHT, blend, reciprocal_rank
from .lexical import LexicalIndex, indexed_text, normalize
from .ranker import INDEX_FORMAT, Hit, Ranker, Scores
from .semantic import (
    DEFAULT_ENCODER,
    ENCODER_ENV,
    ENCODERS,
    Encoder,
    EncoderInfo,
    load_encoder,
    resolve_encoder_name,
)

__all__ = [
    "DEFAULT_ENCODER",
    "ENCODERS",
    "ENCODER_ENV",
    "INDEX_FORMAT",
    "SEMANTIC_WEIGHT",
    "Encoder",
    "EncoderInfo",
    "Hit",
    "LexicalIndex",
    "Ranker",
    "Scores",
    "blend",
    "indexed_text",
    "load_encoder",
    "normalize",
    "reciprocal_rank",
    "resolve_encoder_name",
]
