"""Assemble a reader's unit stream into sectioned passages: the units qabot retrieves and cites.

The readers (``text``, ``markdown``, ``html``) each turn a document into the same stream of
:class:`~qabot.passages.units.Unit`; this module owns what happens next, for every format:

* A passage's ``section`` is the nearest heading above it, else the document's title; its
  ``parents`` are the headings it is nested under. Markup levels nest as usual; headings
  placed by layout nest by outline depth, or by shape (see :func:`_nest`).
* **List items** (and table rows) are one passage each, label kept, and carry their list
  (with the line introducing it, if it ends with ":") as ``context``.
* **A paragraph ending with ":" is shown with the code block under it** (a Markdown
  fence or indented block, an HTML ``<pre>``) as ``context``, when both fit
  ``MAX_PASSAGE_CHARS``: "To compare, run:" is answered with the command in view. Both
  stay passages matched on their own text: code in a sentence's passage blurs its match.
* **Captions** ("This image shows ...") and page boilerplate are dropped, sentence by
  sentence (``sentences.is_noise``).
* **Long paragraphs** are split at sentence boundaries into near-equal parts of at most
  ``MAX_PASSAGE_CHARS`` characters; a "sentence" longer than that which spans several
  lines (short lines without full stops) is cut at its line breaks.
* **Every passage is bounded**, whatever the input: a sentence or line still longer than
  ``MAX_PASSAGE_CHARS`` (no sentence break the splitter knows) is cut hard at the last
  space that fits, or at the limit inside a longer word; a heading (so a ``section``) is
  cut the same way at ``MAX_SECTION_CHARS``, with "…".
* **A line that only repeats its section's heading** (plain text, where layout may take a
  heading for text) is not a passage when the section has other text.
* **A passage with no letter or digit** (a rule of dashes, the "*" of a comment box) is
  dropped: it answers nothing, yet the headings indexed with it would match on their own.
* **Short plain-text paragraphs** (under ``MIN_PARAGRAPH_CHARS``) join the next paragraph
  of their section, or the one before when last: "No." and the paragraph that explains
  it are one answer (see :func:`_short_paragraphs_joined`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from ..documents import Document
from .html import read_html
from .markdown import clean_inline, read_markdown
from .sentences import (
    BULLET,
    CAPTION,
    ENUMERATED_HEADING,
    NUMBERED,
    is_noise,
    split_sentences,
    strip_marker,
)
from .text import OUTLINE, read_text
from .units import Unit

__all__ = [
    "LIST_MARKER_CHARS",
    "MAX_LIST_CHARS",
    "MAX_PASSAGE_CHARS",
    "MAX_SECTION_CHARS",
    "MIN_PARAGRAPH_CHARS",
    "READERS",
    "Passage",
    "split_document",
    "split_documents",
]

MAX_PASSAGE_CHARS = 700
#: A list item is shown with its neighbours, one a line, up to this many characters.
MAX_LIST_CHARS = 400
#: A cut list's run is shown with at most two more lines, "… N earlier items" and "… and N
#: more", of at most this many characters each with its line break.
LIST_MARKER_CHARS = 32
#: A heading from markup (or a title) longer than this is cut, so every reply is bounded.
MAX_SECTION_CHARS = 200
#: A plain-text paragraph shorter than this is joined to its neighbour in its section.
MIN_PARAGRAPH_CHARS = 200


@dataclass(frozen=True)
class Passage:
    """A retrievable unit: its text, the section it stands under, its document and span.

    ``start``/``end`` are character offsets into the document's text such that
    ``document.text[start:end]`` is the region the passage was taken from. ``context`` is
    what is shown as the answer when it differs from ``text``: for an item of a list, the
    whole list (up to ``MAX_LIST_CHARS``), one item a line, so that a question is matched
    against the precise item but answered with its neighbours in view; for a line that
    introduces code ("To compare, run:"), that line and the code.
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


