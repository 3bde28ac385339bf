"""The Markdown reader: a Markdown document as the unit stream (``units.Unit``), read from
markdown-it-py's CommonMark tokens (with its GFM table rule), not from regular expressions.

* ``heading_open`` (ATX ``#`` or setext, underlined) is a heading of its level, its text the
  inline content without markup, its span the heading's text line(s);
* a paragraph is a text unit spanning its lines; the first paragraph of a list item is an
  item spanning the item's marker line to the paragraph's end (nested lists give their own
  items), later paragraphs of the item are text;
* ``fence`` and indented ``code_block`` are code units (their content lines), never headings
  or items; an ``html_block`` is read by the HTML reader (its text and headings, not its
  tags);
* a table's body rows are items, ``units.table_row_text`` of their cells, named by the
  header row; a thematic break (``hr``) ends nothing but the paragraph before it.

Units read from a span (paragraphs, items) are cleaned by the assembler with
:func:`clean_inline`, which also parses with markdown-it-py: links and images become their
text, emphasis and code spans lose their markers, entities and backslash escapes are
decoded, raw inline HTML is kept as written; the assembler drops a blockquote's ``>``.
"""

from __future__ import annotations

import re
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .html import read_html
from .units import Line, Unit, table_row_text

__all__ = ["clean_inline", "read_markdown"]


@cache
def _parser() -> MarkdownIt:
    """CommonMark with GFM tables; built once (it holds no per-document state)."""
    return MarkdownIt("commonmark").enable("table")


#: Where markdown-it ends a line: it reads ``\r\n`` and a lone ``\r`` as ``\n``.
_LINE_END = re.compile(r"\r\n?|\n")


def _markdown_lines(text: str) -> list[Line]:
    """The lines of ``text`` as markdown-it numbers them in its tokens' ``map``, with their
    spans in ``text``."""
    lines, start = [], 0
    for end in _LINE_END.finditer(text):
        lines.append(Line(start, text[start:end.start()]))
        start = end.end()
    lines.append(Line(start, text[start:]))
    return lines


def read_markdown(text: str) -> list[Unit]:
    """The units of a Markdown document (see the module docstring)."""
    lines = _markdown_lines(text)
    tokens = _parser().parse(text)

    def span(first: int, last: int) -> tuple[int, int] | None:
        """Offsets of lines ``first``..``last`` (0-based, inclusive), blank lines at the
        edges left out; ``None`` when all are blank."""
        content = [ln for ln in lines[first : last + 1] if ln.text.strip()]
        return (content[0].start, content[-1].end) if content else None

    units: list[Unit] = []
    item_starts: list[int] = []  # the marker line of each open list item, innermost last
    item_fresh: list[bool] = []  # whether that item's first paragraph is still to come
    header: list[str] | None = None
    i = 0
    while i < len(tokens):
        token = tokens[i]
        kind = token.type
        if kind in ("html_block", "list_item_open") and item_fresh:
            # The open items' first content has come (a nested item, raw HTML): a paragraph
            # after it starts on its own line, so units stay in document order.
            item_fresh[:] = [False] * len(item_fresh)
        if kind == "list_item_open" and token.map:
            item_starts.append(token.map[0])
            item_fresh.append(True)
        elif kind == "list_item_close":
            item_starts.pop()
            item_fresh.pop()
        elif kind == "heading_open" and token.map:
            inline = tokens[i + 1]
            first, last = token.map[0], token.map[1] - 1
            if token.markup in ("=", "-"):
                last -= 1  # a setext heading: its text lines, not the underline
            where = span(first, last)
            heading = _inline_text(inline)
            if heading and where:
                units.append(Unit("heading", heading, *where, level=int(token.tag[1])))
            i += 3
            continue
        elif kind in ("fence", "code_block") and token.map:
            first, last = token.map[0], token.map[1] - 1
            if kind == "fence":
                first += 1
                closing = lines[last].text.lstrip(" \t>") if last < len(lines) else ""
                if last >= first and closing.startswith(token.markup):
                    last -= 1
            where = span(first, last)
            if where:
                units.append(Unit("code", "", *where))
        elif kind == "paragraph_open" and token.map:
            first, last = token.map[0], token.map[1] - 1
            item = bool(item_fresh) and item_fresh[-1]
            if item:
                first = item_starts[-1]
                item_fresh[-1] = False
            where = span(first, last)
            if where:
                units.append(Unit("item" if item else "text", "", *where))
        elif kind == "html_block" and token.map:
            # Raw HTML is read by the HTML reader: its text, not its tags ("</details>").
            offset = lines[token.map[0]].start
            units.extend(Unit(u.kind, u.text, u.start + offset, u.end + offset, u.level)
                         for u in read_html(token.content))
        elif kind == "thead_open":
            header = None
        elif kind == "tr_open" and token.map:
            cells, j = [], i + 1
            while tokens[j].type != "tr_close":
                if tokens[j].type == "inline":
                    cells.append(_inline_text(tokens[j]))
                j += 1
            if header is None:
                header = cells
            else:
                row = table_row_text(cells, header)
                where = span(token.map[0], token.map[1] - 1)
                if row and where:
                    units.append(Unit("item", row, *where))
            i = j + 1
            continue
        elif kind == "table_close":
            header = None
        i += 1
    return units


def _inline_text(token: Token) -> str:
    """An inline token's text without markup: link and image text kept, code spans and
    raw HTML as written, line breaks as spaces; whitespace collapsed."""
    parts: list[str] = []
    for child in token.children or ():
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)  # its alt text
    return " ".join("".join(parts).split())


def clean_inline(s: str) -> str:
    """Inline Markdown (links, images, emphasis, code spans, escapes) reduced to its text."""
    tokens = _parser().parseInline(s)
    return _inline_text(tokens[0]) if tokens else " ".join(s.split())
