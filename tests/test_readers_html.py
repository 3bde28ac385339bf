"""The HTML reader (qabot.passages.html): in-page navigation is not content.

Small hand-checked pages for the navigation rule: a block made (nearly) wholly of links to
the page's own fragments (a table of contents, "back to top") is not a passage, and a
heading left with only such navigation under it is not a section (tests/test_passages.py
covers the rest of the reader; tests/test_readers.py holds every recorded document still).
"""

from __future__ import annotations

import pytest

from qabot.documents import Document
from qabot.passages import split_document
from qabot.passages.html import NAVIGATION_SHARE, read_html


def html(body: str) -> Document:
    return Document(name="doc.html", title="Doc", text=f"<html><body>{body}</body></html>",
                    format="html")


def texts(body: str) -> list[str]:
    return [p.text for p in split_document(html(body))]


def sections(body: str) -> list[tuple[str, tuple[str, ...], str]]:
    return [(p.section, p.parents, p.text) for p in split_document(html(body))]


ANSWER = "<h2 id='a1'>A1. Why is the sky blue?</h2><p>Air scatters blue light most.</p>"
ANSWER_2 = "<h2 id='a2'>A2. Why is grass green?</h2><p>Leaves hold chlorophyll.</p>"
EXPECTED = [("A1. Why is the sky blue?", ("Answers",), "Air scatters blue light most."),
            ("A2. Why is grass green?", ("Answers",), "Leaves hold chlorophyll.")]


@pytest.mark.parametrize("contents", [
    # a run of <br/>-separated links straight in the body, under its own heading
    "<h1>Contents</h1><a href='#a1'>A1. Why is the sky blue?</a><br/>\n"
    "<a href='#a2'>A2. Why is grass green?</a><br/>\n",
    # the same with sub-headings over each part of the contents
    "<h1>Detailed contents</h1><h2>Part A</h2><a href='#a1'>A1. Why is the sky blue?</a>"
    "<br/><a href='#a2'>A2. Why is grass green?</a><br/><h2>Part B</h2>"
    "<a href='#b1'>B1. Empty</a><br/>",
    # a list, numbered outside the links, with a nested list
    "<h2>Table of contents</h2><ol><li>1. <a href='#a1'>Sky</a><ol><li>1.1 <a href='#a1'>"
    "Blue</a></li></ol></li><li>2. <a href='#a2'>Grass</a></li></ol>",
    # a paragraph of links separated by bars, and a definition list (DocBook's TOC)
    "<h2>On this page</h2><p><a href='#a1'>Sky</a> | <a href='#a2'>Grass</a></p>",
    "<div class='toc'><dl><dt><b>Table of Contents</b></dt><dt>1. <a href='#a1'>Sky</a></dt>"
    "<dt>2. <a href='#a2'>Grass</a></dt></dl></div>",
    # a <nav> element, whatever its links
    "<nav><a href='/'>Home</a> <a href='/about'>About us and our history</a></nav>",
])
def test_a_table_of_contents_is_not_read(contents: str) -> None:
    body = f"{contents}<h1>Answers</h1>{ANSWER}{ANSWER_2}"
    assert sections(body) == EXPECTED


def test_navigation_lines_among_content_are_dropped_and_the_content_kept() -> None:
    body = (f"<h1>Answers</h1>{ANSWER}<p><a href='#top'>Back to top</a></p>{ANSWER_2}"
            "<p>See <a href='#a1'>A1</a> for the sky.</p>")
    assert sections(body) == EXPECTED + [
        ("A2. Why is grass green?", ("Answers",), "See A1 for the sky.")]