#: The reader of each document format (``Document.format``): text in, unit stream out.
READERS: dict[str, Callable[[str], list[Unit]]] = {
    "text": read_text,
    "markdown": read_markdown,
    "html": read_html,
}


def split_documents(documents: Iterable[Document]) -> tuple[Passage, ...]:
    """All passages of all documents, in document order."""
    return tuple(p for doc in documents for p in split_document(doc))


def split_document(document: Document) -> list[Passage]:
    """The passages of one document (see the module docstring for the rules)."""
    # The reader's units are let go once they are passages (_assemble returns), before the
    # passages are sorted out: a 50 MB file has a third of a million units.
    return _sorted_out(_assemble(READERS[document.format](document.text), document), document)


def _heading_shape(unit: Unit) -> str:
    if unit.depth > 0:
        return f"o{unit.depth}"
    if unit.level > 0:
        return f"h{unit.level}"
    if unit.level < 0:
        return "faq"
    if ENUMERATED_HEADING.match(unit.text):
        return "enumerated"
    return "numeric" if unit.text[:1].isdigit() else "plain"


def _nest(stack: list[tuple[str, str]], unit: Unit, after_heading: bool) -> None:
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


def _assemble(units: list[Unit], document: Document) -> list[tuple[Passage, bool]]:
    """Each unit's passages, in order, with whether they are items of a list."""
    passages: list[tuple[Passage, bool]] = []  # (passage, packable)
    section = _cut_heading(document.title)
    parents: tuple[str, ...] = ()
    source = document.text
    outline: list[tuple[str, str]] = []
    after_heading = False
    lead_in = False  # the last passage is a paragraph's last part, ended with ":"
    for unit in units:
        code = unit.kind == "code"
        joins = lead_in and code
        lead_in = False
        if unit.kind == "heading":
            if len(unit.text) > MAX_SECTION_CHARS:
                unit = replace(unit, text=_cut_heading(unit.text))
            _nest(outline, unit, after_heading)
            section = unit.text
            parents = tuple(text for _, text in outline[:-1])
            after_heading = True
            continue
        after_heading = False
        markdown = document.format == "markdown"
        first = len(passages)
        if unit.text:
            # Synthesised text (a table row, an HTML element): it is its own source.
            for group in _sentence_groups(unit.text, 0, len(unit.text), strip_marker=False):
                text = " ".join(" ".join(unit.text[a:b].split()) for a, b in group)
                passages.append(
                    (Passage(text, section, document.name, unit.start, unit.end, parents),
                     unit.kind == "item")
                )
        else:
            for group in _sentence_groups(source, unit.start, unit.end, strip_marker=not code):
                raw = " ".join(source[a:b] for a, b in group)
                text = " ".join(raw.split()) if code else _passage_text(raw, markdown=markdown)
                if text.strip():
                    passages.append((
                        Passage(text, section, document.name, group[0][0], group[-1][1],
                                parents),
                        unit.kind == "item",
                    ))
        if joins and len(passages) > first:
            # "To compare, run:" is answered with the command under it in view; each is
            # still matched on its own words (code would blur the sentence's match).
            (intro, _), (command, _) = passages[first - 1], passages[first]
            if len(intro.text) + 1 + len(command.text) <= MAX_PASSAGE_CHARS:
                passages[first - 1] = (replace(intro, context=f"{intro.text}\n{command.text}"),
                                       False)
        lead_in = (unit.kind == "text" and len(passages) > first
                   and passages[-1][0].text.endswith(":"))
    return passages


def _sorted_out(passages: list[tuple[Passage, bool]], document: Document) -> list[Passage]:
    """The passages less those that answer nothing, short paragraphs joined (plain text),
    list items given their list as context."""
    # A passage with no letter or digit (a rule of dashes, a "*" of a comment box) answers
    # nothing, yet the headings indexed with it would match a question on their own.
    # (The pairs are kept, not made anew: a 50 MB file has 0.3 million.)
    passages = [pair for pair in passages if _WORD.search(pair[0].text)]
    if document.format == "text":
        passages = _short_paragraphs_joined(_without_heading_echoes(passages), document.text)
    return _with_list_context(passages)


