"""The HTML reader: an HTML page as the unit stream (``units.Unit``).

Headings ``<h1>``-``<h6>`` keep their levels; block elements (``<p>``, ``<li>``, ``<dd>``
...) are text or items, a ``<pre>`` is code; a ``<dt>`` or ``<summary>`` shaped like a heading names
what follows it, as an FAQ question does; a table's rows are items, cells named by the
header row (``units.table_row_text``). Scripts, styles, navigation, footers, buttons and a
site banner (a ``<header>`` outside ``<main>``/``<article>``, headings excepted) are left
out, and so are figure captions, and a same-page link with no letter or digit in it (the
"¶" or "#" a generated page puts beside each heading). Each unit spans its element in the
source.

Navigation inside the page is left out too: a block whose letters lie at least
``NAVIGATION_SHARE`` (0.8) inside links to fragments of the same page (``href="#..."``) is a
table of contents or a "back to top" line, not content. A block is a paragraph (or any other
block element), a whole ``<ul>``/``<ol>`` list (its items judged together, a nested list on
its own), or a run of ``<br/>``-separated lines between block boundaries; letters outside
links count against it, digits and punctuation ("1.2", "|") do not count. A heading whose
whole section (up to the next heading of its level or above) then holds only such dropped
navigation is dropped with it, so a "Contents" heading is not a section of its own. A link
left open ends with its block, so one unclosed ``<a>`` cannot make the rest of a page navigation.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
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
#: Lists whose items are judged together as navigation or content.
_HTML_LISTS = frozenset({"ul", "ol"})
#: The share of a block's letters inside same-page fragment links from which it is
#: navigation: "nearly wholly" links, so a sentence that cites "see G3" stays content.
NAVIGATION_SHARE = 0.8


@dataclass(frozen=True)
class _Letters:
    """How many letters one unit has and how many of them are inside same-page fragment
    links, and the block (``group``) it is judged with; ``group`` is -1 for a unit never
    judged (a heading, a table row)."""

    group: int
    letters: int = 0
    linked: int = 0


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
        # Navigation: one _Letters per unit; the open <a> tags (True: a fragment link);
        # the open lists' block ids; the id of the current run of <br/>-separated lines.
        self.letters: list[_Letters] = []
        self._anchors: list[bool] = []
        self._anchor_starts: list[int] = []  # where each open <a>'s text starts in the buffer
        self._lists: list[int] = []
        self._groups = 0
        self._run = 0
        self._buffer_letters = 0
        self._buffer_linked = 0

    def _offset(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col

    def _flush(self, end: int | None = None) -> None:
        text = " ".join("".join(self._buffer).split())
        if text and self._in_figcaption == 0 and (self._heading or not self._banner_depth):
            kind = ("heading" if self._heading else "item" if self._block_tag == "li"
                    else "code" if self._block_tag == "pre" else "text")
            level = int(self._heading[1]) if self._heading else 0
            if kind == "text" and self._block_tag in _HTML_QUESTIONS and is_heading_text(text):
                kind, level = "heading", -1
            self.units.append(
                Unit(kind, text, self._buffer_start, end or self._buffer_end, level)
            )
            group = -1 if kind == "heading" else self._lists[-1] if self._lists else self._run
            self.letters.append(_Letters(group, self._buffer_letters, self._buffer_linked))
        self._buffer = []
        self._buffer_start = -1
        self._buffer_letters = self._buffer_linked = 0

    def _new_group(self) -> int:
        self._groups += 1
        return self._groups

    def _append_row(self, unit: Unit) -> None:
        self.units.append(unit)
        self.letters.append(_Letters(-1))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HTML_SKIP:
            self._skip_depth += 1
            return
        if self._skip_depth:
            return
        if tag == "a":
            href = dict(attrs).get("href") or ""
            self._anchors.append(len(href) > 1 and href.startswith("#"))
            self._anchor_starts.append(len(self._buffer))
        if tag in _HTML_HEADINGS or tag in _HTML_BLOCKS or tag == "tr":
            self._flush(self._offset())
            self._block_tag = tag
            if tag != "br":
                self._run = self._new_group()
                self._anchors.clear()  # a link left open ends with its block
                self._anchor_starts.clear()
            if tag in _HTML_LISTS:
                self._lists.append(self._new_group())
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
        if tag == "a" and self._anchors:
            self._drop_permalink(self._anchors.pop(), self._anchor_starts.pop())
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row_is_header and any(self._row):
                self._header = self._row
            elif any(self._row):
                text = table_row_text(self._row, self._header)
                self._append_row(Unit("item", text, self._row_start, end))
            self._row = None
        elif tag in _HTML_HEADINGS or tag in _HTML_BLOCKS:
            self._flush(end)
            self._block_tag = ""
            if tag != "br":
                self._run = self._new_group()
                self._anchors.clear()
                self._anchor_starts.clear()
            if tag in _HTML_LISTS and self._lists:
                self._lists.pop()
            if tag in _HTML_CONTENT:
                self._content_depth = max(0, self._content_depth - 1)
            elif tag == "header" and self._banner_depth:
                self._banner_depth -= 1
            if tag in _HTML_HEADINGS:
                self._heading = None
            elif tag == "figcaption":
                self._in_figcaption = max(0, self._in_figcaption - 1)

    def _drop_permalink(self, fragment: bool, start: int) -> None:
        """Forget a same-page link's text when it has no letter or digit: the "¶" or "#"
        that generated pages put after each heading to link to it."""
        if not fragment or any(ch.isalnum() for ch in "".join(self._buffer[start:])):
            return
        del self._buffer[start:]
        if not "".join(self._buffer).strip():
            self._buffer, self._buffer_start = [], -1

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
            letters = sum(ch.isalpha() for ch in data)
            self._buffer_letters += letters
            if any(self._anchors):
                self._buffer_linked += letters
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
    return _without_navigation(parser.units, parser.letters)


def _without_navigation(units: list[Unit], letters: list[_Letters]) -> list[Unit]:
    """``units`` less the navigation blocks and the headings left with nothing but
    navigation under them (see the module docstring)."""
    total: defaultdict[int, int] = defaultdict(int)
    linked: defaultdict[int, int] = defaultdict(int)
    for count in letters:
        if count.group >= 0:
            total[count.group] += count.letters
            linked[count.group] += count.linked
    navigation = {g for g, n in total.items() if n and linked[g] >= NAVIGATION_SHARE * n}
    dropped = [count.group in navigation for count in letters]
    keep = [not d for d in dropped]
    for i, unit in enumerate(units):
        if unit.kind != "heading":
            continue
        only_navigation = False
        for j in range(i + 1, len(units)):
            other = units[j]
            if other.kind == "heading":
                if unit.level < 0 or 0 < other.level <= unit.level:
                    break  # the section ends
            elif dropped[j]:
                only_navigation = True
            else:
                only_navigation = False
                break  # content
        keep[i] = keep[i] and not only_navigation
    return [unit for unit, k in zip(units, keep, strict=True) if k]


