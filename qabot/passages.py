"""Split documents into sectioned passages: the units qabot retrieves and cites.

Plain text has no markup, so its structure is inferred from layout; Markdown and HTML
bring explicit headings, list items and table rows. All three become a stream of
headings and content units, and one assembler turns that stream into passages.

Rules for plain text (blocks are runs of non-blank lines):

* **Headings** are lines standing alone in their block that are short (at most
  ``MAX_HEADING_WORDS`` words, or ``MAX_QUESTION_HEADING_WORDS`` for a question) and do not
  end like a sentence (``.``, ``!``, ``,`` or ``;``), e.g. "Overview", "(ii) Health",
  "1951-1989: Early Years", "What is X?". A short line atop a block is a heading too
  when what follows is clearly longer or a list.
* **Numbered headings**: a numbered line standing alone, unindented and heading-shaped
  ("2. How to Apply"), between blocks that are not list items, is a heading.
* **Outlines**: a line opening its block with a number of two levels or more ("9.5.",
  "12.2.1", "A.3", "3.0") or led by "Chapter", "Appendix" or "Part", then any space (a
  non-breaking one too), and heading-shaped words, is a heading, with the lines it wraps
  onto; numbered headings nest by depth ("2.1." under "2.", "Chapter 2." at depth 1). In
  a document with such headings, an indented line is body text, never a heading, and an
  unnumbered heading sits inside the numbered section above it.
* **Tables of contents** (numbered entries after a "Table of Contents" or "List of
  Tables" line, or repeating at least three later headings) are skipped.
* **Code**: an indented block of lines that read as commands, paths, options or code
  ("dpkg -l", "/etc/modules", "--download-only", braces, "key=value", a control-file
  field) is never a heading; it joins the paragraph that introduces it (and a lower-case
  line finishing that sentence), or the more indented description below it when it names
  a term ("postrm").
* **A line that only repeats its section's heading** is not a passage when the section
  has other text.
* **Man pages**: an unindented line above indented lines in one block ("DESCRIPTION") is
  a heading.
* **FAQ entries** ``+ Question? >`` are headings named by the question; the answer
  paragraph that follows is a passage under it. So is a block written ``Q: ...?`` then
  ``A: ...`` (or ``Question:`` / ``Answer:``).
* **Tables** flattened one cell per line (a block whose first two lines are short column
  labels, then label lines each followed by value lines; or, without the header, at least
  three short key lines each followed by a longer value line, as in a year-by-year
  timeline) become one passage per row, reading ``key - value``, shown with the rest of
  the table like a list's items. Markdown and HTML table rows are shown with their table
  too; tables of three columns or more name each cell by its header:
  ``key - Header: value; Header: value``.
* **List items** (bullets, ``1.`` numbers) are one passage each, label kept, and carry
  their list (with the line introducing it, if it ends with ":") as ``context``; wrapped
  lines of a paragraph or item are joined (a line joins the one above when that one stops
  mid-sentence, or when every line of the block is at most ``WRAP_WIDTH`` characters).
* **Captions** ("This image shows ...") and page boilerplate ("Leave a Comment",
  "Hope you liked this article ...") are dropped, sentence by sentence.
* **Long paragraphs** are split at sentence boundaries into near-equal parts of at most
  ``MAX_PASSAGE_CHARS`` characters; a "sentence" longer than that which spans several
  lines (short lines without full stops) is cut at its line breaks.
* **Every passage is bounded**, whatever the input: a sentence or line still longer than
  ``MAX_PASSAGE_CHARS`` (no sentence break the splitter knows) is cut hard at the last
  space that fits, or at the limit inside a longer word; a heading (so a ``section``) is
  cut the same way at ``MAX_SECTION_CHARS``, with "…".

A passage's ``section`` is the nearest heading above it, else the document's title.
Unicode spaces (no-break, em, thin ...) count as spaces throughout: Python's ``str.split``,
``str.strip`` and ``\\s`` treat them so.
"""

from __future__ import annotations

import html as html_lib
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from html.parser import HTMLParser

from .documents import Document