_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
#: A paragraph opened by a label ("Repair Work: ...", "Note: ...") is an entry of its own.
_LABEL = re.compile(r"^[A-Z][\w'’()/-]*(?: [\w'’()/-]+){0,3}: \S")


def _short_paragraphs_joined(
    passages: list[tuple[Passage, bool]], source: str
) -> list[tuple[Passage, bool]]:
    """The passages, each paragraph shorter than ``MIN_PARAGRAPH_CHARS`` joined to the next
    paragraph of its section (to the one before when it cannot join the next and does not
    end with ":", which introduces what follows), as long as the joined text fits
    ``MAX_PASSAGE_CHARS``. Paragraphs are what blank lines delimit, with nothing but blank
    lines between (a rule of dashes before footnotes, a dropped heading echo, keep them
    apart): lines of one block that the reader kept apart (glossary entries, one a line),
    paragraphs opened by a label ("Note: ...") and list items are left alone.

    In plain text a paragraph is whatever blank lines delimit; an answer that opens with
    "No." or closes with a one-line remark is one answer in several paragraphs, and a
    passage that short would be matched mostly through the headings indexed with it.
    """

    def joinable(a: tuple[Passage, bool], b: tuple[Passage, bool]) -> bool:
        # The cheapest tests first: most neighbours fail one of the first three.
        return (not a[1] and not b[1]
                and len(a[0].text) + 1 + len(b[0].text) <= MAX_PASSAGE_CHARS
                and (a[0].document, a[0].section, a[0].parents)
                == (b[0].document, b[0].section, b[0].parents)
                and not (_LABEL.match(a[0].text) or _LABEL.match(b[0].text))
                and not source[a[0].end:b[0].start].strip()  # nothing dropped between
                and _BLANK_LINE.search(source, a[0].end, b[0].start) is not None)

    def joined(a: Passage, b: Passage) -> tuple[Passage, bool]:
        return replace(a, text=f"{a.text} {b.text}", end=b.end), False

    out: list[tuple[Passage, bool]] = []
    for i, current in enumerate(passages):
        after = passages[i + 1] if i + 1 < len(passages) else None
        if out and len(out[-1][0].text) < MIN_PARAGRAPH_CHARS and joinable(out[-1], current):
            out[-1] = joined(out[-1][0], current[0])
        elif (out and len(current[0].text) < MIN_PARAGRAPH_CHARS
              and not current[0].text.endswith(":")
              and (after is None or not joinable(current, after))
              and joinable(out[-1], current)):
            out[-1] = joined(out[-1][0], current[0])
        else:
            out.append(current)
    return out


#: A run of letters and digits (``str.isalnum``, which ``\w`` is with "_").
_WORD = re.compile(r"[^\W_]+")


def _bare(text: str) -> str:
    """``text``'s words, without an outline number, lower-cased, one space apart."""
    return " ".join(_WORD.findall(OUTLINE.sub("", text))).lower()


def _is_echo(text: str, bare_section: str) -> bool:
    """``_bare(text) == bare_section``, most often told from ``text``'s first word alone
    (lower-cased alone it is the first word of ``_bare(text)``), not from all its words."""
    first = _WORD.search(OUTLINE.sub("", text))
    if first is None:
        return not bare_section
    if first.group().lower() != bare_section.partition(" ")[0]:
        return False
    return _bare(text) == bare_section


def _without_heading_echoes(
    passages: list[tuple[Passage, bool]]
) -> list[tuple[Passage, bool]]:
    """The passages less those that only repeat their section's heading (a heading line the
    layout rules took for text), when the section has other text to answer with."""
    bare_sections = {section: _bare(section) for section in {p.section for p, _ in passages}}
    echoes = {i for i, (p, _) in enumerate(passages)
              if _is_echo(p.text, bare_sections[p.section])}
    kept_sections = {(p.section, p.parents) for i, (p, _) in enumerate(passages)
                     if i not in echoes}
    return [pair for i, pair in enumerate(passages)
            if i not in echoes or (pair[0].section, pair[0].parents) not in kept_sections]


