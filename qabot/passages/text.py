"""The plain-text reader: a document without markup as the unit stream (``units.Unit``).

Plain text has no markup, so its structure is inferred from layout. Blocks are runs of
non-blank lines.

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
* **Underlined headings**: a heading-shaped line with a rule of one repeated character
  about as long as it under it (or over and under it), as reStructuredText, Info and
  Markdown's setext set them, is a heading; each rule style is a level, in order of first
  use ("=" under the chapters, "-" under their sections). An Info node's header line
  ("File: grep.info,  Node: ..."), menus and index are navigation, and left out, as are
  reStructuredText's directive, comment and target lines (".. note::"); a line ending
  with "::" introduces a literal block and is no heading.
* **Man pages**: an unindented line above indented lines in one block ("DESCRIPTION") is
  a heading, unless it opens a paragraph set with a hanging indent (about as long as the
  line under it, and running on into it), as FAQs posted in plain text set every one.
* **FAQ entries** ``+ Question? >`` are headings named by the question; the answer
  paragraph that follows is a passage under it. So is a block written ``Q: ...?`` then
  ``A: ...`` (or ``Question:`` / ``Answer:``).
* **Tables** flattened one cell per line (a block whose first two lines are short column
  labels, then label lines each followed by value lines; or, without the header, at least
  three short key lines each followed by a longer value line, as in a year-by-year
  timeline) become one item per row, reading ``key - value``.
* **List items** (bullets, ``1.`` numbers) are one item each; wrapped lines of a paragraph
  or item are joined (a line joins the one above when that one stops mid-sentence, or when
  every line of the block is at most ``WRAP_WIDTH`` characters).

Unicode spaces (no-break, em, thin ...) count as spaces throughout: Python's ``str.split``,
``str.strip`` and ``\\s`` treat them so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace

from .sentences import (
    BULLET,
    CAPTION,
    MAX_HEADING_CHARS,
    MAX_HEADING_WORDS,
    MAX_QUESTION_HEADING_WORDS,
    NUMBERED,
    SENTENCE_FINAL,
    is_heading_text,
    is_marker_line,
    is_noise,
)
from .units import Line, Unit, indent_of, iter_lines, split_blocks

__all__ = ["OUTLINE", "WRAP_WIDTH", "read_text"]

#: A block whose lines are all at most this long is hard-wrapped prose: its lines join.
WRAP_WIDTH = 100
#: A first line at least this long, above a block indented under it, is the start of a
#: paragraph set with a hanging indent, not a man page's heading.
HANGING_MIN_CHARS = 40
#: A rule of one repeated character, which may underline (or overline) a heading.
_RULE = re.compile(r"^\s*([=\-*~^#+_`'\".:])\1{2,}\s*$")
#: An Info node's header line, as `info --output=-` renders it: navigation, not text.
_INFO_NODE = re.compile(r"^File: \S+,\s+Node: [^,]+,")
#: An entry of an Info menu or index, or the "(line N)" an index entry's overflow ends on.
_INFO_ENTRY = re.compile(r"^\* (?:[^:]+::|Menu:\s*$)|\(line\s+\d+\)\s*$")
#: A reStructuredText directive, comment or link target (".. note::", ".. _intro:"): markup.
_RST_MARKUP = re.compile(r"^\s*\.\.(?:\s|$)")
#: A line of at least this many words ended with a colon, right above code, introduces it.
LEAD_IN_WORDS = 4

_FAQ = re.compile(r"^\s*\+\s+(?P<q>.+?)\s*>\s*$")


def _is_cell_label(s: str, max_words: int) -> bool:
    s = s.strip()
    return (
        bool(s)
        and len(s.split()) <= max_words
        and not s.endswith(SENTENCE_FINAL + (":",))
        and not is_marker_line(s)
    )


def _table_rows(block: list[Line]) -> list[tuple[Line, list[Line]]] | None:
    """Rows ``(key line, value lines)`` when the block is a table flattened one cell a line."""
    if len(block) < 4:
        return None
    if not (_is_cell_label(block[0].text, 4) and _is_cell_label(block[1].text, 4)):
        return _headerless_rows(block)
    rows: list[tuple[Line, list[Line]]] = []
    cells = block[2:]
    if len(cells) >= 4 and len(cells) % 2 == 0 and all(_is_cell_label(c.text, 10) for c in cells):
        # Value cells without a final full stop: pair the cells as the header does.
        return [(cells[i], [cells[i + 1]]) for i in range(0, len(cells), 2)]
    for line in cells:
        if BULLET.match(line.text) and not line.text.lstrip().startswith("-"):
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


def _headerless_rows(block: list[Line]) -> list[tuple[Line, list[Line]]] | None:
    """Rows of a two-column table without a header row: short key lines ("1917",
    "Founded") each followed by one longer value line, at least three such pairs."""
    if len(block) < 6 or len(block) % 2:
        return None
    keys, values = block[0::2], block[1::2]
    if not all(_is_cell_label(k.text, 4) for k in keys):
        return None
    if any(is_marker_line(v.text) or len(v.text.strip()) <= len(k.text.strip())
           for k, v in zip(keys, values, strict=True)):
        return None
    if sum(_is_cell_label(v.text, 4) for v in values) > len(values) // 2:
        return None  # values as short as keys: a list of short lines, not a table
    return [(k, [v]) for k, v in zip(keys, values, strict=True)]


def read_text(text: str) -> list[Unit]:
    """The units of a plain-text document: outline headings, code runs, then layout rules.

    A table of contents is skipped; a block of code lines is attached to the definition it
    names (a term above a more indented description), else to the paragraph that
    introduces it (with the lower-case line that may finish that paragraph's sentence).
    """
    units: list[Unit] = []
    blocks = split_blocks(iter_lines(text))
    toc = _toc_blocks(blocks)
    outlines = {i: _outline_heading(b) for i, b in enumerate(blocks) if i not in toc}
    # A document numbered in depth ("2.1.", "A.3"): its other headings stand unindented,
    # inside the numbered section above them; an indented line there is body text.
    outlined = sum(1 for o in outlines.values() if o and o[0].depth >= 2) >= 3
    # Whether each block is code, asked of a block up to four times (as itself and as the
    # neighbour of the blocks around it): computed once.
    code = [_is_code_block(b) for b in blocks]
    depth = 0  # of the last numbered heading
    pending: Unit | None = None  # a code run waiting for the description it names
    rule_levels: dict[str, int] = {}  # each underline style's level, in order of first use
    for i, block in enumerate(blocks):
        if i in toc or (i + 1 in toc and len(block) == 1 and _TOC_TITLE.match(block[0].text)):
            continue
        if ((len(block) == 1 and _INFO_NODE.match(block[0].text)) or _is_info_menu(block)
                or all(_RST_MARKUP.match(ln.text) for ln in block)):
            continue  # an Info node's header line, menu or index; reStructuredText markup
        underlined = _underlined(block)
        outline = outlines[i]
        if underlined is not None:
            title, style, used = underlined
            heading = Unit("heading", " ".join(title.text.split()), title.start,
                           block[used - 1].start + len(block[used - 1].text),
                           level=0 if outline else rule_levels.setdefault(
                               style, len(rule_levels) + 1),
                           depth=outline[0].depth if outline else 0)
            units.append(heading)
            depth = heading.depth or depth
            produced = list(_block_units(block[used:])) if len(block) > used else []
        elif outline is not None:
            heading, rest = outline
            units.append(heading)
            depth = heading.depth
            produced = list(_block_units(rest)) if rest else []
        elif _is_numbered_heading(blocks, i, after_toc=i - 1 in toc):
            line = block[0]
            units.append(Unit("heading", " ".join(line.text.split()), line.start, line.end,
                               depth=1))
            depth = 1
            continue
        elif code[i]:
            run = Unit("code", "", block[0].start, block[-1].end)
            after = blocks[i + 1] if i + 1 < len(blocks) else None
            if (after is not None and i + 1 not in toc and not code[i + 1]
                    and indent_of(after[0].text) > indent_of(block[-1].text)):
                pending = run if pending is None else replace(pending, end=run.end)
            elif pending is not None:
                pending = replace(pending, end=run.end)
            elif units and units[-1].kind in ("text", "item") and not units[-1].text:
                units[-1] = replace(units[-1], end=run.end)
                pending = None
            else:
                units.append(run)
            continue
        else:
            # An indented line right above code introduces it ("To list them, type"), and
            # so does a clause ended with a colon ("The issue is that if you run:").
            intro = i + 1 < len(blocks) and code[i + 1]
            lead_in = intro and _is_lead_in(block[0].text)
            produced = list(_block_units(
                block,
                headings=not (lead_in
                              or ((outlined or intro) and indent_of(block[0].text)))))
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
              and code[i - 1] and block[0].text.strip()[:1].islower()):
            # "you could add / log /var/log/dpkg.log / to your dpkg.cfg.": one sentence.
            units[-1] = replace(units[-1], end=produced.pop(0).end)
        units.extend(produced)
    if pending is not None:
        units.append(pending)
    return units


# --- outlines, tables of contents and code lines (plain text) --------------------------

#: A numbered outline heading: "9.5.", "12.2.1", "A.3", "IV.", "Chapter 10.", "Appendix A.",
#: followed by any space (a non-breaking one included).
OUTLINE = re.compile(
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
#: A line that reads as code from its start: a shell prompt, a path, an option, a tag, a
#: command given a URL ...
_CODE_START = re.compile(r"[$#%]\s|[~.]?/[\w.-]|--?[A-Za-z0-9]|<\w|[a-z][\w.+-]*\s+\w+://")
#: ... or from anywhere in it: braces, an assignment ("=" touching a word), a line continued
#: with "\\" or ended with ";", a pipe between spaces, "&&". Each alternative opens with its
#: literal character (the lookarounds follow it: "=(?<=\S=)" is "\S=" written so), which lets
#: a search skip every character that opens none: six times faster on prose than "[{}]",
#: "\S=" and "\s\|\s" would be.
_CODE_ANYWHERE = re.compile(r"\{|\}|=(?<=\S=)|=(?=\S)|\\$|;$|\|(?<=\s\|)(?=\s)|&&")
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


def _outline_heading(block: list[Line]) -> tuple[Unit, list[Line]] | None:
    """A heading numbered at two levels or more ("9.5. Can I ...?", "A.3 Foo") or led by
    "Chapter"/"Appendix"/"Part", at the top of its block, with the lines it wraps onto, and
    the rest of the block; ``None`` if the block does not open with one."""
    first = block[0]
    match = OUTLINE.match(first.text)
    if match is None or not ("." in match.group("num").rstrip(".") or match.group("word")):
        return None
    indent = len(match.group("indent"))
    # The lines it may wrap onto: as indented, not numbered, each continuing a long line
    # or starting in lower case, up to one that ends with "?" or ":".
    parts = [" ".join(first.text[match.end():].split())]
    for line in block[1:4]:
        prev, nxt = block[len(parts) - 1].text.strip(), line.text.strip()
        if (prev.endswith(("?", ":"))
                or OUTLINE.match(line.text) or is_marker_line(line.text)
                or not (nxt[:1].islower() or len(prev) >= 55
                        or indent_of(line.text) > indent)):
            break
        parts.append(" ".join(nxt.split()))
    # "1.5 million people ..." is a sentence; "4.1. control" (a trailing dot) a heading.
    strict = not (match.group("num").endswith(".") or match.group("word"))
    for taken in range(len(parts), 0, -1):
        title = " ".join(parts[:taken])
        rest = block[taken:]
        if not _is_outline_title(title, strict=strict):
            continue
        if rest and any(indent_of(ln.text) > indent for ln in block[1:taken]):
            continue  # an indented wrap ("1.2.4<TAB>Why ...\n<TAB>README?") ends its block
        if rest and indent_of(rest[0].text) <= indent:
            continue  # a paragraph starting with a number, not a heading above its text
        number = " ".join(first.text[: match.end()].split())
        heading = Unit("heading", f"{number} {title}", first.start, block[taken - 1].end,
                        depth=_outline_depth(match))
        return heading, rest
    return None


def _toc_blocks(blocks: list[list[Line]]) -> set[int]:
    """Indices of the blocks that form a table of contents (or a list of tables).

    A table of contents is a run of blocks of numbered entries ("2.1. Versions", one a
    line, maybe wrapped, maybe a blank line between entries) that follows a "Table of
    Contents" / "List of Tables" line, or else that repeats at least three headings that
    open later blocks.
    """
    opening = [_outline_key(block[0].text) for block in blocks]
    last: dict[str, int] = {}  # outline key -> last block index opening with it
    for i, key in enumerate(opening):
        if key:
            last[key] = i
    # The outline keys of a block's lines, read only in a block that opens with one (no
    # other can be an entry): most blocks do not, and they hold most lines.
    keys = [tuple(k for k in (_outline_key(ln.text) for ln in block) if k) if first else ()
            for block, first in zip(blocks, opening, strict=True)]
    entry = [bool(k) and 2 * len(k) >= len(b) for k, b in zip(keys, blocks, strict=True)]
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


def _is_rule(s: str) -> str | None:
    """The character a line repeats when it is a rule of one character ("====="), else
    None."""
    match = _RULE.match(s)
    return match.group(1) if match else None


def _underlined(block: list[Line]) -> tuple[Line, str, int] | None:
    """A heading set off by a rule of one repeated character as long as it (2 less to 3
    more), under it (unindented) or over and under it (reStructuredText, Info, Markdown's
    setext): its line, its style (the character, and whether it is overlined) and how many
    lines of the block it takes."""

    def fits(title: Line, rule: Line, *, inset: bool = False) -> bool:
        words, length = title.text.strip(), len(rule.text.strip())
        return (len(words) - 2 <= length <= len(words) + 3
                and (inset or not indent_of(title.text)) and is_heading_text(words)
                and not _is_code_line(words))

    if len(block) >= 3 and (over := _is_rule(block[0].text)) and over == _is_rule(
            block[2].text) and fits(block[1], block[2], inset=True):
        return block[1], f"{over}{over}", 3
    if len(block) >= 2 and (under := _is_rule(block[1].text)) and fits(block[0], block[1]):
        return block[0], under, 2
    return None


def _is_info_menu(block: list[Line]) -> bool:
    """A block of an Info menu ("* Invoking::  Command-line options.") or index ("* exit
    status:  Exit Status.  (line 83)"), most of its lines entries."""
    return sum(1 for ln in block if _INFO_ENTRY.search(ln.text)) > 0.5 * len(block)


def _is_lead_in(s: str) -> bool:
    """A line ended with a colon that reads as a clause, not a label: at least
    ``LEAD_IN_WORDS`` words ("It becomes clearer if we write:", not "Examples:")."""
    s = s.strip()
    return s.endswith(":") and len(s.split()) >= LEAD_IN_WORDS


def _is_code_line(s: str) -> bool:
    """True for a line that reads as code, a command, a path or an option."""
    s = s.strip()
    return bool(s) and bool(_CODE_START.match(s) or _CODE_ANYWHERE.search(s))


def _is_code_block(block: list[Line]) -> bool:
    """An indented block of lines that read as commands, paths, options or code: kept
    verbatim, never a heading: each line clearly code, or a lower-case word or few with no
    sentence punctuation ("dpkg -l", "make deb-pkg", "postrm")."""
    if not all(indent_of(ln.text) for ln in block):
        return False
    if len(block) > 1 and all(_FIELD.match(ln.text.strip()) for ln in block):
        return True  # "Tests: fred bill" / "Restrictions: needs-root": a control stanza
    return all(_is_code_line(ln.text) or _CODE_WEAK.match(ln.text.strip()) for ln in block)


_QA_QUESTION = re.compile(r"^\s*(?:Q|Question)\s*[:.]\s+(?=\S)", re.I)
_QA_ANSWER = re.compile(r"^\s*(?:A|Answer)\s*[:.]\s+(?=\S)", re.I)


def _qa_units(block: list[Line]) -> list[Unit] | None:
    """A "Q: ...?" question (an FAQ heading) and/or an "A: ..." answer, prefixes dropped.

    The question may share its block with the answer lines that follow it, or stand alone
    (one heading-shaped line) with the answer in the next block.
    """
    first = block[0]
    asked = _QA_QUESTION.match(first.text)
    if not asked and not _QA_ANSWER.match(first.text):
        return None  # the common case, told from the first line alone
    cut = next((i for i, ln in enumerate(block) if i and _QA_ANSWER.match(ln.text)),
               len(block))
    units = []
    if asked:
        question = " ".join(" ".join(ln.text for ln in block[:cut])[asked.end():].split())
        if cut == len(block) and not (len(block) == 1 and is_heading_text(question)):
            return None
        units.append(Unit("heading", question, first.start, first.end, -1))
    else:
        cut = 0  # an answer ("A: ...") opens the block
    if cut < len(block):
        lines = block[cut:]
        said = _QA_ANSWER.match(lines[0].text)
        answer = " ".join(" ".join(ln.text for ln in lines)[said.end():].split())
        units.append(Unit("text", answer, lines[0].start, lines[-1].end))
    return units


def _is_numbered_heading(blocks: list[list[Line]], i: int, *, after_toc: bool = False) -> bool:
    """A numbered line standing alone, unindented and heading-shaped ("2. How to Apply"),
    between blocks that are not list items: a numbered section heading, not a list."""
    block = blocks[i]
    line = block[0].text
    if len(block) != 1 or line[:1].isspace():
        return False
    marker = NUMBERED.match(line) or OUTLINE.match(line)
    if marker is None:
        return False
    if not is_heading_text(line[marker.end():]):
        return False
    before = blocks[i - 1][0].text if i > 0 and not after_toc else ""
    after = blocks[i + 1][0].text if i + 1 < len(blocks) else None
    return after is not None and not is_marker_line(before) and not is_marker_line(after)


def _block_units(block: list[Line], *, headings: bool = True) -> Iterator[Unit]:
    first = block[0]
    faq = _FAQ.match(first.text)
    if faq:
        yield Unit("heading", " ".join(faq.group("q").split()), first.start, first.end, -1)
        if len(block) > 1:
            yield from _content_units(block[1:])
        return
    qa = _qa_units(block)
    if qa is not None:
        yield from qa
        return
    if not headings or _is_code_line(first.text) or _is_code_block(block[:1]):
        yield from _content_units(block)
        return
    if len(block) == 1:
        if is_heading_text(first.text):  # which is never noise
            yield Unit("heading", " ".join(first.text.split()), first.start, first.end)
            return
    elif _table_rows(block) is None and is_heading_text(first.text):
        if _table_rows(block[1:]) is not None:  # a heading right above a table
            yield Unit("heading", " ".join(first.text.split()), first.start, first.end)
            yield from _content_units(block[1:])
            return
        second = block[1].text.strip()
        first_length = len(first.text.strip())
        # A paragraph set with a hanging indent: its first line is as long as the next and
        # runs on into it (a lower-case word, or a line too long for a man-page heading).
        hanging = first_length >= 0.6 * len(second) and (
            second[:1].islower() or first_length >= HANGING_MIN_CHARS)
        if (not indent_of(first.text) and all(indent_of(ln.text) for ln in block[1:])
                and not hanging):
            # "NAME" / "DESCRIPTION" above its indented text, as a man page sets them.
            yield Unit("heading", " ".join(first.text.split()), first.start, first.end)
            yield from _content_units(block[1:])
            return
        if (
            is_marker_line(block[1].text)
            or first_length < 0.6 * len(second)
        ) and (second[:1].isupper() or second[:1].isdigit() or is_marker_line(block[1].text)):
            yield Unit("heading", " ".join(first.text.split()), first.start, first.end)
            block = block[1:]
    yield from _content_units(block)


def _content_units(block: list[Line]) -> Iterator[Unit]:
    rows = _table_rows(block)
    if rows is not None:
        for key, values in rows:
            value = _join_cells(v.text.strip().lstrip("-").strip() for v in values)
            yield Unit("item", f"{' '.join(key.text.split())} - {value}", key.start,
                       values[-1].end)
        return
    yield from _content_items(block)


def _content_items(block: list[Line]) -> Iterator[Unit]:
    """A block's paragraphs and list items as text and item units read from their spans.

    A marker line starts an item; other lines continue the current item when indented
    under it, when the previous line stops mid-sentence, or when the block is hard-wrapped
    prose (every line at most ``WRAP_WIDTH``), where a sentence may end at a line's end.
    """
    wrapped = len(block) > 1 and all(len(ln.text.strip()) <= WRAP_WIDTH for ln in block)
    items: list[list[Line]] = []
    marked: list[bool] = []  # whether each item opens with a marker: a list item
    item_indent = -1
    for line in block:
        marker = BULLET.match(line.text) or NUMBERED.match(line.text)
        indent = len(line.text) - len(line.text.lstrip())
        if marker:
            items.append([line])
            marked.append(True)
            item_indent = len(marker.group("indent")) + 1
        elif items and not CAPTION.match(line.text.strip()) and (
            (item_indent >= 0 and indent >= item_indent)
            or (wrapped and item_indent < 0)
            or not items[-1][-1].text.rstrip().endswith((".", "!", "?", ":"))
        ):
            items[-1].append(line)
        else:
            items.append([line])
            marked.append(False)
            item_indent = -1
    for item, is_item in zip(items, marked, strict=True):
        yield Unit("item" if is_item else "text", "", item[0].start, item[-1].end)


def _join_cells(values: Iterable[str]) -> str:
    out = ""
    for value in values:
        if not value:
            continue
        if out and not out.endswith((".", "!", "?", ";", ":")):
            out += ";"
        out = f"{out} {value}" if out else value
    return out


