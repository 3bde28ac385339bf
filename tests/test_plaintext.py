"""The plain-text reader on real documents from Debian packages (qabot.passages).

The documents are in ``tests/data/plaintext/`` (sources, versions, licences and cuts in its
SOURCES.md): DocBook exported to text (numbered outlines with non-breaking spaces, wrapped
headings, tables of contents, command lines inside answers), a man page, specifications and
READMEs. Each is checked for its structure: the headings a reader sees in it, how they
nest, that no command line became a heading, that no passage only repeats its heading, that
the table of contents is not indexed, and that every passage lies inside its span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from qabot.documents import Document, load_document
from qabot.passages import Passage, split_document

DATA = Path(__file__).resolve().parent / "data" / "plaintext"


@dataclass(frozen=True)
class Expected:
    """What a reader of the document sees in it."""

    headings: tuple[str, ...]
    #: (heading, one of its parents)
    nested: tuple[tuple[str, str], ...] = ()
    #: (text that opens the table of contents, text that opens the body after it)
    toc: tuple[str, str] | None = None
    #: (a code or command line, a phrase of the passage it must stand in)
    code: tuple[tuple[str, str], ...] = ()


DOCUMENTS = {
    "debian-faq.txt": Expected(
        headings=(
            "Chapter 3. Choosing a Debian distribution",
            "1.1. What is this FAQ?",
            "1.5. What is the difference between Debian GNU/Linux and other Linux "
            "distributions? Why should I choose Debian over some other distribution?",
            "3.1.3. The stable distributions really contains outdated packages. Just look at "
            "Kde, Gnome, Xorg or even the kernel. They are very old. Why is it so?",
            "3.2.3. I'm using Knoppix/LMDE/Ubuntu/... and now I want to use Debian. How do I "
            "migrate?",
        ),
        nested=(
            ("3.1.3. The stable distributions really contains outdated packages. Just look at "
             "Kde, Gnome, Xorg or even the kernel. They are very old. Why is it so?",
             "3.1. Which Debian distribution (stable/testing/unstable) is better for me?"),
            ("3.1. Which Debian distribution (stable/testing/unstable) is better for me?",
             "Chapter 3. Choosing a Debian distribution"),
            ("2.3. Where/how can I get the Debian installation images?",
             "Chapter 2. Getting and installing Debian GNU/Linux"),
        ),
        toc=("Table of Contents", "Chapter\u00a01."),
    ),
    "debian-reference-ch2.txt": Expected(
        headings=("Chapter 2. Debian package management", "2.1.4. Debian archive basics",
                  "2.2.3. Interactive use of aptitude"),
        nested=(("2.1.4. Debian archive basics", "2.1. Debian package management prerequisites"),
                ("2.1.4. Debian archive basics", "Chapter 2. Debian package management")),
        code=(("deb http://deb.debian.org/debian/ bullseye main", "the archive is specified in"),),
    ),
    "maint-guide.txt": Expected(
        headings=("Chapter 1. Getting started The Right Way", "1.1. Social dynamics of Debian",
                  "2.7. Setting up dh_make", "3.1. Setting up quilt"),
        nested=(("3.1. Setting up quilt", "Chapter 3. Modifying the source"),),
        toc=("Table of Contents", "Chapter\u00a01."),
    ),
    "constitution.txt": Expected(
        headings=("1. Introduction", "2.1. General rules", "4.2. Procedure",
                  "9.3. Trusted organisations", "A.2. Withdrawing ballot options"),
        nested=(("2.1. General rules", "2. Decision-making bodies and individuals"),
                ("9.3. Trusted organisations", "9. Assets held in trust for Debian")),
    ),
    "copyright-format-1.0.txt": Expected(
        headings=("1. Introduction", "4.1. Single-line values", "5.2.1. Example files stanzas",
                  "6.2. Upstream-Name", "7.1.1. Public domain"),
        nested=(("5.2.1. Example files stanzas", "5.2. Files stanza (repeatable)"),
                ("5.2.1. Example files stanzas", "5. Stanzas")),
        toc=("Table of Contents", "1.\u00a0Introduction"),
    ),
    "debconf_specification.txt": Expected(
        headings=("3. Templates", "3.1. Template information",
                  "5. Communication with the frontend"),
        nested=(("3.1. Template information", "3. Templates"),),
        toc=("Table of Contents", "1.\u00a0 Introduction"),
    ),
    "perl-policy.txt": Expected(
        headings=("Chapter 1. About this document", "2.1. Versions", "4.1. Vendor Directories",
                  "4.4.2. Binary and Other Architecture Dependent Modules"),
        nested=(("4.4.2. Binary and Other Architecture Dependent Modules",
                 "4.4. Module Dependencies"),
                ("2.1. Versions", "Chapter 2. Perl Packaging")),
        toc=("Table of Contents", "Chapter\u00a01."),
    ),
    "menu-policy.txt": Expected(
        headings=("Chapter 1. About this document", "2.1. Preferred menu structure"),
        nested=(("2.1. Preferred menu structure", "Chapter 2. Menu Structure"),),
        toc=("Table of Contents", "Chapter\u00a01."),
    ),
    "apt-get.8.txt": Expected(
        headings=("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "FILES", "BUGS"),
        code=(("-d, --download-only", "Download only; package files are only retrieved"),),
    ),
    "autopkgtest.txt": Expected(
        headings=("Autopkgtest - Defining tests for Debian packages",),
        code=(("Tests: fred bill bongo", "RFC822-style stanzas"),),
    ),
    "social-contract.txt": Expected(
        headings=('"Social Contract" with the Free Software Community',
                  "The Debian Free Software Guidelines (DFSG)"),
    ),
}

#: What no heading may be: a shell prompt, a path, an option, code, or a command line of a
#: tool these documents discuss.
_COMMAND = re.compile(
    r"^(?:[$#]\s|[~.]?/\w|--?\w)|\s/\w|[{}]|\w=|=\w|"
    r"^(?:sudo|apt|apt-get|apt-cache|aptitude|dpkg|dpkg-\w+|make|debuild|dh_make|quilt|gpg)\s+"
    r"(?:-|install|remove|purge|update|upgrade|source|build-dep|show|search|deb-pkg)"
)
_NUMBER = re.compile(r"^(?:(?:Chapter|Appendix)\s+)?(?:\d+(?:\.\d+)*\.?|[A-Z](?:\.\d+)*\.)\s+")


def _bare(text: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", _NUMBER.sub("", text)).lower().split())


@pytest.fixture(scope="module", params=sorted(DOCUMENTS))
def read(request: pytest.FixtureRequest) -> tuple[Document, list[Passage], Expected]:
    document = load_document(DATA / request.param)
    return document, split_document(document), DOCUMENTS[request.param]


def test_the_test_bed_is_ten_documents_or_more_each_under_60_kb() -> None:
    files = sorted(DATA.glob("*.txt"))
    assert {f.name for f in files} == set(DOCUMENTS)
    assert len(files) >= 10
    assert all(f.stat().st_size <= 60_000 for f in files)
    sources = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    assert all(f.name in sources for f in files)


def test_expected_headings_are_found(read: tuple[Document, list[Passage], Expected]) -> None:
    _, passages, expected = read
    headings = {p.section for p in passages} | {h for p in passages for h in p.parents}
    missing = [h for h in expected.headings if h not in headings]
    assert not missing, sorted(headings)


def test_numbered_headings_nest_by_depth(
    read: tuple[Document, list[Passage], Expected]
) -> None:
    _, passages, expected = read
    for heading, parent in expected.nested:
        under = [p for p in passages if p.section == heading]
        assert under, heading
        assert all(parent in p.parents for p in under), (heading, under[0].parents)


def test_no_command_line_is_a_heading(read: tuple[Document, list[Passage], Expected]) -> None:
    _, passages, _ = read
    headings = {p.section for p in passages} | {h for p in passages for h in p.parents}
    assert not [h for h in headings if _COMMAND.search(_NUMBER.sub("", h))]


def test_no_passage_only_repeats_its_heading(
    read: tuple[Document, list[Passage], Expected]
) -> None:
    _, passages, _ = read
    assert not [p for p in passages if _bare(p.text) == _bare(p.section)]


def test_every_passage_lies_inside_its_span(
    read: tuple[Document, list[Passage], Expected]
) -> None:
    document, passages, _ = read
    for p in passages:
        assert 0 <= p.start < p.end <= len(document.text), p
        region = " ".join(document.text[p.start:p.end].split())
        first, last = p.text.split()[0], p.text.split()[-1]
        assert first in region and last in region, (p.text[:80], region[:80])


def test_the_table_of_contents_is_not_indexed(
    read: tuple[Document, list[Passage], Expected]
) -> None:
    document, passages, expected = read
    if expected.toc is None:
        pytest.skip("no table of contents")
    title, body = expected.toc
    start = document.text.index(title)
    end = document.text.index(body, start)
    assert not [p for p in passages if start <= p.start < end]
    # Each heading is read once: from the body, not again from the contents.
    sections = [p.section for p in passages]
    assert all(sections.index(h) >= 0 for h in expected.headings)


def test_code_stands_with_the_text_that_introduces_it(
    read: tuple[Document, list[Passage], Expected]
) -> None:
    _, passages, expected = read
    for code, phrase in expected.code:
        holding = [p for p in passages if code in p.text]
        assert holding, code
        assert any(phrase in p.text for p in holding), holding[0].text


@pytest.mark.parametrize(
    ("line", "is_code"),
    [
        ("Set CFLAGS=-O2", True),
        ("Set CFLAGS =-O2", True),
        ("Set A = B", False),  # "=" between spaces: words, not an assignment
        ("Run Make && Test", True),
        ("Run Make & Test", False),
        ("Pipe It | Less", True),
        ("Pipe It|Less", False),
        ("Open The Block {", True),
        ("Close It }", True),
        ("Continue Here \\", True),
        ("End It;", True),
        ("$ Run It", True),
        ("/Etc/Modules", True),
        ("--Download Only", True),
        ("<Div Here", True),
        ("Get It With http://x.org", False),
        ("The Files Here Are", False),
    ],
)
def test_a_line_that_reads_as_code_is_no_heading(line: str, is_code: bool) -> None:
    assert (line not in _sections(_between_paragraphs(line))) is is_code


def _split(text: str) -> list[Passage]:
    return split_document(Document(name="a.txt", title="A", text=text, format="text"))


def _sections(text: str) -> list[str]:
    return [p.section for p in _split(text)]


def _between_paragraphs(block: str) -> str:
    """``block`` alone between two paragraphs of prose."""
    return ("It works on every system that we know of, and on some that we do not.\n\n"
            f"{block}\n\nThat is all there is to it, and it works on every system we know of.\n")


@pytest.mark.parametrize("first", [
    "This document was originally written in a markup language, allowing it to be converted",
    "Information on the tool is available via the web.  The address",
    "For scripts, the external commands that",
])
def test_a_paragraph_set_with_a_hanging_indent_is_no_heading(first: str) -> None:
    # Its first line runs on into the indented lines under it, as FAQs posted as plain
    # text set every paragraph; only its section's heading names it.
    text = (f"1.1: Where to read more\n\n{first}\n  easily into various other formats, and the\n"
            "  master source file lives on the project's own web site.\n")
    assert _sections(text) == ["1.1: Where to read more"]
    assert first.split()[0] in _split(text)[0].text


@pytest.mark.parametrize(("heading", "body"), [
    ("NAME", "ls - list directory contents"),
    ("DESCRIPTION", "List information about the FILEs (the current directory by default)."),
    ("EXIT STATUS", "0 if OK, 1 if minor problems, 2 if serious trouble."),
])
def test_a_man_page_heading_above_indented_text_is_still_a_heading(heading: str,
                                                                   body: str) -> None:
    text = f"{heading}\n       {body}\n       More of the same text follows here.\n"
    assert _sections(text) == [heading]


@pytest.mark.parametrize(("line", "heading"), [
    ("In most shells, multiple-word variables such as", False),
    ("After each step you can verify that", False),
    ("Most of the work happens in the", False),
    ("zsh used to", False),
    ("Where the files go", True),
    ("Vitamin A", True),
])
def test_a_line_that_runs_on_mid_clause_is_no_heading(line: str, heading: bool) -> None:
    assert (line in _sections(_between_paragraphs(line))) is heading


@pytest.mark.parametrize(("line", "heading"), [
    ("The issue is that if you run:", False),
    ("It becomes clearer what is going on if we write:", False),
    ("Examples:", True),
    ("Build options:", True),
])
def test_a_clause_ended_with_a_colon_above_code_introduces_it(line: str, heading: bool) -> None:
    text = (f"3.29: Why does which print to stdout?\n\n{line}\n\n"
            "    which non-existent-command\n\nThe message goes to standard output.\n")
    passages = _split(text)
    assert (line in {p.section for p in passages}) is heading
    if not heading:
        assert passages[0].section == "3.29: Why does which print to stdout?"
        assert passages[0].text.startswith(line)
        assert "which non-existent-command" in passages[0].text


_UNDERLINED = """Intro text that is a long enough paragraph to be a paragraph of its own, really.

