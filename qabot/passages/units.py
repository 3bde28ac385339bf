"""The unit stream every reader emits, and the line and block helpers they share.

A reader (``text``, ``markdown``, ``html``) turns one document into a list of :class:`Unit`
(headings, text, list items, table rows, code) in document order; ``assemble`` turns that
list into sectioned passages. Nothing here knows a format.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "Line", "Unit", "indent_of", "iter_lines", "split_blocks", "split_lines", "table_row_text",
]


@dataclass(frozen=True)
class Unit:
    """One element of a document as every reader reports it: a heading (``level`` from
    markup, ``depth`` from an outline number, both 0 when layout must place it), a run of
    text, an item of a list (or a table row), or code kept verbatim.

    ``start``/``end`` span the unit in the document's text. ``text`` is empty when the
    passage text is to be read from that span (the assembler cleans it and cuts it into
    sentences, each keeping its own span); it is set when the reader made the text itself
    (a heading, a table row, an HTML element), which is then its own source.
    """

    kind: str  # "heading", "text", "item" (of a list) or "code" (fenced, kept verbatim)
    text: str
    start: int
    end: int
    level: int = 0  # heading level from markup; 0 when it must be inferred from layout
    depth: int = 0  # outline depth of a numbered plain-text heading: "2." 1, "2.1." 2


class Line(NamedTuple):
    """One line of a document, without its newline.

    A named tuple, not a frozen dataclass like the other plain data: a document has a line
    for every 40 characters or so, all alive while it is read, and a named tuple is made in
    two thirds of the time and takes a tenth less memory. For the same reason ``end`` is
    worked out, not stored.
    """

    start: int  # offset of the first character of the line
    text: str

    @property
    def end(self) -> int:
        """The offset just past the line's last character (its newline excluded)."""
        return self.start + len(self.text)


def split_lines(text: str) -> list[Line]:
    """Every line of ``text`` with its span (a blank line included)."""
    return list(iter_lines(text))


def iter_lines(text: str) -> Iterator[Line]:
    """The lines of :func:`split_lines` one at a time, so that a reader keeping only some
    (:func:`split_blocks` drops the blank ones) never holds them all."""
    pos = 0
    for raw in text.split("\n"):
        yield Line(pos, raw)
        pos += len(raw) + 1


def split_blocks(lines: Iterable[Line]) -> list[list[Line]]:
    """Runs of non-blank lines: the blocks that layout rules read."""
    blocks: list[list[Line]] = []
    current: list[Line] = []
    for line in lines:
        if line.text.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def indent_of(s: str) -> int:
    """How many space characters (Unicode ones too) open ``s``."""
    return len(s) - len(s.lstrip())


def table_row_text(cells: list[str], header: list[str] | None = None) -> str:
    """A table row as one line of text, ``"first - Header: cell; Header: cell"``.

    With three columns or more each cell after the first is named by its column's header,
    so "2019 - 12 - 40" reads "2019 - Staff: 12; Offices: 40"; a two-column row is a key
    and its value, "key - value". Empty cells are left out.
    """
    named = header is not None and len(header) == len(cells) and len(cells) >= 3
    if named and cells[0] and all(header):
        rest = "; ".join(f"{h}: {c}" for h, c in zip(header[1:], cells[1:], strict=True) if c)
        return f"{cells[0]} - {rest}" if rest else cells[0]
    return " - ".join(c for c in cells if c)