def _with_list_context(passages: list[tuple[Passage, bool]]) -> list[Passage]:
    """The passages, each list item given its list (``MAX_LIST_CHARS`` at most) as context.

    Consecutive items of one section form a list, headed by the passage just above when
    that one introduces it (ends with ":"); a list longer than ``MAX_LIST_CHARS`` is cut into
    runs that fit, and each run of a cut list says what it leaves out, in a first line
    "… N earlier items" and a last line "… and N more", so a reader knows rows are missing
    (the reader view shows them all). A lone item, or any other passage, keeps its own text.
    """
    runs: list[list[Passage]] = []
    is_list: list[bool] = []  # whether each run is a list (items, maybe with an intro)
    continues: list[bool] = []  # whether each run carries on the list of the run before
    for passage, is_item in passages:
        last = runs[-1][-1] if runs else None
        joins = (
            is_item
            and last is not None
            and (is_list[-1] or last.text.endswith(":"))
            and (last.document, last.section, last.parents)
            == (passage.document, passage.section, passage.parents)
        )
        if joins and sum(len(p.text) + 1 for p in runs[-1]) + len(passage.text) <= MAX_LIST_CHARS:
            runs[-1].append(passage)
            is_list[-1] = True
        else:
            runs.append([passage])
            is_list.append(is_item)
            continues.append(bool(joins))
    out: list[Passage] = []
    start = 0
    while start < len(runs):
        end = start + 1
        while end < len(runs) and continues[end]:
            end += 1
        out.extend(_shown_runs(runs[start:end]))
        start = end
    return out


def _shown_runs(runs: list[list[Passage]]) -> list[Passage]:
    """The passages of one list's runs (or of one run of anything else), each given its
    run as context; in a list cut into several runs, each run says what it leaves out."""
    if len(runs) == 1 and len(runs[0]) == 1:
        return runs[0]  # a passage on its own, as most are: no context to give
    intro = int(runs[0][0].text.endswith(":"))  # the line introducing a list is no item
    total = sum(len(run) for run in runs) - intro
    seen = 0
    out: list[Passage] = []
    for k, run in enumerate(runs):
        lines = [p.text for p in run]
        items = len(run) - (intro if k == 0 else 0)
        if len(runs) > 1:
            after = total - seen - items
            lines = ([f"… {seen} earlier item{'s' * (seen != 1)}"] if seen else []) + lines
            lines += [f"… and {after} more"] if after else []
        seen += items
        context = "\n".join(lines) if len(lines) > 1 else ""
        if context:
            out.extend(replace(p, context=context) for p in run)
        else:
            out.extend(run)  # no context to set (each passage's is still empty): no copies
    return out


def _sentence_groups(
    source: str, start: int, end: int, *, strip_marker: bool = True
) -> list[list[tuple[int, int]]]:
    """The unit's sentences without noise, grouped into passages of bounded length.

    Groups hold consecutive kept sentences and are at most ``MAX_PASSAGE_CHARS`` long
    (a single longer sentence stands alone), near-equal in length.
    """
    raw = source[start:end]
    marker = (BULLET.match(raw) or NUMBERED.match(raw)) if strip_marker else None
    if marker:
        start += marker.end()
        raw = source[start:end]
    if CAPTION.match(raw.strip()):
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


_QUOTE_MARKS = re.compile(r"^(?:\s*>)+")


def _passage_text(raw: str, *, markdown: bool) -> str:
    lines = raw.split("\n")
    if markdown:  # a blockquote's lines ("> text", "> > text") read without their ">"
        lines = [_QUOTE_MARKS.sub("", line) for line in lines]
    lines = [strip_marker(line) for line in lines]
    text = " ".join(" ".join(lines).split())
    if markdown:
        text = clean_inline(text)  # markdown-it-py decodes entities and escapes too
    return re.sub(r"\s+([:;,])", r"\1", text) if " : " in text else text
