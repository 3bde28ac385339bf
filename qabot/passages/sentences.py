"""Sentences, noise and line shapes: the rules every reader and the assembler share.

Owns where a sentence ends (:func:`split_sentences`), what is never an answer (captions and
page boilerplate, :func:`is_noise`), what a list marker is, and what a line must look like
to be a heading when nothing but layout says so (:func:`is_heading_text`).
"""

from __future__ import annotations

import re

__all__ = [
    "BULLET",
    "CAPTION",
    "ENUMERATED_HEADING",
    "MAX_HEADING_CHARS",
    "MAX_HEADING_WORDS",
    "MAX_QUESTION_HEADING_WORDS",
    "NUMBERED",
    "SENTENCE_FINAL",
    "is_heading_text",
    "is_marker_line",
    "is_noise",
    "split_answer_sentences",
    "split_sentences",
    "strip_marker",
]

MAX_HEADING_WORDS = 14
MAX_HEADING_CHARS = 120
MAX_QUESTION_HEADING_WORDS = 24

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
        token = _word_before(text, start, match.start() + 1).rstrip(".").lower()
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


def _word_before(text: str, start: int, end: int) -> str:
    """The run of non-space characters of ``text`` that ends at ``end``, not reaching back
    before ``start``: the word a full stop closes. Walked back from ``end`` rather than
    searched for in ``text[start:end]``, which costs the whole sentence so far at every
    full stop."""
    first = end
    while first > start and not text[first - 1].isspace():
        first -= 1
    return text[first:end]


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


# --- noise: captions and page boilerplate ----------------------------------------------

CAPTION = re.compile(
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
    return bool(CAPTION.match(s) or _BOILERPLATE.match(s))


BULLET = re.compile(r"^(?P<indent>\s*)(?P<marker>[•●◦▪▫‣⁃∙·*\-–—+])\s+(?=\S)")
NUMBERED = re.compile(r"^(?P<indent>\s*)(?P<marker>\d{1,3}[.)]|[a-z][.)]|[A-Z]\))\s+(?=\S)")
ENUMERATED_HEADING = re.compile(r"^\(\s*(?:[ivxlcdm]+|[a-z]|\d{1,2})\s*\)\s+\S", re.I)
SENTENCE_FINAL = (".", "!", ",", ";")
#: A line ending on an article, a conjunction or a preposition that needs its object runs
#: on into the next line ("... multiple-word variables such as"): never a whole heading.
_RUNS_ON = re.compile(r"\b(?:a|an|the|that|which|whose|of|to|and|or|such as)$")


def is_marker_line(s: str) -> bool:
    """True for a line opened by a bullet or a list number."""
    return bool(BULLET.match(s) or NUMBERED.match(s))


def is_heading_text(s: str) -> bool:
    """True for a line shaped like a heading when only layout can say: short (at most
    ``MAX_HEADING_WORDS`` words, ``MAX_QUESTION_HEADING_WORDS`` for a question), one
    sentence, not noise, not a list item, and not ended like a sentence, mid-clause (on
    "the", "that", "of", "to" ...) or with "::" (which introduces a literal block)."""
    s = s.strip()
    if not s or len(s) > MAX_HEADING_CHARS * (2 if s.endswith("?") else 1):
        return False
    if not any(ch.isalpha() for ch in s) or is_noise(s):
        return False
    if is_marker_line(s) and not ENUMERATED_HEADING.match(s):
        return False
    if len(split_sentences(s)) > 1:
        return False
    words = len(s.split())
    if s.endswith("?"):
        return words <= MAX_QUESTION_HEADING_WORDS
    return (words <= MAX_HEADING_WORDS and not s.endswith(SENTENCE_FINAL)
            and not s.endswith("::") and not _RUNS_ON.search(s))


def strip_marker(s: str) -> str:
    """``s`` stripped, without its bullet or number."""
    s = s.strip()
    match = BULLET.match(s) or NUMBERED.match(s)
    return s[match.end() :] if match else s
