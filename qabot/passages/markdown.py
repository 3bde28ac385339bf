"""The Markdown reader: a Markdown document as the unit stream (``units.Unit``).

Headings are ATX (``#``) or setext (underlined) lines, with their levels; fenced code is one
code unit, never headings or items; a pipe table's rows are items, cells named by their
header (``units.table_row_text``); a thematic break ends a paragraph; list items and
paragraphs are read as plain text's are (``text.content_items``). Inline markup is reduced
to its text (:func:`clean_inline`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .sentences import is_marker_line
from .text import content_items
from .units import Line, Unit, split_blocks, split_lines, table_row_text

__all__ = ["clean_inline", "read_markdown"]

_MD_HEADING = re.compile(r"^\s{0,3}(?P<hashes>#{1,6})\s+(?P<text>.*?)\s*#*\s*$")
_MD_SETEXT = re.compile(r"^\s{0,3}(?:=+|-+)\s*$")
_MD_THEMATIC_BREAK = re.compile(r"^\s{0,3}(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,})$")
_MD_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


def read_markdown(text: str) -> list[Unit]:
    """The units of a Markdown document (see the module docstring)."""
    units: list[Unit] = []
    for is_code, segment in _split_fences(split_lines(text)):
        if is_code:
            # A fenced code block is one unit of text: never headings or list items.
            content = [ln for ln in segment if ln.text.strip()]
            if content:
                units.append(Unit("code", "", content[0].start, content[-1].end))
            continue
        for block in split_blocks(segment):
            units.extend(_block_units(block))
    return units


def _split_fences(lines: list[Line]) -> list[tuple[bool, list[Line]]]:
    """Markdown lines cut into ``(is_code, lines)`` runs at ``` / ~~~ fences."""
    segments: list[tuple[bool, list[Line]]] = [(False, [])]
    fence = ""
    for line in lines:
        match = _MD_FENCE.match(line.text)
        if match and (not fence or match.group(1) == fence):
            fence = "" if fence else match.group(1)
            segments.append((bool(fence), []))
            continue
        segments[-1][1].append(line)
    return [(is_code, seg) for is_code, seg in segments if seg]


def _markdown_table_rows(block: list[Line]) -> list[Unit] | None:
    if len(block) < 3 or not all("|" in ln.text for ln in block):
        return None
    if not _MD_TABLE_RULE.match(block[1].text):
        return None
    header = _markdown_cells(block[0].text)
    units = []
    for line in block[2:]:
        text = table_row_text(_markdown_cells(line.text), header)
        if text:
            units.append(Unit("item", text, line.start, line.end))
    return units


def _markdown_cells(line: str) -> list[str]:
    return [clean_inline(c) for c in line.strip().strip("|").split("|")]


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
# Underscore emphasis only at word edges, so snake_case names keep their underscores.
_MD_EMPHASIS = re.compile(
    r"(\*\*|\*|`)(?=\S)(.+?)(?<=\S)\1|(?<![\w])(__|_)(?=\S)(.+?)(?<=\S)\3(?![\w])"
)


def clean_inline(s: str) -> str:
    """Inline Markdown (links, emphasis, code spans) reduced to its text."""
    s = _MD_LINK.sub(r"\1", s)
    s = _MD_EMPHASIS.sub(lambda m: m.group(2) if m.group(1) else m.group(4), s)
    return " ".join(s.split())




def _block_units(block: list[Line]) -> Iterator[Unit]:
    """A block's headings and content; ATX headings split a block wherever they stand; a
    setext heading is a line underlined by "===" (level 1) or "---" (level 2); a thematic
    break is dropped."""
    rest: list[Line] = []
    skip_next = False
    for i, line in enumerate(block):
        if skip_next:
            skip_next = False
            continue
        match = _MD_HEADING.match(line.text)
        underline = _MD_SETEXT.match(block[i + 1].text) if i + 1 < len(block) else None
        if match or (underline and line.text.strip() and not is_marker_line(line.text)):
            if rest:
                yield from _content_units(rest)
                rest = []
            if match:
                heading = clean_inline(match.group("text"))
                level = len(match.group("hashes"))
            else:
                heading = clean_inline(line.text.strip())
                level = 1 if "=" in underline.group(0) else 2
                skip_next = True
            if heading:
                yield Unit("heading", heading, line.start, line.end, level)
        elif _MD_THEMATIC_BREAK.match(line.text):
            if rest:
                yield from _content_units(rest)
                rest = []
        else:
            rest.append(line)
    if rest:
        yield from _content_units(rest)


def _content_units(block: list[Line]) -> Iterator[Unit]:
    table = _markdown_table_rows(block)
    if table is not None:
        yield from table
        return
    yield from content_items(block)
