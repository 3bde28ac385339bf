"""Split documents into sectioned passages: the units qabot retrieves and cites.

The stage is one package, read in data-flow order:

* ``units``: the unit stream every reader emits (:class:`~.units.Unit`: heading, text,
  item, code, with its span) and the line/block helpers the readers share;
* ``sentences``: sentence boundaries, noise (captions, boilerplate), list markers and the
  shape of a heading line, shared by readers and assembler;
* one reader per format, document text in, unit stream out: ``text`` (layout: outlines,
  tables of contents, code, FAQs, man pages), ``markdown`` and ``html``;
* ``assemble``: the unit stream into :class:`Passage` objects (sections and parents,
  list context, sentence-bounded sizes, noise dropped); :func:`split_document` picks the
  reader by ``Document.format`` (``assemble.READERS``).

A new format is a new reader module and one entry in ``assemble.READERS``
(docs/architecture.md).
"""

from __future__ import annotations

from .assemble import (
    LIST_MARKER_CHARS,
    MAX_LIST_CHARS,
    MAX_PASSAGE_CHARS,
    MAX_SECTION_CHARS,
    Passage,
    split_document,
    split_documents,
)
from .sentences import is_noise, split_answer_sentences, split_sentences
from .units import table_row_text

__all__ = [
    "LIST_MARKER_CHARS",
    "MAX_LIST_CHARS",
    "MAX_PASSAGE_CHARS",
    "MAX_SECTION_CHARS",
    "Passage",
    "is_noise",
    "split_answer_sentences",
    "split_document",
    "split_documents",
    "split_sentences",
    "table_row_text",
]
