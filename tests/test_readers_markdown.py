"""The Markdown reader (qabot.passages.markdown): markdown-it-py tokens to the unit stream.

Small hand-checked documents for what the token reader reads as CommonMark does, where the
regular expressions it replaced did not (tests/test_passages.py covers the shapes both read
alike; tests/test_readers.py holds every recorded document still).
"""

from __future__ import annotations

import pytest

from qabot.documents import Document
from qabot.passages import split_document
from qabot.passages.markdown import clean_inline, read_markdown


def md(text: str) -> Document:
    return Document(name="doc.md", title="Doc", text=text, format="markdown")


def texts(text: str) -> list[str]:
    return [p.text for p in split_document(md(text))]


def test_the_unit_stream_of_a_small_document() -> None:
    source = ("Title\n=====\n\nA paragraph\nover two lines.\n\n    indented code\n\n"
              "## Part\n\n- one\n- two\n\n```sh\nmake -j4\n```\n")
    units = read_markdown(source)
    assert [(u.kind, u.text, u.level) for u in units] == [
        ("heading", "Title", 1), ("text", "", 0), ("code", "", 0), ("heading", "Part", 2),
        ("item", "", 0), ("item", "", 0), ("code", "", 0),
    ]
    spans = [source[u.start:u.end] for u in units]
    assert spans == ["Title", "A paragraph\nover two lines.", "    indented code", "## Part",
                     "- one", "- two", "make -j4"]


@pytest.mark.parametrize(("inline", "plain"), [
    ("see <https://x.org/a> now", "see https://x.org/a now"),          # autolink
    (r"x86\_64 and \*not emphasis\*", "x86_64 and *not emphasis*"),   # escapes
    ("![Build status](https://ci/x.svg) ok", "Build status ok"),      # image: its alt text
    ("a [link](https://x.org) and **bold** `code`", "a link and bold code"),
    ("Tom &amp; Jerry", "Tom & Jerry"),                                # entity, decoded once
    ("snake_case_name stays", "snake_case_name stays"),
])
def test_inline_markup_reads_as_its_text(inline: str, plain: str) -> None:
    assert clean_inline(inline) == plain
    assert texts(f"# T\n\n{inline}\n") == [plain]


def test_a_paragraph_is_one_passage_even_where_a_line_ends_a_sentence() -> None:
    long_line = "This line is long enough that the block is not read as hard-wrapped prose here."
    assert texts(f"# T\n\n{long_line} It ends.\nThe paragraph goes on.\n") == [
        f"{long_line} It ends. The paragraph goes on."]


def test_link_reference_definitions_and_html_comments_are_not_passages() -> None:
    source = ("# T\n\nSee [the docs](https://example.org/docs).\n\n<!-- lint disable -->\n\n"
              "[d]: https://example.org/docs\n")
    assert texts(source) == ["See the docs."]


def test_an_html_block_is_read_for_its_text_not_its_tags() -> None:
    source = "# T\n\n<details>\n<summary>Packaged in 15+ distributions.</summary>\n</details>\n"
    passages = split_document(md(source))
    assert [p.text for p in passages] == ["Packaged in 15+ distributions."]
    assert "Packaged" in source[passages[0].start:passages[0].end]


def test_a_blockquote_reads_without_its_markers() -> None:
    assert texts("# T\n\n> Note: use python3.\n> Example: python3 x.py\n") == [
        "Note: use python3. Example: python3 x.py"]


def test_indented_code_is_one_verbatim_passage_never_a_heading() -> None:
    passages = split_document(md("# T\n\nRun:\n\n    # not a heading\n    make all\n"))
    assert [(p.section, p.text) for p in passages] == [("T", "Run:"),
                                                       ("T", "# not a heading make all")]


def test_nested_and_lazy_list_items_are_items_of_their_list() -> None:
    source = "# T\n\nSteps:\n\n- first step\n  goes on here\n  - a sub-step\n- second step\n"
    passages = split_document(md(source))
    assert [p.text for p in passages] == ["Steps:", "first step goes on here", "a sub-step",
                                          "second step"]
    assert passages[1].context == "Steps:\nfirst step goes on here\na sub-step\nsecond step"


def test_a_table_inside_text_is_rows_named_by_their_header() -> None:
    source = "# T\n\n| Tool | Version | Notes |\n|---|---|---|\n| gcc | 10 | ok |\n"
    assert texts(source) == ["gcc - Version: 10; Notes: ok"]


@pytest.mark.parametrize("text", [
    "\r0\n<P>0\n",
    "# Title\r\rFirst paragraph\rstill first.\r\r## Next\r\rSecond.",
    "# Title\r\n\r\nWindows line ends.\r\n\r\n- one\r\n- two\r\n",
    "a\rb\n<P>c\n",
])
def test_lone_and_windows_carriage_returns_keep_spans_inside_the_document(text: str) -> None:
    """markdown-it ends a line at ``\\r`` as at ``\\n``; the spans must count lines alike."""
    passages = split_document(Document("cr.md", "cr", text, "markdown"))
    assert passages
    for passage in passages:
        assert 0 <= passage.start < passage.end <= len(text), passage
        assert passage.text.split()[0] in text[passage.start:passage.end], passage
