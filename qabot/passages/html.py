"""The HTML reader: an HTML page as the unit stream (``units.Unit``).

Headings ``<h1>``-``<h6>`` keep their levels; block elements (``<p>``, ``<li>``, ``<dd>``,
``<pre>`` ...) are text or items; a ``<dt>`` or ``<summary>`` shaped like a heading names
what follows it, as an FAQ question does; a table's rows are items, cells named by the
header row (``units.table_row_text``). Scripts, styles, navigation, footers, buttons and a
site banner (a ``<header>`` outside ``<main>``/``<article>``, headings excepted) are left
out, and so are figure captions. Each unit spans its element in the source.
"""

from __future__ import annotations

from html.parser import HTMLParser

from .sentences import is_heading_text
from .units import Unit, table_row_text

__all__ = ["read_html"]

_HTML_SKIP = frozenset(
    {"script", "style", "noscript", "template", "svg", "nav", "footer", "head", "button",
     "select"}
)
#: Where a page's own text lives; a <header> outside them is the site's banner.
_HTML_CONTENT = frozenset({"main", "article"})
_HTML_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_HTML_BLOCKS = frozenset(
    {"p", "li", "dt", "dd", "pre", "blockquote", "figcaption", "caption", "div", "section",
     "article", "main", "body", "ul", "ol", "dl", "table", "form", "header", "aside", "br",
     "hr", "figure", "address", "details", "summary"}
)
#: Blocks that name what follows them, as an FAQ question does: <dt>, <summary>.
_HTML_QUESTIONS = frozenset({"dt", "summary"})


class _HTMLUnits(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.units: list[Unit] = []
        self._line_starts = [0]
        for i, ch in enumerate(source):
            if ch == "\n":
                self._line_starts.append(i + 1)
        self._skip_depth = 0
        self._buffer: list[str] = []
        self._buffer_start = -1
        self._buffer_end = -1
        self._heading: str | None = None
        self._row: list[str] | None = None
        self._row_start = 0
        self._cell: list[str] | None = None
        self._row_is_header = True
        self._header: list[str] | None = None
        self._in_figcaption = 0
        self._block_tag = ""
        self._content_depth = 0  # inside <main> / <article>
        self._banner_depth = 0  # inside a <header> outside them: only headings are kept

    def _offset(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col

    def _flush(self, end: int | None = None) -> None:
        text = " ".join("".join(self._buffer).split())
        if text and self._in_figcaption == 0 and (self._heading or not self._banner_depth):
            kind = "heading" if self._heading else "item" if self._block_tag == "li" else "text"
            level = int(self._heading[1]) if self._heading else 0
            if kind == "text" and self._block_tag in _HTML_QUESTIONS and is_heading_text(text):
                kind, level = "heading", -1
            self.units.append(
                Unit(kind, text, self._buffer_start, end or self._buffer_end, level)
            )
        self._buffer = []
        self._buffer_start = -1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HTML_SKIP:
            self._skip_depth += 1
            return
        if self._skip_depth:
            return
        if tag in _HTML_HEADINGS or tag in _HTML_BLOCKS or tag == "tr":
            self._flush(self._offset())
            self._block_tag = tag
        if tag in _HTML_CONTENT:
            self._content_depth += 1
        elif tag == "header" and (self._banner_depth or not self._content_depth):
            self._banner_depth += 1
        if tag in _HTML_HEADINGS:
            self._heading = tag
        elif tag == "figcaption":
            self._in_figcaption += 1
        elif tag == "table":
            self._header = None
        elif tag == "tr":
            self._row, self._row_start, self._row_is_header = [], self._offset(), True
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            if tag == "td":
                self._row_is_header = False

    def handle_endtag(self, tag: str) -> None:
        if tag in _HTML_SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if self._skip_depth:
            return
        end = self._offset() + len(tag) + 3
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row_is_header and any(self._row):
                self._header = self._row
            elif any(self._row):
                text = table_row_text(self._row, self._header)
                self.units.append(Unit("item", text, self._row_start, end))
            self._row = None
        elif tag in _HTML_HEADINGS or tag in _HTML_BLOCKS:
            self._flush(end)
            self._block_tag = ""
            if tag in _HTML_CONTENT:
                self._content_depth = max(0, self._content_depth - 1)
            elif tag == "header" and self._banner_depth:
                self._banner_depth -= 1
            if tag in _HTML_HEADINGS:
                self._heading = None
            elif tag == "figcaption":
                self._in_figcaption = max(0, self._in_figcaption - 1)

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._cell is not None:
            self._cell.append(data)
            return
        if self._row is not None:
            return
        if data.strip():
            if self._buffer_start < 0:
                self._buffer_start = self._offset()
            self._buffer_end = self._offset() + len(data)
        if self._buffer_start >= 0:
            self._buffer.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def read_html(source: str) -> list[Unit]:
    """The units of an HTML document (see the module docstring)."""
    parser = _HTMLUnits(source)
    parser.feed(source)
    parser.close()
    return parser.units