@pytest.mark.parametrize("body", [
    # links to other pages are content, however many
    "<p><a href='https://example.org/a'>Mirror one</a><br/><a href='b.html'>Mirror two</a></p>",
    # a sentence that cites a question stays, even when the link is most of one line of it
    "<p>For the sky, see<br/><a href='#a1'>the question on why the sky is blue</a><br/>"
    "which explains the scattering of light by the air in some detail.</p>",
    # a list with one linked item among plain ones is content
    "<ul><li><a href='#a1'>Sky</a></li><li>Grass grows</li><li>Rain falls</li></ul>",
    # an anchor without href (a fragment target) is not a link
    "<p><a id='x' name='x'>Named anchors are targets, not links</a></p>",
    # "#" alone is a placeholder, not a fragment of the page
    "<p><a href='#'>The answer is forty two</a></p>",
])
def test_content_with_links_is_kept(body: str) -> None:
    assert len(texts(f"<h1>Links</h1>{body}")) >= 1
    assert all(p.section == "Links" for p in split_document(html(f"<h1>Links</h1>{body}")))


def test_a_fragment_link_left_open_ends_with_its_block() -> None:
    body = "<h1>T</h1><p><a href='#x'>Jump</p><p>Real content follows here.</p><p>More.</p>"
    assert texts(body) == ["Real content follows here.", "More."]


def test_the_share_counts_letters_not_digits_or_punctuation() -> None:
    # 'Sky' (3 letters) in the link, 'x' (1) outside: 0.75 < NAVIGATION_SHARE; 'Skyline' 7/8.
    assert NAVIGATION_SHARE == 0.8
    assert texts("<p>x <a href='#s'>Sky</a> 1.2.3 |</p>") == ["x Sky 1.2.3 |"]
    assert texts("<p>x <a href='#s'>Skyline</a> 1.2.3 |</p>") == []


def test_a_heading_keeps_its_section_when_content_follows_the_navigation() -> None:
    body = ("<h1>Guide</h1><ul><li><a href='#i'>Install</a></li><li><a href='#u'>Use</a></li>"
            "</ul><p>This guide explains the tool.</p><h2 id='i'>Install</h2><p>Run make.</p>")
    assert sections(body) == [("Guide", (), "This guide explains the tool."),
                              ("Install", ("Guide",), "Run make.")]


def test_an_empty_heading_without_navigation_is_left_as_before() -> None:
    # Only headings emptied by dropped navigation go; the unit stream keeps any other.
    units = read_html("<h1>Title</h1><h2>Empty</h2><h2>Full</h2><p>Text here.</p>")
    assert [(u.kind, u.text) for u in units] == [
        ("heading", "Title"), ("heading", "Empty"), ("heading", "Full"), ("text", "Text here.")]


def test_units_of_a_page_with_contents_keep_their_spans() -> None:
    source = ("<h1>Contents</h1><a href='#q'>Q. Why?</a><br/>\n"
              "<h1>Questions</h1><h2 id='q'>Q. Why?</h2><p>Because.</p>")
    units = read_html(source)
    assert [(u.kind, u.text, source[u.start:u.end]) for u in units] == [
        ("heading", "Questions", "Questions</h1>"), ("heading", "Q. Why?", "Q. Why?</h2>"),
        ("text", "Because.", "Because.</p>")]


@pytest.mark.parametrize("heading", [
    '<h3>Can I back up two servers?<a class="headerlink" href="#can-i" '
    'title="Link to this heading">¶</a></h3>',  # Sphinx
    '<h3 id="can-i">Can I back up two servers? <a href="#can-i">#</a></h3>',
    '<h3 id="can-i"><a class="anchor" href="#can-i">§</a> Can I back up two servers?</h3>',
    '<h3 id="can-i"><a href="#can-i"><svg viewBox="0 0 16 16"></svg></a>'
    'Can I back up two servers?</h3>',  # an icon only
])
def test_a_heading_loses_its_permalink_symbol(heading: str) -> None:
    assert sections(heading + "<p>Yes, one at a time.</p>") == [
        ("Can I back up two servers?", (), "Yes, one at a time.")]


def test_a_fragment_link_with_words_or_digits_keeps_them() -> None:
    body = ('<h2>Limits <a href="#fn1">1</a></h2>'
            '<p>See <a href="#setup">the setup</a> first. <a href="#top">↑</a></p>')
    assert sections(body) == [("Limits 1", (), "See the setup first.")]