__all__ = [
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

MAX_PASSAGE_CHARS = 700
#: A list item is shown with its neighbours, one a line, up to this many characters.
MAX_LIST_CHARS = 400
MAX_HEADING_WORDS = 14
MAX_HEADING_CHARS = 120
#: A heading from markup (or a title) longer than this is cut, so every reply is bounded.
MAX_SECTION_CHARS = 200
MAX_QUESTION_HEADING_WORDS = 24
#: A block whose lines are all at most this long is hard-wrapped prose: its lines join.
WRAP_WIDTH = 100


@dataclass(frozen=True)
class Passage:
    """A retrievable unit: its text, the section it stands under, its document and span.

    ``start``/``end`` are character offsets into the document's text such that
    ``document.text[start:end]`` is the region the passage was taken from. ``context`` is
    what is shown as the answer when it differs from ``text``: for an item of a list, the
    whole list (up to ``MAX_LIST_CHARS``), one item a line, so that a question is matched
    against the precise item but answered with its neighbours in view.
    """

    text: str
    section: str
    document: str
    start: int
    end: int
    parents: tuple[str, ...] = ()
    context: str = ""

    @property
    def shown(self) -> str:
        """The answer text a reader sees: ``context`` if set, else ``text``."""
        return self.context or self.text


@dataclass(frozen=True)
class _Unit:
    kind: str  # "heading", "text", "item" (of a list) or "code" (fenced, kept verbatim)
    text: str
    start: int
    end: int
    level: int = 0  # heading level from markup; 0 when it must be inferred from layout
    depth: int = 0  # outline depth of a numbered plain-text heading: "2." 1, "2.1." 2


def split_documents(documents: Iterable[Document]) -> tuple[Passage, ...]:
    """All passages of all documents, in document order."""
    return tuple(p for doc in documents for p in split_document(doc))


def split_document(document: Document) -> list[Passage]:
    """The passages of one document (see the module docstring for the rules)."""
    if document.format == "html":
        units = _html_units(document.text)
    else:
        units = _text_units(document.text, markdown=document.format == "markdown")
    return _assemble(units, document)


# --- sentences -------------------------------------------------------------------------

_ABBREVIATIONS = frozenset(
    "e.g i.e etc vs mr mrs ms dr prof st no nos fig al approx inc ltd co corp jr sr "
    "u.s u.k u.n d.c jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*\s+")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of the sentences of ``text``, whitespace excluded.

    A sentence ends at ``.``, ``!`` or ``?`` followed by space and an upper-case letter,
    digit, quote or bracket, except after common abbreviations and single initials.
    """
    spans: list[tuple[int, int]] = []
    start = _skip_space(text, 0)
    for match in _SENTENCE_END.finditer(text):
        nxt = match.end()
        if nxt >= len(text):
            break
        following = text[nxt]
        if not (following.isupper() or following.isdigit() or following in "\"'“‘(["):
            continue
        word = re.search(r"(\S+)$", text[start : match.start() + 1])
        token = word.group(1).rstrip(".").lower() if word else ""
        token = token.lstrip("(\"'“‘")
        if match.group(0).startswith(".") and (
            token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())
        ):
            continue
        end = match.end() - (len(match.group(0)) - len(match.group(0).rstrip()))
        if end > start:
            spans.append((start, end))
        start = nxt
    end = len(text.rstrip())
    if end > start:
        spans.append((start, end))
    return spans


def split_answer_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of a passage's shown text, where each line (a list item) ends one."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        spans.extend((offset + a, offset + b) for a, b in split_sentences(line))
        offset += len(line) + 1
    return spans


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


# --- noise: captions and page boilerplate ----------------------------------------------

_CAPTION = re.compile(
    r"^(?:(?:this|the|above|below|in this|the following)\s+)?"
    r"(?:image|picture|photo|photograph|figure|illustration|graphic|infographic|"
    r"screenshot|diagram|chart)\s+(?:above\s+|below\s+)?"
    r"(?:shows|depicts|illustrates|displays|features|contains|presents)\b",
    re.I,
)
_BOILERPLATE = re.compile(
    r"^(?:leave a (?:comment|reply)|(?:we )?hope you (?:liked|enjoyed|found)|"
    r"thanks? (?:you )?for (?:reading|visiting|watching)|"
    r"(?:please )?(?:share|like|subscribe)\b.*\b(?:article|post|page|channel)|"
    r"(?:click|tap) (?:here|to share)\b|(?:read|see) (?:more|also|next)\b|"
    r"(?:related|recommended|popular) (?:posts?|articles?|stories)|you (?:may|might) also like|"
    r"all rights reserved|copyright\b|©|"
    r"advertisements?$|skip to (?:main )?content|.*\b\d+\s*min(?:ute)?s?\s+read\b|"
    r"follow us\b|(?:subscribe|sign up)\b.*\bnewsletter|share (?:on|via|this)\b|"
    r"we use cookies\b|accept (?:all )?cookies|"
    r"(?:privacy policy|cookie (?:policy|settings|preferences)|terms (?:of use|of service|"
    r"and conditions)|table of contents|back to top|print (?:this )?(?:page|article))\W*$|"
    r"tags?\s*:\s*\S|(?:filed under|posted in)\s*:?\s+[^.!?]{1,40}$)",
    re.I,
)


def is_noise(sentence: str) -> bool:
    """True for an image caption or a line of page boilerplate: never an answer."""
    s = sentence.strip().lstrip("*_#>-•").strip()
    return bool(_CAPTION.match(s) or _BOILERPLATE.match(s))


# --- plain text and markdown -----------------------------------------------------------

_FAQ = re.compile(r"^\s*\+\s+(?P<q>.+?)\s*>\s*$")
_BULLET = re.compile(r"^(?P<indent>\s*)(?P<marker>[•●◦▪▫‣⁃∙·*\-–—+])\s+(?=\S)")
_NUMBERED = re.compile(r"^(?P<indent>\s*)(?P<marker>\d{1,3}[.)]|[a-z][.)]|[A-Z]\))\s+(?=\S)")
_ENUMERATED_HEADING = re.compile(r"^\(\s*(?:[ivxlcdm]+|[a-z]|\d{1,2})\s*\)\s+\S", re.I)
_MD_HEADING = re.compile(r"^\s{0,3}(?P<hashes>#{1,6})\s+(?P<text>.*?)\s*#*\s*$")
_MD_SETEXT = re.compile(r"^\s{0,3}(?:=+|-+)\s*$")
_MD_THEMATIC_BREAK = re.compile(r"^\s{0,3}(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,})$")
_MD_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_SENTENCE_FINAL = (".", "!", ",", ";")


@dataclass(frozen=True)
class _Line:
    start: int  # offset of the first character of the line
    end: int  # offset just past the last non-newline character
    text: str


def _lines(text: str) -> list[_Line]:
    out = []
    pos = 0
    for raw in text.split("\n"):
        out.append(_Line(pos, pos + len(raw), raw))
        pos += len(raw) + 1
    return out


def _blocks(lines: list[_Line]) -> list[list[_Line]]:
    blocks: list[list[_Line]] = []
    current: list[_Line] = []
    for line in lines:
        if line.text.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _is_marker_line(s: str) -> bool:
    return bool(_BULLET.match(s) or _NUMBERED.match(s))


def _is_heading_text(s: str) -> bool:
    s = s.strip()
    if not s or len(s) > MAX_HEADING_CHARS * (2 if s.endswith("?") else 1):
        return False
    if not any(ch.isalpha() for ch in s) or is_noise(s):
        return False
    if _is_marker_line(s) and not _ENUMERATED_HEADING.match(s):
        return False
    if len(split_sentences(s)) > 1:
        return False
    words = len(s.split())
    if s.endswith("?"):
        return words <= MAX_QUESTION_HEADING_WORDS
    return words <= MAX_HEADING_WORDS and not s.endswith(_SENTENCE_FINAL)


def _is_cell_label(s: str, max_words: int) -> bool:
    s = s.strip()
    return (
        bool(s)
        and len(s.split()) <= max_words
        and not s.endswith(_SENTENCE_FINAL + (":",))
        and not _is_marker_line(s)
    )


def _table_rows(block: list[_Line]) -> list[tuple[_Line, list[_Line]]] | None:
    """Rows ``(key line, value lines)`` when the block is a table flattened one cell a line."""
    if len(block) < 4:
        return None
    if not (_is_cell_label(block[0].text, 4) and _is_cell_label(block[1].text, 4)):
        return _headerless_rows(block)
    rows: list[tuple[_Line, list[_Line]]] = []
    cells = block[2:]
    if len(cells) >= 4 and len(cells) % 2 == 0 and all(_is_cell_label(c.text, 10) for c in cells):
        # Value cells without a final full stop: pair the cells as the header does.
        return [(cells[i], [cells[i + 1]]) for i in range(0, len(cells), 2)]
    for line in cells:
        if _BULLET.match(line.text) and not line.text.lstrip().startswith("-"):
            return None
        if _is_cell_label(line.text, 10) and not line.text.lstrip().startswith("-"):
            rows.append((line, []))
        elif rows:
            rows[-1][1].append(line)
        else:
            return None
    if not rows or any(not values for _, values in rows):
        return None
    return rows


def _headerless_rows(block: list[_Line]) -> list[tuple[_Line, list[_Line]]] | None:
    """Rows of a two-column table without a header row: short key lines ("1917",
    "Founded") each followed by one longer value line, at least three such pairs."""
    if len(block) < 6 or len(block) % 2:
        return None
    keys, values = block[0::2], block[1::2]
    if not all(_is_cell_label(k.text, 4) for k in keys):
        return None
    if any(_is_marker_line(v.text) or len(v.text.strip()) <= len(k.text.strip())
           for k, v in zip(keys, values, strict=True)):
        return None
    if sum(_is_cell_label(v.text, 4) for v in values) > len(values) // 2:
        return None  # values as short as keys: a list of short lines, not a table
    return [(k, [v]) for k, v in zip(keys, values, strict=True)]


def _text_units(text: str, *, markdown: bool) -> list[_Unit]:
    if not markdown:
        return _plain_units(text)
    units: list[_Unit] = []
    for is_code, segment in _split_fences(_lines(text)):
        if is_code:
            # A fenced code block is one unit of text: never headings or list items.
            content = [ln for ln in segment if ln.text.strip()]
            if content:
                units.append(_Unit("code", "", content[0].start, content[-1].end))
            continue
        for block in _blocks(segment):
            units.extend(_block_units(block, text, markdown=True))
    return units


def _plain_units(text: str) -> list[_Unit]:
    """The units of a plain-text document: outline headings, code runs, then layout rules.

    A table of contents is skipped; a block of code lines is attached to the definition it
    names (a term above a more indented description), else to the paragraph that
    introduces it (with the lower-case line that may finish that paragraph's sentence).
    """
    units: list[_Unit] = []
    blocks = _blocks(_lines(text))
    toc = _toc_blocks(blocks)
    outlines = {i: _outline_heading(b) for i, b in enumerate(blocks) if i not in toc}
    # A document numbered in depth ("2.1.", "A.3"): its other headings stand unindented,
    # inside the numbered section above them; an indented line there is body text.
    outlined = sum(1 for o in outlines.values() if o and o[0].depth >= 2) >= 3
    depth = 0  # of the last numbered heading
    pending: _Unit | None = None  # a code run waiting for the description it names
    for i, block in enumerate(blocks):
        if i in toc or (i + 1 in toc and len(block) == 1 and _TOC_TITLE.match(block[0].text)):
            continue
        outline = outlines[i]
        if outline is not None:
            heading, rest = outline
            units.append(heading)
            depth = heading.depth
            produced = list(_block_units(rest, text, markdown=False)) if rest else []
        elif _is_numbered_heading(blocks, i, after_toc=i - 1 in toc):
            line = block[0]
            units.append(_Unit("heading", " ".join(line.text.split()), line.start, line.end,
                               depth=1))
            depth = 1
            continue
        elif _is_code_block(block):
            code = _Unit("code", "", block[0].start, block[-1].end)
            after = blocks[i + 1] if i + 1 < len(blocks) else None
            if (after is not None and i + 1 not in toc and not _is_code_block(after)
                    and _indent(after[0].text) > _indent(block[-1].text)):
                pending = code if pending is None else replace(pending, end=code.end)
            elif pending is not None:
                pending = replace(pending, end=code.end)
            elif units and units[-1].kind in ("text", "item") and not units[-1].text:
                units[-1] = replace(units[-1], end=code.end)
                pending = None
            else:
                units.append(code)
            continue
        else:
            # An indented line right above code introduces it ("To list them, type").
            intro = i + 1 < len(blocks) and _is_code_block(blocks[i + 1])
            produced = list(_block_units(
                block, text, markdown=False,
                headings=not ((outlined or intro) and _indent(block[0].text))))
            if outlined:
                produced = [replace(u, depth=depth + 1) if u.kind == "heading" and u.level == 0
                            else u for u in produced]
        if pending is not None:
            if produced and produced[0].kind in ("text", "item") and not produced[0].text:
                produced[0] = replace(produced[0], start=pending.start)
            else:
                units.append(pending)
            pending = None
        elif (produced and produced[0].kind == "text" and not produced[0].text and units
              and units[-1].kind in ("text", "item") and not units[-1].text
              and _is_code_block(blocks[i - 1]) and block[0].text.strip()[:1].islower()):
            # "you could add / log /var/log/dpkg.log / to your dpkg.cfg.": one sentence.
            units[-1] = replace(units[-1], end=produced.pop(0).end)
        units.extend(produced)
    if pending is not None:
        units.append(pending)
    return units


def _indent(s: str) -> int:
    return len(s) - len(s.lstrip())


# --- outlines, tables of contents and code lines (plain text) --------------------------

#: A numbered outline heading: "9.5.", "12.2.1", "A.3", "IV.", "Chapter 10.", "Appendix A.",
#: followed by any space (a non-breaking one included).
_OUTLINE = re.compile(
    r"^(?P<indent>\s*)(?:(?P<word>Chapter|Appendix|Part)\s+)?"
    r"(?P<num>(?:\d{1,3}|[A-Z])(?:\.\d{1,3})+\.?|\d{1,3}\.|[A-Z]\.|[IVXLC]{1,6}\.)"
    r"\s+(?=\S)"
)
_OUTLINE_KEY = re.compile(
    r"^\s*(?:(?:Chapter|Appendix|Part|Section|Table|Figure|Example)\s+)?"
    r"((?:\d{1,3}|[A-Z]|[IVXLC]{1,6})(?:\.\d{1,3})*)\.?\s+(\S+(?:\s+\S+){0,2})"
)
_CHAPTER = re.compile(r"^\s*(?:Chapter|Appendix|Part)\s")
_TOC_TITLE = re.compile(r"^\s*(?:table of contents|contents|list of (?:tables|figures|examples))"
                        r"\s*:?\s*$", re.I)
#: A line that reads as code: a shell prompt, a path, an option, braces, an assignment, a
#: line continued with "\\" or ended with ";".
_CODE_STRONG = re.compile(
    r"^(?:[$#%]\s|[~.]?/[\w.-]|--?[A-Za-z0-9])|[{}]|\S=|=\S|\\$|;$|\s\|\s|&&|^<\w|"
    r"^[a-z][\w.+-]*\s+\w+://"
)
#: A lower-case word first, a few words, no sentence punctuation: a command ("dpkg -l",
#: "make deb-pkg") or a term ("postrm") when it stands indented on its own.
_CODE_WEAK = re.compile(r"^[a-z][\w.+:@/-]*(?:\s+\S+){0,7}$(?<![\w)\]][.,;!?])")


#: A field of an RFC 822 style stanza, as in debian/control: "Build-Depends: debhelper".
_FIELD = re.compile(r"^[A-Z][\w-]*:\s+\S(?:.*[^.!?])?$")


def _outline_key(s: str) -> str | None:
    match = _OUTLINE_KEY.match(s)
    return f"{match.group(1)} {match.group(2).lower()}" if match else None


def _outline_depth(match: re.Match[str]) -> int:
    if match.group("word"):
        return 1
    parts = match.group("num").rstrip(".").split(".")
    return len(parts) - (len(parts) == 2 and parts[1] == "0")  # "3.0" opens chapter 3


def _is_outline_title(title: str, *, strict: bool) -> bool:
    """Heading-shaped words after an outline number: not code, not a sentence; a question
    may run over several sentences ("What is X? Why should I ...?")."""
    if not any(ch.isalpha() for ch in title) or is_noise(title) or _is_code_line(title):
        return False
    if len(title) > 2 * MAX_HEADING_CHARS or title.endswith((".", ",", ";")):
        return False
    if strict and not (title[:1].isupper() or title[:1].isdigit() or title[:1] in "\"'`“‘("):
        return False
    # A question may be followed by a remark: "... contain symlinks? I thought ... `stable'!"
    return len(title.split()) <= (MAX_QUESTION_HEADING_WORDS * 2 if "?" in title
                                  else MAX_HEADING_WORDS)


def _outline_heading(block: list[_Line]) -> tuple[_Unit, list[_Line]] | None:
    """A heading numbered at two levels or more ("9.5. Can I ...?", "A.3 Foo") or led by
    "Chapter"/"Appendix"/"Part", at the top of its block, with the lines it wraps onto, and
    the rest of the block; ``None`` if the block does not open with one."""
    first = block[0]
    match = _OUTLINE.match(first.text)
    if match is None or not ("." in match.group("num").rstrip(".") or match.group("word")):
        return None
    indent = len(match.group("indent"))
    # The lines it may wrap onto: as indented, not numbered, each continuing a long line
    # or starting in lower case, up to one that ends with "?" or ":".
    parts = [" ".join(first.text[match.end():].split())]
    for line in block[1:4]:
        prev, nxt = block[len(parts) - 1].text.strip(), line.text.strip()
        if (prev.endswith(("?", ":"))
                or _OUTLINE.match(line.text) or _is_marker_line(line.text)
                or not (nxt[:1].islower() or len(prev) >= 55
                        or _indent(line.text) > indent)):
            break
        parts.append(" ".join(nxt.split()))
    # "1.5 million people ..." is a sentence; "4.1. control" (a trailing dot) a heading.
    strict = not (match.group("num").endswith(".") or match.group("word"))
    for taken in range(len(parts), 0, -1):
        title = " ".join(parts[:taken])
        rest = block[taken:]
        if not _is_outline_title(title, strict=strict):
            continue
        if rest and any(_indent(ln.text) > indent for ln in block[1:taken]):
            continue  # an indented wrap ("1.2.4<TAB>Why ...\n<TAB>README?") ends its block
        if rest and _indent(rest[0].text) <= indent:
            continue  # a paragraph starting with a number, not a heading above its text
        number = " ".join(first.text[: match.end()].split())
        heading = _Unit("heading", f"{number} {title}", first.start, block[taken - 1].end,
                        depth=_outline_depth(match))
        return heading, rest
    return None


def _toc_blocks(blocks: list[list[_Line]]) -> set[int]:
    """Indices of the blocks that form a table of contents (or a list of tables).

    A table of contents is a run of blocks of numbered entries ("2.1. Versions", one a
    line, maybe wrapped, maybe a blank line between entries) that follows a "Table of
    Contents" / "List of Tables" line, or else that repeats at least three headings that
    open later blocks.
    """
    keys = [[k for k in (_outline_key(ln.text) for ln in block) if k] for block in blocks]
    last: dict[str, int] = {}  # outline key -> last block index opening with it
    for i, block in enumerate(blocks):
        key = _outline_key(block[0].text)
        if key:
            last[key] = i
    entry = [bool(k) and _outline_key(b[0].text) is not None and 2 * len(k) >= len(b)
             for k, b in zip(keys, blocks, strict=True)]
    found: set[int] = set()
    i = 0
    while i < len(blocks):
        if not entry[i]:
            i += 1
            continue
        j, run = i, []
        # The run ends where the entries start over or a chapter opens: the body.
        while (j < len(blocks) and entry[j] and not set(keys[j]) & set(run)
               and not (run and _CHAPTER.match(blocks[j][0].text))):
            run += keys[j]
            j += 1
        titled = i > 0 and len(blocks[i - 1]) == 1 and bool(_TOC_TITLE.match(blocks[i - 1][0].text))
        if titled or (len(run) >= 3 and sum(last.get(k, -1) >= j for k in run) >= 3):
            found.update(range(i, j))
        i = j
    return found


def _is_code_line(s: str) -> bool:
    """True for a line that reads as code, a command, a path or an option."""
    s = s.strip()
    return bool(s) and bool(_CODE_STRONG.search(s))


def _is_code_block(block: list[_Line]) -> bool:
    """An indented block of lines that read as commands, paths, options or code: kept
    verbatim, never a heading: each line clearly code, or a lower-case word or few with no
    sentence punctuation ("dpkg -l", "make deb-pkg", "postrm")."""
    if not all(_indent(ln.text) for ln in block):
        return False
    if len(block) > 1 and all(_FIELD.match(ln.text.strip()) for ln in block):
        return True  # "Tests: fred bill" / "Restrictions: needs-root": a control stanza
    strong = [_is_code_line(ln.text) for ln in block]
    weak = [bool(_CODE_WEAK.match(ln.text.strip())) for ln in block]
    if not all(a or b for a, b in zip(strong, weak, strict=True)):
        return False
    return True


_QA_QUESTION = re.compile(r"^\s*(?:Q|Question)\s*[:.]\s+(?=\S)", re.I)
_QA_ANSWER = re.compile(r"^\s*(?:A|Answer)\s*[:.]\s+(?=\S)", re.I)


def _qa_units(block: list[_Line]) -> list[_Unit] | None:
    """A "Q: ...?" question (an FAQ heading) and/or an "A: ..." answer, prefixes dropped.

    The question may share its block with the answer lines that follow it, or stand alone
    (one heading-shaped line) with the answer in the next block.
    """
    first = block[0]
    asked = _QA_QUESTION.match(first.text)
    cut = next((i for i, ln in enumerate(block) if i and _QA_ANSWER.match(ln.text)),
               len(block))
    units = []
    if asked:
        question = " ".join(" ".join(ln.text for ln in block[:cut])[asked.end():].split())
        if cut == len(block) and not (len(block) == 1 and _is_heading_text(question)):
            return None
        units.append(_Unit("heading", question, first.start, first.end, -1))
    elif _QA_ANSWER.match(first.text):
        cut = 0
    else:
        return None
    if cut < len(block):
        lines = block[cut:]
        said = _QA_ANSWER.match(lines[0].text)
        answer = " ".join(" ".join(ln.text for ln in lines)[said.end():].split())
        units.append(_Unit("text", answer, lines[0].start, lines[-1].end))
    return units


def _is_numbered_heading(blocks: list[list[_Line]], i: int, *, after_toc: bool = False) -> bool:
    """A numbered line standing alone, unindented and heading-shaped ("2. How to Apply"),
    between blocks that are not list items: a numbered section heading, not a list."""
    block = blocks[i]
    line = block[0].text
    marker = _NUMBERED.match(line) or _OUTLINE.match(line)
    if len(block) != 1 or marker is None or line[:1].isspace():
        return False
    if not _is_heading_text(line[marker.end():]):
        return False
    before = blocks[i - 1][0].text if i > 0 and not after_toc else ""
    after = blocks[i + 1][0].text if i + 1 < len(blocks) else None
    return after is not None and not _is_marker_line(before) and not _is_marker_line(after)


def _split_fences(lines: list[_Line]) -> list[tuple[bool, list[_Line]]]:
    """Markdown lines cut into ``(is_code, lines)`` runs at ``` / ~~~ fences."""
    segments: list[tuple[bool, list[_Line]]] = [(False, [])]
    fence = ""
    for line in lines:
        match = _MD_FENCE.match(line.text)
        if match and (not fence or match.group(1) == fence):
            fence = "" if fence else match.group(1)
            segments.append((bool(fence), []))
            continue
        segments[-1][1].append(line)
    return [(is_code, seg) for is_code, seg in segments if seg]


def _block_units(
    block: list[_Line], text: str, *, markdown: bool, headings: bool = True
) -> Iterator[_Unit]:
    if markdown:
        # ATX headings split a block wherever they stand; a setext heading is a line
        # underlined by "===" (level 1) or "---" (level 2); a thematic break is dropped.
        rest: list[_Line] = []
        skip_next = False
        for i, line in enumerate(block):
            if skip_next:
                skip_next = False
                continue
            match = _MD_HEADING.match(line.text)
            underline = _MD_SETEXT.match(block[i + 1].text) if i + 1 < len(block) else None
            if match or (underline and line.text.strip() and not _is_marker_line(line.text)):
                if rest:
                    yield from _content_units(rest, text, markdown=True)
                    rest = []
                if match:
                    heading = _clean_inline(match.group("text"))
                    level = len(match.group("hashes"))
                else:
                    heading = _clean_inline(line.text.strip())
                    level = 1 if "=" in underline.group(0) else 2
                    skip_next = True
                if heading:
                    yield _Unit("heading", heading, line.start, line.end, level)
            elif _MD_THEMATIC_BREAK.match(line.text):
                if rest:
                    yield from _content_units(rest, text, markdown=True)
                    rest = []
            else:
                rest.append(line)
        if rest:
            yield from _content_units(rest, text, markdown=True)
        return
    first = block[0]
    faq = _FAQ.match(first.text)
    if faq:
        yield _Unit("heading", " ".join(faq.group("q").split()), first.start, first.end, -1)
        if len(block) > 1:
            yield from _content_units(block[1:], text, markdown=False)
        return
    qa = _qa_units(block)
    if qa is not None:
        yield from qa
        return
    if not headings or _is_code_line(first.text) or _is_code_block(block[:1]):
        yield from _content_units(block, text, markdown=False)
        return
    if len(block) == 1:
        if _is_heading_text(first.text) and not is_noise(first.text):
            yield _Unit("heading", " ".join(first.text.split()), first.start, first.end)
            return
    elif _table_rows(block) is None and _is_heading_text(first.text):
        if _table_rows(block[1:]) is not None:  # a heading right above a table
            yield _Unit("heading", " ".join(first.text.split()), first.start, first.end)
            yield from _content_units(block[1:], text, markdown=False)
            return
        second = block[1].text.strip()
        if not _indent(first.text) and all(_indent(ln.text) for ln in block[1:]):
            # "NAME" / "DESCRIPTION" above its indented text, as a man page sets them.
            yield _Unit("heading", " ".join(first.text.split()), first.start, first.end)
            yield from _content_units(block[1:], text, markdown=False)
            return
        if (
            _is_marker_line(block[1].text)
            or len(first.text.strip()) < 0.6 * len(second)
        ) and (second[:1].isupper() or second[:1].isdigit() or _is_marker_line(block[1].text)):
            yield _Unit("heading", " ".join(first.text.split()), first.start, first.end)
            block = block[1:]
    yield from _content_units(block, text, markdown=False)


def _content_units(block: list[_Line], text: str, *, markdown: bool) -> Iterator[_Unit]:
    if markdown:
        table = _markdown_table_rows(block)
        if table is not None:
            yield from table
            return
    else:
        rows = _table_rows(block)
        if rows is not None:
            for key, values in rows:
                value = _join_cells(v.text.strip().lstrip("-").strip() for v in values)
                yield _Unit("item", f"{' '.join(key.text.split())} - {value}", key.start,
                            values[-1].end)
            return
    # Items: a marker line starts an item; other lines continue the current item when
    # indented under it, when the previous line stops mid-sentence, or when the block is
    # hard-wrapped prose (every line short), where a sentence may end at a line's end.
    wrapped = len(block) > 1 and all(len(ln.text.strip()) <= WRAP_WIDTH for ln in block)
    items: list[list[_Line]] = []
    item_indent = -1
    for line in block:
        marker = _BULLET.match(line.text) or _NUMBERED.match(line.text)
        indent = len(line.text) - len(line.text.lstrip())
        if marker:
            items.append([line])
            item_indent = len(marker.group("indent")) + 1
        elif items and not _CAPTION.match(line.text.strip()) and (
            (item_indent >= 0 and indent >= item_indent)
            or (wrapped and item_indent < 0)
            or not items[-1][-1].text.rstrip().endswith((".", "!", "?", ":"))
        ):
            items[-1].append(line)
        else:
            items.append([line])
            item_indent = -1
    for item in items:
        start, end = item[0].start, item[-1].end
        is_item = bool(_BULLET.match(item[0].text) or _NUMBERED.match(item[0].text))
        yield _Unit("item" if is_item else "text", "", start, end)


def _join_cells(values: Iterable[str]) -> str:
    out = ""
    for value in values:
        if not value:
            continue
        if out and not out.endswith((".", "!", "?", ";", ":")):
            out += ";"
        out = f"{out} {value}" if out else value
    return out


def _markdown_table_rows(block: list[_Line]) -> list[_Unit] | None:
    if len(block) < 3 or not all("|" in ln.text for ln in block):
        return None
    if not _MD_TABLE_RULE.match(block[1].text):
        return None
    header = _markdown_cells(block[0].text)
    units = []
    for line in block[2:]:
        text = table_row_text(_markdown_cells(line.text), header)
        if text:
            units.append(_Unit("item", text, line.start, line.end))
    return units


def _markdown_cells(line: str) -> list[str]:
    return [_clean_inline(c) for c in line.strip().strip("|").split("|")]


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


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
# Underscore emphasis only at word edges, so snake_case names keep their underscores.
_MD_EMPHASIS = re.compile(
    r"(\*\*|\*|`)(?=\S)(.+?)(?<=\S)\1|(?<![\w])(__|_)(?=\S)(.+?)(?<=\S)\3(?![\w])"
)