=========
 The Tool
=========

1 Introduction
**************

Given one or more patterns, the tool searches input files for matches.

Usage notes
-----------

More text about usage notes here, enough to be a real paragraph of the section.

2 Invoking the tool
*******************

The general synopsis of the command line comes first.
"""


def test_underlined_headings_are_headings_nested_by_their_rule() -> None:
    passages = _split(_UNDERLINED)
    assert [(p.section, p.parents, p.text.split()[0]) for p in passages] == [
        ("A", (), "Intro"),
        ("1 Introduction", ("The Tool",), "Given"),
        ("Usage notes", ("The Tool", "1 Introduction"), "More"),
        ("2 Invoking the tool", ("The Tool",), "The"),
    ]


@pytest.mark.parametrize("block", [
    "    Signed-off-by: A Writer <a@example.org>\n------------------------------------------",
    "HEAD is now at 427abfa v2.6.17\n" + "-" * 48,  # a listing's closing delimiter
    "$ git log --oneline\n-------------------",  # a command
    "Short\n" + "=" * 12,
])
def test_a_rule_that_does_not_fit_its_line_underlines_no_heading(block: str) -> None:
    title = block.splitlines()[0].strip()
    assert title not in _sections(_between_paragraphs(block))


def test_info_navigation_is_left_out() -> None:
    text = ("File: tool.info,  Node: Top,  Next: Introduction,  Up: (dir)\n\n"
            "Tool\n****\n\nThis manual is for the tool, version 1.0, and all of its users.\n\n"
            "* Menu:\n\n* Introduction::                Introduction.\n"
            "* Invoking::                    Command-line options.\n\n"
            "File: tool.info,  Node: Index,  Prev: Invoking,  Up: Top\n\n"
            "Index\n*****\n\n"
            "* exit status:                          Exit Status.         (line   6)\n"
            "* --word-regexp:                        Matching Control.\n"
            "                                                              (line  22)\n")
    passages = _split(text)
    assert [p.text for p in passages] == [
        "This manual is for the tool, version 1.0, and all of its users."]
    assert passages[0].section == "Tool"