def _clean_inline(s: str) -> str:
    s = _MD_LINK.sub(r"\1", s)
    s = _MD_EMPHASIS.sub(lambda m: m.group(2) if m.group(1) else m.group(4), s)
    return " ".join(s.split())


# --- html ------------------------------------------------------------------------------

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
        self.units: list[_Unit] = []
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
            if kind == "text" and self._block_tag in _HTML_QUESTIONS and _is_heading_text(text):
                kind, level = "heading", -1
            self.units.append(
                _Unit(kind, text, self._buffer_start, end or self._buffer_end, level)
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
                self.units.append(_Unit("item", text, self._row_start, end))
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


def _html_units(source: str) -> list[_Unit]:
    parser = _HTMLUnits(source)
    parser.feed(source)
    parser.close()
    return parser.units


# --- assembly --------------------------------------------------------------------------


def _heading_shape(unit: _Unit) -> str:
    if unit.depth > 0:
        return f"o{unit.depth}"
    if unit.level > 0:
        return f"h{unit.level}"
    if unit.level < 0:
        return "faq"
    if _ENUMERATED_HEADING.match(unit.text):
        return "enumerated"
    return "numeric" if unit.text[:1].isdigit() else "plain"


def _nest(stack: list[tuple[str, str]], unit: _Unit, after_heading: bool) -> None:
    """Place a heading in the outline ``stack`` of ``(shape, text)``, outermost first.

    Markup levels nest as usual. Inferred from layout: a heading of a shape already open
    is its sibling; one standing right under another heading, an enumerated "(ii) ..."
    one or an FAQ question is its child; any other starts a new top-level section.
    """
    shape = _heading_shape(unit)
    if unit.depth > 0:
        # Outline numbers: a sibling closes the open heading of its depth or deeper; a
        # deeper one nests under the nearest shallower one.
        depths = [int(s[1:]) if s[:1] == "o" else 0 for s, _ in stack]
        deeper = [i for i, d in enumerate(depths) if d >= unit.depth]
        shallower = [i for i, d in enumerate(depths) if 0 < d < unit.depth]
        if deeper:
            del stack[deeper[0]:]
        elif shallower:
            del stack[shallower[-1] + 1:]
        elif not after_heading:
            stack.clear()
    elif unit.level > 0:
        while stack and stack[-1][0].startswith("h") and int(stack[-1][0][1:]) >= unit.level:
            stack.pop()
    else:
        same = [i for i, (s, _) in enumerate(stack) if s == shape]
        if same:
            del stack[same[-1]:]
        elif not (after_heading or shape in ("enumerated", "faq")):
            stack.clear()
    stack.append((shape, unit.text))


def _assemble(units: list[_Unit], document: Document) -> list[Passage]:
    passages: list[tuple[Passage, bool]] = []  # (passage, packable)
    section = _cut_heading(document.title)
    parents: tuple[str, ...] = ()
    source = document.text
    outline: list[tuple[str, str]] = []
    after_heading = False
    for unit in units:
        if unit.kind == "heading":
            unit = replace(unit, text=_cut_heading(unit.text))
            _nest(outline, unit, after_heading)
            section = unit.text
            parents = tuple(text for _, text in outline[:-1])
            after_heading = True
            continue
        after_heading = False
        markdown = document.format == "markdown"
        if unit.text:
            # Synthesised text (a table row, an HTML element): it is its own source.
            for group in _sentence_groups(unit.text, 0, len(unit.text), strip_marker=False):
                text = " ".join(" ".join(unit.text[a:b].split()) for a, b in group)
                passages.append(
                    (Passage(text, section, document.name, unit.start, unit.end, parents),
                     unit.kind == "item")
                )
            continue
        code = unit.kind == "code"
        for group in _sentence_groups(source, unit.start, unit.end, strip_marker=not code):
            raw = " ".join(source[a:b] for a, b in group)
            text = " ".join(raw.split()) if code else _passage_text(raw, markdown=markdown)
            if text.strip():
                passages.append((
                    Passage(text, section, document.name, group[0][0], group[-1][1], parents),
                    unit.kind == "item",
                ))
    if document.format == "text":
        passages = _without_heading_echoes(passages)
    return _with_list_context(passages)


def _bare(text: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", _OUTLINE.sub("", text)).lower().split())


def _without_heading_echoes(
    passages: list[tuple[Passage, bool]]
) -> list[tuple[Passage, bool]]:
    """The passages less those that only repeat their section's heading (a heading line the
    layout rules took for text), when the section has other text to answer with."""
    echoes = {i for i, (p, _) in enumerate(passages) if _bare(p.text) == _bare(p.section)}
    kept_sections = {(p.section, p.parents) for i, (p, _) in enumerate(passages)
                     if i not in echoes}
    return [(p, item) for i, (p, item) in enumerate(passages)
            if i not in echoes or (p.section, p.parents) not in kept_sections]


def _with_list_context(passages: list[tuple[Passage, bool]]) -> list[Passage]:
    """The passages, each list item given its list (``MAX_LIST_CHARS`` at most) as context.

    Consecutive items of one section form a list, headed by the passage just above when
    that one introduces it (ends with ":"); a list longer than ``MAX_LIST_CHARS`` is cut into
    runs that fit. A lone item, or any other passage, keeps its own text.
    """
    runs: list[list[Passage]] = []
    is_list: list[bool] = []  # whether each run is a list (items, maybe with an intro)
    for passage, is_item in passages:
        last = runs[-1][-1] if runs else None
        if (
            is_item
            and last is not None
            and (is_list[-1] or last.text.endswith(":"))
            and (last.document, last.section, last.parents)
            == (passage.document, passage.section, passage.parents)
            and sum(len(p.text) + 1 for p in runs[-1]) + len(passage.text) <= MAX_LIST_CHARS
        ):
            runs[-1].append(passage)
            is_list[-1] = True
        else:
            runs.append([passage])
            is_list.append(is_item)
    out: list[Passage] = []
    for run in runs:
        context = "\n".join(p.text for p in run) if len(run) > 1 else ""
        out.extend(replace(p, context=context) for p in run)
    return out


def _sentence_groups(
    source: str, start: int, end: int, *, strip_marker: bool = True
) -> list[list[tuple[int, int]]]:
    """The unit's sentences without noise, grouped into passages of bounded length.

    Groups hold consecutive kept sentences and are at most ``MAX_PASSAGE_CHARS`` long
    (a single longer sentence stands alone), near-equal in length.
    """
    raw = source[start:end]
    marker = (_BULLET.match(raw) or _NUMBERED.match(raw)) if strip_marker else None
    if marker:
        start += marker.end()
        raw = source[start:end]
    if _CAPTION.match(raw.strip()):
        return []  # a caption's later sentences describe the picture too
    sentences = [(start + a, start + b) for a, b in _bounded_sentences(raw)
                 if not is_noise(raw[a:b])]
    if not sentences:
        return []
    total = sum(b - a + 1 for a, b in sentences)
    parts = max(1, math.ceil(total / MAX_PASSAGE_CHARS))
    target = min(MAX_PASSAGE_CHARS, total / parts * 1.1)
    groups: list[list[tuple[int, int]]] = [[]]
    size = 0
    for a, b in sentences:
        if groups[-1] and size + (b - a + 1) > target:
            groups.append([])
            size = 0
        groups[-1].append((a, b))
        size += b - a + 1
    return groups


def _bounded_sentences(raw: str) -> list[tuple[int, int]]:
    """Sentence spans of ``raw``; one longer than ``MAX_PASSAGE_CHARS`` that runs over
    several lines (short lines with no full stops, such as "Step 3: ...") is cut at them."""
    spans: list[tuple[int, int]] = []
    for a, b in split_sentences(raw):
        if b - a <= MAX_PASSAGE_CHARS or "\n" not in raw[a:b]:
            spans.extend(_hard_cut(raw, a, b))
            continue
        pos = a
        for line in raw[a:b].split("\n"):
            stripped = line.strip()
            if stripped:
                first = pos + line.index(stripped[0])
                spans.extend(_hard_cut(raw, first, first + len(stripped)))
            pos += len(line) + 1
    return spans


def _hard_cut(raw: str, a: int, b: int) -> list[tuple[int, int]]:
    """``raw[a:b]`` (no surrounding space) as spans of at most ``MAX_PASSAGE_CHARS``: cut
    at the last space that fits, or at the limit when a word is longer."""
    spans: list[tuple[int, int]] = []
    while b - a > MAX_PASSAGE_CHARS:
        window = raw[a : a + MAX_PASSAGE_CHARS + 1]
        cut = max(window.rfind(" "), window.rfind("\n"), window.rfind("\t"))
        end = a + cut if cut > 0 else a + MAX_PASSAGE_CHARS
        while end > a and raw[end - 1].isspace():
            end -= 1
        spans.append((a, end))
        a = end
        while a < b and raw[a].isspace():
            a += 1
    if b > a:
        spans.append((a, b))
    return spans


def _cut_heading(text: str) -> str:
    """``text`` cut at the last space within ``MAX_SECTION_CHARS``, with "…"."""
    if len(text) <= MAX_SECTION_CHARS:
        return text
    cut = text.rfind(" ", 0, MAX_SECTION_CHARS)
    return text[: cut if cut > 0 else MAX_SECTION_CHARS - 1].rstrip() + "…"


def _strip_marker(s: str) -> str:
    s = s.strip()
    match = _BULLET.match(s) or _NUMBERED.match(s)
    return s[match.end() :] if match else s


def _passage_text(raw: str, *, markdown: bool) -> str:
    lines = [_strip_marker(line) for line in raw.split("\n")]
    text = " ".join(" ".join(lines).split())
    if markdown:
        text = _clean_inline(text)
    text = html_lib.unescape(text) if markdown else text
    return re.sub(r"\s+([:;,])", r"\1", text) if " : " in text else text
