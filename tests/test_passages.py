"""Splitting documents into sectioned passages (qabot.passages).

One small synthetic document per shape, with hand-checked expectations; every passage of
every document here also goes through :func:`check_invariants`. Then the shipped corpus.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from qabot.documents import Document, load_corpus, load_document
from qabot.passages import (
    LIST_MARKER_CHARS,
    MAX_LIST_CHARS,
    MAX_PASSAGE_CHARS,
    Passage,
    is_noise,
    split_answer_sentences,
    split_document,
    split_documents,
    split_sentences,
    table_row_text,
)

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "corpus" / "iom.txt"

_WORD = re.compile(r"[^\W_]+")


def check_invariants(doc: Document, passages: list[Passage]) -> None:
    """What must hold for every passage of every document."""
    previous_start = -1
    for p in passages:
        assert isinstance(p, Passage)
        assert p.section.strip(), p
        assert p.text.strip(), p
        assert p.text == p.text.strip() and "\n" not in p.text, p
        assert p.document == doc.name
        assert 0 <= p.start < p.end <= len(doc.text), p
        assert p.start >= previous_start, f"out of document order: {p}"
        if p.context:
            # A list item's context is its list: whole lines, this item's among them.
            assert p.text in p.context.split("\n"), p
            assert len(p.context) <= max(MAX_LIST_CHARS, len(p.text)) + 2 * LIST_MARKER_CHARS, p
            assert p.shown == p.context
        else:
            assert p.shown == p.text
        previous_start = p.start
        if doc.format != "html" and "|" not in doc.text[p.start : p.end]:
            # The span is where the text came from: its first and last words are in it
            # (a table row also takes its column names from the header above it).
            span_words = set(_WORD.findall(doc.text[p.start : p.end]))
            words = _WORD.findall(p.text)
            for word in words[:4] + words[-4:]:
                assert word in span_words, f"{word!r} not in span of {p}"


def split(doc: Document) -> list[Passage]:
    passages = split_document(doc)
    check_invariants(doc, passages)
    return passages


@pytest.fixture
def make_doc(tmp_path: Path):
    """Write ``text`` to a file and load it as a real document (title computed)."""

    def make(text: str, name: str = "doc.txt") -> Document:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return load_document(path)

    return make


def texts(passages: list[Passage]) -> list[str]:
    return [p.text for p in passages]


def pairs(passages: list[Passage]) -> list[tuple[str, str]]:
    return [(p.section, p.text) for p in passages]


# --- headings --------------------------------------------------------------------------


def test_short_lines_question_lines_and_enumerated_sub_headings(make_doc) -> None:
    doc = make_doc(
        "Widget Handbook\n"
        "\n"
        "Overview\n"
        "\n"
        "Widgets are small tools. They are used in every workshop.\n"
        "\n"
        "What is the Widget Council (WC)?\n"
        "\n"
        "The Widget Council sets the rules for widgets.\n"
        "\n"
        "(i) Small Widgets\n"
        "\n"
        "  1. Small widgets fit in a pocket.\n"
        "\n"
        "  2. They cost one coin each.\n"
        "\n"
        "(ii) Large Widgets\n"
        "\n"
        "Large widgets need two hands to carry.\n"
    )
    assert pairs(split(doc)) == [
        ("Overview", "Widgets are small tools. They are used in every workshop."),
        ("What is the Widget Council (WC)?", "The Widget Council sets the rules for widgets."),
        ("(i) Small Widgets", "Small widgets fit in a pocket."),
        ("(i) Small Widgets", "They cost one coin each."),
        ("(ii) Large Widgets", "Large widgets need two hands to carry."),
    ]


def test_year_range_headings_over_a_bullet_timeline(make_doc) -> None:
    doc = make_doc(
        "History\n"
        "\n"
        "1901-1950: Founding Years\n"
        "\n"
        "  • 1901: The guild is founded in a small barn.\n"
        "  • 1920: The guild moves to the city hall.\n"
        "\n"
        "1950s: Growth and Change\n"
        "\n"
        "  • 1955: The guild opens a second office.\n"
    )
    assert pairs(split(doc)) == [
        ("1901-1950: Founding Years", "1901: The guild is founded in a small barn."),
        ("1901-1950: Founding Years", "1920: The guild moves to the city hall."),
        ("1950s: Growth and Change", "1955: The guild opens a second office."),
    ]


def test_text_before_any_heading_is_under_the_document_title(make_doc) -> None:
    doc = make_doc(
        "Garden Almanac\n"
        "\n"
        "Roses need sun for most of the day. Water them in the morning.\n"
        "\n"
        "Soil\n"
        "\n"
        "Loam drains well and holds food for the roots.\n"
    )
    assert doc.title == "Garden Almanac"
    passages = split(doc)
    assert pairs(passages) == [
        ("Garden Almanac", "Roses need sun for most of the day. Water them in the morning."),
        ("Soil", "Loam drains well and holds food for the roots."),
    ]


def test_section_falls_back_to_the_title_when_there_is_no_heading() -> None:
    doc = Document("x.txt", "Given Title", "Just one sentence of text, nothing else.", "text")
    assert pairs(split(doc)) == [("Given Title", "Just one sentence of text, nothing else.")]


# --- FAQ -------------------------------------------------------------------------------


def test_faq_entries_are_one_passage_under_their_question(make_doc) -> None:
    doc = make_doc(
        "Widget FAQ\n"
        "\n"
        "Questions and answers about widgets:\n"
        "\n"
        "+ How big is a widget? >\n"
        "\n"
        "A widget is ten centimetres long. It weighs about a kilo.\n"
        "\n"
        "+   Who makes the widgets?   >\n"
        "\n"
        "Gnomes make widgets in the northern workshop.\n"
    )
    passages = split(doc)
    assert pairs(passages) == [
        ("How big is a widget?", "A widget is ten centimetres long. It weighs about a kilo."),
        ("Who makes the widgets?", "Gnomes make widgets in the northern workshop."),
    ]
    for p in passages:
        assert "+" not in p.section and ">" not in p.section
        assert "+" not in p.text and ">" not in p.text


# --- tables flattened one cell per line ------------------------------------------------


def test_table_one_cell_per_line_becomes_one_passage_per_row(make_doc) -> None:
    doc = make_doc(
        "Key Dates\n"
        "\n"
        "Year\n"
        "Event\n"
        "1900\n"
        "Founded in Paris by three engineers.\n"
        "1950s\n"
        "Moved to Rome after the war.\n"
        "2001\n"
        "Closed its last office.\n"
    )
    passages = split(doc)
    assert pairs(passages) == [
        ("Key Dates", "1900 - Founded in Paris by three engineers."),
        ("Key Dates", "1950s - Moved to Rome after the war."),
        ("Key Dates", "2001 - Closed its last office."),
    ]
    # never the header labels, never a lone year
    assert not any(p.text in {"Year", "Event", "1900", "1950s", "2001"} for p in passages)
    row = passages[1]
    assert doc.text[row.start : row.end] == "1950s\nMoved to Rome after the war."


def test_table_with_several_dash_lines_per_value(make_doc) -> None:
    doc = make_doc(
        "Parts of the Bike\n"
        "\n"
        "Part\n"
        "Description\n"
        "Engine Block\n"
        "- Makes the bike go.\n"
        "- Burns petrol.\n"
        "Wheels\n"
        "- Roll along the road.\n"
        "Seat\n"
        "- Holds the rider: padded.\n"
        "- Made of leather.\n"
    )
    passages = split(doc)
    assert [p.section for p in passages] == ["Parts of the Bike"] * 3
    got = texts(passages)
    assert len(got) == 3
    assert got[0].startswith("Engine Block - Makes the bike go.")
    assert "Burns petrol." in got[0]
    assert got[1] == "Wheels - Roll along the road."
    assert got[2].startswith("Seat - Holds the rider: padded.") and "Made of leather." in got[2]
    for text in got:
        assert "\n" not in text and " - - " not in text


def test_table_row_text_ends_at_its_own_value(make_doc) -> None:
    doc = make_doc(
        "Roles\n\nName\nRole\nAlice\nBuilds the houses.\nBob\nTests the houses.\n\n"
        "After the table comes a plain paragraph.\n"
    )
    assert texts(split(doc)) == [
        "Alice - Builds the houses.",
        "Bob - Tests the houses.",
        "After the table comes a plain paragraph.",
    ]


def test_table_whose_values_have_no_full_stop(make_doc) -> None:
    doc = make_doc(
        "Key Dates\n\nYear\nEvent\n1900\nFounded in Paris\n1950\nMoved to Rome\n"
        "2001\nClosed for good\n"
    )
    assert texts(split(doc)) == [
        "1900 - Founded in Paris",
        "1950 - Moved to Rome",
        "2001 - Closed for good",
    ]


# --- list items and label blocks -------------------------------------------------------


def test_numbered_label_items_keep_their_label(make_doc) -> None:
    doc = make_doc(
        "Goals of the Council\n"
        "\n"
        "  1. Water Supply : The council digs wells in dry villages.\n"
        "\n"
        "  2. Road Building : The council paves roads between towns. It also fixes bridges.\n"
        "\n"
        "  3. Schools : The council builds schools.\n"
    )
    assert pairs(split(doc)) == [
        ("Goals of the Council", "Water Supply: The council digs wells in dry villages."),
        (
            "Goals of the Council",
            "Road Building: The council paves roads between towns. It also fixes bridges.",
        ),
        ("Goals of the Council", "Schools: The council builds schools."),
    ]


def test_numbered_items_without_blank_lines_and_wrapped_lines(make_doc) -> None:
    doc = make_doc(
        "References\n"
        "\n"
        "  1. Smith, J. (2001). A book about rivers. Oxford\n"
        "     University Press.\n"
        "  2. Doe, A., & Roe, B. (Eds.). (2010). Lakes and ponds. Springer.\n"
        "  3. Lee, K. (2015). Sea levels. Nature, 12(3), 4-9.\n"
    )
    assert texts(split(doc)) == [
        "Smith, J. (2001). A book about rivers. Oxford University Press.",
        "Doe, A., & Roe, B. (Eds.). (2010). Lakes and ponds. Springer.",
        "Lee, K. (2015). Sea levels. Nature, 12(3), 4-9.",
    ]


def test_label_paragraph_blocks_are_one_passage_each(make_doc) -> None:
    doc = make_doc(
        "Services\n"
        "\n"
        "Repair Work: The shop repairs bicycles of every kind. It opens at nine.\n"
        "\n"
        "Sales Desk: The shop sells new bicycles and spare parts.\n"
    )
    assert pairs(split(doc)) == [
        ("Services", "Repair Work: The shop repairs bicycles of every kind. It opens at nine."),
        ("Services", "Sales Desk: The shop sells new bicycles and spare parts."),
    ]


def test_key_value_bullets_in_a_run_are_one_passage_each(make_doc) -> None:
    doc = make_doc(
        "Acme Guild\n"
        "\n"
        "Acme Guild is a society of toolmakers with a long history in the valley.\n"
        "  • Founded: 1901\n"
        "  • Headquarters: Lisbon, Portugal\n"
        "  • Chief Officer: Jane Roe\n"
        "  • Website: www.example.org\n"
    )
    assert texts(split(doc)) == [
        "Acme Guild is a society of toolmakers with a long history in the valley.",
        "Founded: 1901",
        "Headquarters: Lisbon, Portugal",
        "Chief Officer: Jane Roe",
        "Website: www.example.org",
    ]


@pytest.mark.parametrize("marker", ["-", "*", "•", "●", "–"])
def test_bullet_markers(make_doc, marker: str) -> None:
    doc = make_doc(f"Tools\n\n{marker} Hammers drive nails.\n{marker} Saws cut wood.\n")
    assert pairs(split(doc)) == [("Tools", "Hammers drive nails."), ("Tools", "Saws cut wood.")]


# --- captions and boilerplate ----------------------------------------------------------

NOISE = ["image shows", "Leave a Comment", "Hope you liked", "Thanks for Reading"]


def assert_no_noise(passages: list[Passage]) -> None:
    for p in passages:
        for noise in NOISE:
            assert noise.lower() not in p.text.lower(), p
            assert noise.lower() not in p.section.lower(), p


def test_captions_and_boilerplate_are_dropped(make_doc) -> None:
    doc = make_doc(
        "Gardens\n"
        "\n"
        "The garden has roses and tulips. It opens in May.\n"
        "This image shows a gardener watering the roses in spring. She wears a hat.\n"
        "\n"
        "The image shows a fountain in the middle of the garden.\n"
        "\n"
        "Paths\n"
        "\n"
        "Gravel paths cross the lawn. Hope you liked this article about gardens, please "
        "share your views. Thanks for Reading!\n"
        "\n"
        "Leave a Comment\n"
    )
    passages = split(doc)
    assert pairs(passages) == [
        ("Gardens", "The garden has roses and tulips. It opens in May."),
        ("Paths", "Gravel paths cross the lawn."),
    ]
    assert_no_noise(passages)


def test_caption_in_the_middle_of_a_paragraph_is_dropped(make_doc) -> None:
    doc = make_doc(
        "Gardens\n\nTulips bloom in April. This image shows a tulip field in spring. "
        "Roses bloom in June.\n"
    )
    passages = split(doc)
    assert_no_noise(passages)
    joined = " ".join(texts(passages))
    assert "Tulips bloom in April." in joined and "Roses bloom in June." in joined


def test_html_boilerplate_sentence_inside_a_paragraph_is_dropped(make_doc) -> None:
    doc = make_doc(
        "<h1>Garden</h1><p>The garden has roses. Hope you liked this article about gardens.</p>",
        name="g.html",
    )
    assert texts(split(doc)) == ["The garden has roses."]


def test_html_caption_paragraph_and_figcaption_are_dropped(make_doc) -> None:
    doc = make_doc(
        "<h1>Garden</h1><p>This image shows a garden at dawn.</p>"
        "<figure><img src='g.png'><figcaption>Dawn over the roses.</figcaption></figure>"
        "<p>Leave a Comment</p><p>Roses bloom in June.</p>",
        name="g.html",
    )
    assert texts(split(doc)) == ["Roses bloom in June."]


def test_document_of_only_noise_has_no_passages(make_doc) -> None:
    doc = make_doc("Leave a Comment\n\nThe image shows a cat on a mat.\n")
    assert split(doc) == []


# --- long paragraphs and sentences -----------------------------------------------------


def _sentences(count: int, length: int) -> list[str]:
    """``count`` sentences of about ``length`` characters, made of whole words."""
    out = []
    for i in range(count):
        sentence = f"Sentence {i} tells about rivers"
        while len(sentence) < length - 12:
            sentence += " and lakes"
        out.append(sentence + " in the hills.")
    return out


@pytest.mark.parametrize(
    ("count", "length"),
    [
        pytest.param(30, 100, id="many-sentences"),
        pytest.param(12, 180, id="medium-sentences"),
        pytest.param(12, 80, id="short-sentences"),
        pytest.param(8, 120, id="just-over-the-maximum"),
        pytest.param(40, 76, id="forty-sentences"),
        pytest.param(9, 150, id="nine-sentences"),
        pytest.param(20, 60, id="twenty-short-sentences"),
        pytest.param(3, 400, id="three-long-sentences"),
        pytest.param(5, 300, id="five-long-sentences"),
    ],
)
def test_long_paragraph_is_split_at_sentence_boundaries(make_doc, count: int, length: int) -> None:
    sentences = _sentences(count, length)
    paragraph = " ".join(sentences)
    assert len(paragraph) > MAX_PASSAGE_CHARS
    doc = make_doc(f"Rivers\n\n{paragraph}\n")
    passages = split(doc)
    assert len(passages) >= 2
    for p in passages:
        assert len(p.text) <= MAX_PASSAGE_CHARS
        assert p.section == "Rivers"
        assert p.text.startswith("Sentence ") and p.text.endswith(".")  # whole sentences
    # together the parts keep every sentence, in order, each exactly once
    assert " ".join(texts(passages)) == paragraph
    for p in passages:
        assert doc.text[p.start : p.end] == p.text


def test_one_sentence_longer_than_the_maximum_is_cut_at_word_boundaries(make_doc) -> None:
    giant = "This sentence " + "goes on and on " * 60 + "until it ends."
    assert len(giant) > MAX_PASSAGE_CHARS
    doc = make_doc(f"Long\n\nA short one. {giant} Another short one.\n")
    passages = split(doc)
    assert " ".join(texts(passages)) == f"A short one. {giant} Another short one."
    assert all(len(p.text) <= MAX_PASSAGE_CHARS for p in passages)
    assert not any(giant in p.text for p in passages)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Bring fruit, e.g. apples or pears. Then rest.",
            ["Bring fruit, e.g. apples or pears.", "Then rest."],
            id="e.g.",
        ),
        pytest.param(
            "The U.S. Congress met today. It voted.",
            ["The U.S. Congress met today.", "It voted."],
            id="U.S.",
        ),
        pytest.param(
            "The paper by J. Smith was read. Dr. Brown took notes.",
            ["The paper by J. Smith was read.", "Dr. Brown took notes."],
            id="initials-and-titles",
        ),
        pytest.param(
            "Is it raining? Yes! Take a coat. 2024 was wet.",
            ["Is it raining?", "Yes!", "Take a coat.", "2024 was wet."],
            id="question-exclamation-digit",
        ),
        pytest.param(
            'He said "Stop." Then he left.',
            ['He said "Stop."', "Then he left."],
            id="closing-quote",
        ),
        pytest.param(
            "version 2.5 is out. so is 3.0",
            ["version 2.5 is out. so is 3.0"],
            id="no-capital-no-split",
        ),
        pytest.param("  One sentence only.  ", ["One sentence only."], id="surrounding-space"),
        pytest.param(
            "Fruit\u00a0e.g. Apples grow.\tSee\ni.e. Pears. (vs. Figs.) Done.",
            ["Fruit\u00a0e.g. Apples grow.", "See\ni.e. Pears.", "(vs. Figs.)", "Done."],
            id="abbreviation-after-any-space",
        ),
        pytest.param("(e.g. Apples) Pears. A. Smith.", ["(e.g. Apples) Pears.", "A. Smith."],
                     id="abbreviation-after-a-bracket"),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert [text[s:e] for s, e in split_sentences(text)] == expected


def test_split_sentences_of_blank_text() -> None:
    assert split_sentences("") == []
    assert split_sentences("   \n ") == []


def test_abbreviations_do_not_split_a_paragraph(make_doc) -> None:
    doc = make_doc(
        "Notes\n\nThe meeting covered e.g. budgets and plans. The U.S. delegation spoke "
        "first. J. Smith chaired the session.\n"
    )
    (passage,) = split(doc)
    assert passage.text.startswith("The meeting covered e.g. budgets")


def test_paragraph_starting_with_an_initial_keeps_it(make_doc) -> None:
    doc = make_doc("Founders\n\nJ. Smith founded the guild in 1901. He was a carpenter.\n")
    assert texts(split(doc)) == ["J. Smith founded the guild in 1901. He was a carpenter."]


def test_html_paragraph_starting_with_an_initial_keeps_it(make_doc) -> None:
    doc = make_doc("<h1>Founders</h1><p>J. Smith founded the guild in 1901.</p>", name="f.html")
    assert texts(split(doc)) == ["J. Smith founded the guild in 1901."]


# --- markdown --------------------------------------------------------------------------


def test_markdown_headings_bullets_tables_and_inline_markup(make_doc) -> None:
    doc = make_doc(
        "# Guide Title\n"
        "\n"
        "Intro with **bold**, *italic*, __strong__, `code` and a [link](https://x.org/a).\n"
        "\n"
        "## Setup ##\n"
        "- First bullet item here.\n"
        "- Second bullet with _emphasis_ inside.\n"
        "\n"
        "### Table Part\n"
        "\n"
        "| Name | Role |\n"
        "|------|:----:|\n"
        "| Alice | Builder |\n"
        "| **Bob** | Tester |\n"
        "\n"
        "#### Four\n"
        "Text four.\n"
        "##### Five\n"
        "Text five.\n"
        "###### Six\n"
        "Text six &amp; more.\n"
        "\n"
        "####### Seven is not a heading.\n",
        name="guide.md",
    )
    assert doc.title == "Guide Title"
    assert pairs(split(doc)) == [
        ("Guide Title", "Intro with bold, italic, strong, code and a link."),
        ("Setup", "First bullet item here."),
        ("Setup", "Second bullet with emphasis inside."),
        ("Table Part", "Alice - Builder"),
        ("Table Part", "Bob - Tester"),
        ("Four", "Text four."),
        ("Five", "Text five."),
        ("Six", "Text six & more."),
        ("Six", "####### Seven is not a heading."),
    ]


def test_markdown_emphasis_across_sentences_is_stripped(make_doc) -> None:
    doc = make_doc("# Guide\n\nSome **bold text. Across two** sentences here.\n", name="g.md")
    assert texts(split(doc)) == ["Some bold text. Across two sentences here."]


def test_markdown_text_before_the_first_heading(make_doc) -> None:
    doc = make_doc("Loose intro sentence here.\n\n# Real Title\n\nBody text.\n", name="n.md")
    passages = split(doc)
    assert passages[0].section == doc.title == "Real Title"
    assert passages[0].text == "Loose intro sentence here."


# --- html ------------------------------------------------------------------------------


def test_html_headings_paragraphs_lists_and_tables(make_doc) -> None:
    doc = make_doc(
        "<!doctype html>\n<html><head><title>Page Title</title>\n"
        "<style>p { color: red } .secret { }</style></head>\n"
        "<body>\n"
        "<p>Before any heading &mdash; under the title.</p>\n"
        "<h1>Main &amp; Heading</h1>\n"
        "<p>First para with <b>bold</b> and a <a href='x'>link</a>.</p>\n"
        "<script>var secret = 'never indexed';</script>\n"
        "<h2>List</h2>\n<ul><li>Item one here.</li><li>Item &quot;two&quot; here.</li></ul>\n"
        "<h3>Table</h3>\n<table>\n"
        "<tr><th>Key</th><th>Value</th></tr>\n"
        "<tr><td>Alpha</td><td>First letter</td></tr>\n"
        "<tr><td>Beta</td><td>Second &lt;letter&gt;</td></tr>\n"
        "</table>\n"
        "<h4>H4</h4><p>four</p><h5>H5</h5><p>five</p><h6>H6</h6><p>six</p>\n"
        "</body></html>\n",
        name="page.html",
    )
    assert doc.title == "Page Title"
    passages = split(doc)
    assert pairs(passages) == [
        ("Page Title", "Before any heading \u2014 under the title."),
        ("Main & Heading", "First para with bold and a link."),
        ("List", "Item one here."),
        ("List", 'Item "two" here.'),
        ("Table", "Alpha - First letter"),
        ("Table", "Beta - Second <letter>"),
        ("H4", "four"),
        ("H5", "five"),
        ("H6", "six"),
    ]
    for p in passages:
        assert "secret" not in p.text and "color" not in p.text
    alpha = passages[4]
    assert "Alpha" in doc.text[alpha.start : alpha.end]


# --- all documents at once -------------------------------------------------------------


def test_split_documents_concatenates_in_document_order(make_doc) -> None:
    first = make_doc("One\n\nThe first document.\n", name="a.txt")
    second = make_doc("Two\n\nThe second document.\n", name="b.txt")
    passages = split_documents([first, second])
    assert [(p.document, p.text) for p in passages] == [
        ("a.txt", "The first document."),
        ("b.txt", "The second document."),
    ]


# --- the shipped corpus ----------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> tuple[Document, list[Passage]]:
    (doc,) = load_corpus(SHIPPED)
    return doc, split_document(doc)


def test_shipped_corpus_invariants(shipped) -> None:
    doc, passages = shipped
    assert len(passages) > 50
    check_invariants(doc, passages)


def test_shipped_corpus_has_no_caption_or_boilerplate_passage(shipped) -> None:
    _, passages = shipped
    assert_no_noise(passages)


def test_shipped_corpus_every_passage_has_at_least_three_words(shipped) -> None:
    _, passages = shipped
    short = [p.text for p in passages if len(_WORD.findall(p.text)) < 3]
    assert short == []
    assert not [p.text for p in passages if re.fullmatch(r"\d{4}s?", p.text.strip(" .:-"))]


# key, the start of its value: every row of the three tables of the shipped document
SHIPPED_TABLE_ROWS = [
    ("Key Milestones", "1951", "ICEM (predecessor of IOM) was founded"),
    ("Key Milestones", "1980s", "Expanded its operations beyond Europe"),
    ("Key Milestones", "1989", "Renamed to International Organization for Migration"),
    ("Key Milestones", "2000s", "Played a crucial role in migration crises"),
    ("Key Milestones", "2016", "Officially joined the United Nations (UN)"),
    ("Key Milestones", "2020s", "Focuses on migration challenges due to climate change"),
    ("Objectives of", "Assisting Governments and Migrants", "Helping countries create"),
    ("Objectives of", "Providing Humanitarian Aid", "Offering shelter, food"),
    ("Objectives of", "Encouraging Safe Migration", "Preventing human trafficking"),
    ("Objectives of", "Promoting Integration", "Helping migrants integrate"),
    ("Objectives of", "Supporting Development Goals", "Ensuring migration contributes"),
    ("Structure of IOM", "Member States and Governance", "The IOM has 175+ member states"),
    ("Structure of IOM", "Regional and Country Offices", "IOM operates in 100+ countries"),
    ("Structure of IOM", "Leadership", "Director-General: The chief executive"),
]


@pytest.mark.parametrize(("section", "key", "value"), SHIPPED_TABLE_ROWS)
def test_shipped_table_row_is_one_passage_with_both_cells(
    shipped, section: str, key: str, value: str
) -> None:
    _, passages = shipped
    rows = [p for p in passages if p.text.startswith(f"{key} - ")]
    assert len(rows) == 1, [p.text for p in passages if p.text.startswith(key)]
    (row,) = rows
    assert row.text.startswith(f"{key} - {value}")
    assert row.section.startswith(section)


def test_shipped_table_labels_are_never_passages(shipped) -> None:
    _, passages = shipped
    labels = {"Year", "Event", "Objectives", "Description", "Structure"}
    labels |= {key for _, key, _ in SHIPPED_TABLE_ROWS}
    assert not [p.text for p in passages if p.text.strip(" .:") in labels]


def test_shipped_structure_rows_keep_every_value_line(shipped) -> None:
    _, passages = shipped
    (leadership,) = [p for p in passages if p.text.startswith("Leadership - ")]
    assert "Director-General" in leadership.text
    assert "Deputy Directors-General" in leadership.text


def test_shipped_faq_questions_are_sections(shipped) -> None:
    doc, passages = shipped
    questions = [m.group(1).strip() for m in re.finditer(r"^\+\s+(.+?)\s*>\s*$", doc.text, re.M)]
    assert len(questions) >= 10
    sections = [p.section for p in passages]
    for question in questions:
        assert question in sections, question
        # one answer passage per question, right after it in the document
        under = [p for p in passages if p.section == question]
        assert under and all(not p.text.startswith("+") for p in under)
    assert not any(s.startswith("+") or s.endswith(">") for s in sections)


def test_shipped_timeline_bullets_are_one_passage_each(shipped) -> None:
    doc, passages = shipped
    bullets = [m.group(1).strip() for m in re.finditer(r"^\s*•\s+(\S.*)$", doc.text, re.M)]
    timeline = [b for b in bullets if re.match(r"(\d{4}s?|Present):", b)]
    assert len(timeline) >= 10
    for bullet in timeline:
        matches = [p for p in passages if p.text == bullet]
        assert len(matches) == 1, bullet


def test_shipped_headings_of_each_shape_are_sections(shipped) -> None:
    _, passages = shipped
    sections = {p.section for p in passages}
    for heading in [
        "Overview",
        "What is the International Organization for Migration (IOM)?",
        "(ii) Humanitarian Response & Refugee Assistance",
        "1951-1989: Early Years and Expansion",
        "2020s: Adaptation and Response",
    ]:
        assert heading in sections


def test_shipped_fact_bullets_are_one_passage_each(shipped) -> None:
    _, passages = shipped
    for fact in ["Headquarters: Geneva, Switzerland", "Director General: Amy Pope"]:
        assert [p.text for p in passages].count(fact) == 1


def test_markdown_fenced_code_is_one_passage_and_never_a_heading(make_doc) -> None:
    doc = make_doc(
        "# Setup\n\nInstall it first.\n\n```bash\n# install the package\npip install qabot\n"
        "- not a bullet\n```\n\nThen run it.\n",
        name="setup.md",
    )
    passages = split(doc)
    assert {p.section for p in passages} == {"Setup"}
    assert texts(passages) == [
        "Install it first.",
        "# install the package pip install qabot - not a bullet",
        "Then run it.",
    ]


def test_markdown_keeps_underscores_inside_names(make_doc) -> None:
    doc = make_doc("# API\n\nSet `top_k` or max_passage_chars, and _emphasis_ goes.\n", name="a.md")
    assert texts(split(doc)) == ["Set top_k or max_passage_chars, and emphasis goes."]


def test_hard_wrapped_prose_joins_into_one_passage(make_doc) -> None:
    doc = make_doc(
        "Opening Hours\n\n"
        "The library opens at nine and closes at eight on\n"
        "weekdays, and opens from ten until four on Saturdays.\n"
        "It is closed on Sundays.\n"
    )
    assert pairs(split(doc)) == [
        ("Opening Hours", "The library opens at nine and closes at eight on weekdays, and opens "
                          "from ten until four on Saturdays. It is closed on Sundays."),
    ]


# --- list items shown with their list --------------------------------------------------

LIST_DOC = """Guide

Services

In 2020 the agency, which works in many countries, offered people on the move these services:

  1. Helps migrants return home voluntarily.

  2. Provides job training and education.

  3. Gives legal aid to victims.

Other work

It also runs a research unit.

  1. Publishes an annual report.
"""


def test_list_items_are_matched_alone_and_shown_with_their_list(make_doc) -> None:
    passages = split(make_doc(LIST_DOC))
    items = [p for p in passages if p.section == "Services"]
    assert texts(items) == [
        "In 2020 the agency, which works in many countries, offered people on the move these "
        "services:",
        "Helps migrants return home voluntarily.",
        "Provides job training and education.",
        "Gives legal aid to victims.",
    ]
    expected = "\n".join(texts(items))
    assert all(p.context == expected for p in items)


def test_a_list_does_not_take_a_paragraph_that_does_not_introduce_it(make_doc) -> None:
    passages = split(make_doc(LIST_DOC))
    other = [p for p in passages if p.section == "Other work"]
    assert texts(other) == ["It also runs a research unit.", "Publishes an annual report."]
    assert [p.context for p in other] == ["", ""]  # a lone item needs no context


def test_a_paragraph_is_not_a_list(make_doc) -> None:
    first, second = ("First paragraph here, long enough to stand alone. " * 5,
                     "Second paragraph here, long enough to stand alone too. " * 5)
    passages = split(make_doc(f"Notes\n\n{first}\n\n{second}\n"))
    assert [p.context for p in passages] == ["", ""]


def test_lists_do_not_run_across_headings(make_doc) -> None:
    doc = make_doc("Guide\n\nA\n\n- one thing here\n- two things here\n\nB\n\n- three here\n")
    passages = split(doc)
    assert [(p.section, p.context) for p in passages] == [
        ("A", "one thing here\ntwo things here"),
        ("A", "one thing here\ntwo things here"),
        ("B", ""),
    ]


def test_a_long_list_is_shown_in_runs_that_fit(make_doc) -> None:
    items = [f"Item number {i} says something about topic {i} at some length." for i in range(30)]
    doc = make_doc("Guide\n\nLong list\n\n" + "\n".join(f"- {t}" for t in items) + "\n")
    passages = split(doc)
    assert texts(passages) == items
    contexts = list(dict.fromkeys(p.context for p in passages))
    assert len(contexts) > 1
    assert all(len(c) <= MAX_LIST_CHARS + 2 * LIST_MARKER_CHARS for c in contexts)
    shown_items = [[line for line in c.split("\n") if not line.startswith("… ")]
                   for c in contexts]
    assert all(len("\n".join(run)) <= MAX_LIST_CHARS for run in shown_items)
    assert sum(shown_items, []) == items  # every item in exactly one run
    # Each run says how many items of the list it leaves out, before and after.
    done = 0
    for c, run in zip(contexts, shown_items, strict=True):
        lines = c.split("\n")
        left = len(items) - done - len(run)
        assert lines[0] == (f"… {done} earlier item{'s' * (done != 1)}" if done else run[0])
        assert lines[-1] == (f"… and {left} more" if left else run[-1])
        done += len(run)


@pytest.mark.parametrize(
    ("source", "contexts"),
    [
        # An introduction that fits stays the first line, not counted as an item.
        ("# Guide\n\n## Steps\n\nDo this:\n\n"
         + "\n".join(f"- {'x' * 150} {i}." for i in range(4)) + "\n", None),
        # A list that fits whole says nothing more.
        ("# Guide\n\n## Steps\n\n- One.\n- Two.\n- Three.\n", ["One.\nTwo.\nThree."]),
    ],
)
def test_a_cut_list_counts_what_each_run_leaves_out(make_doc, source: str,
                                                    contexts: list[str] | None) -> None:
    passages = split(make_doc(source, "doc.md"))
    runs = list(dict.fromkeys(p.context for p in passages if p.context))
    if contexts is not None:
        assert runs == contexts
        return
    assert runs[0].startswith("Do this:\n") and runs[0].endswith("… and 2 more")
    assert runs[-1].startswith("… 2 earlier items\n")


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("doc.md", "# Guide\n\n## Services\n\nWe offer:\n\n- Return help.\n- Job training.\n"),
        ("doc.html", "<h1>Guide</h1><h2>Services</h2><p>We offer:</p>"
                     "<ul><li>Return help.</li><li>Job training.</li></ul>"),
    ],
)
def test_markdown_and_html_lists_carry_their_list(make_doc, name: str, source: str) -> None:
    passages = split(make_doc(source, name))
    assert texts(passages) == ["We offer:", "Return help.", "Job training."]
    assert {p.context for p in passages} == {"We offer:\nReturn help.\nJob training."}


def test_split_answer_sentences_ends_a_sentence_at_each_line() -> None:
    text = "UNHCR (refugees)\nWHO (health). It helps.\nUNICEF"
    assert [text[a:b] for a, b in split_answer_sentences(text)] == [
        "UNHCR (refugees)", "WHO (health).", "It helps.", "UNICEF"]


# --- tables with named columns ---------------------------------------------------------

WIDE_MD = (
    "# Ports\n\n## Traffic\n\n"
    "| Port | Ships per year | Busiest month |\n"
    "|---|---|---|\n"
    "| Rotterdam | 29,000 | March |\n"
    "| Hamburg | | July |\n"
)
WIDE_HTML = (
    "<h1>Ports</h1><h2>Traffic</h2><table>"
    "<tr><th>Port</th><th>Ships per year</th><th>Busiest month</th></tr>"
    "<tr><td>Rotterdam</td><td>29,000</td><td>March</td></tr>"
    "<tr><td>Hamburg</td><td></td><td>July</td></tr>"
    "</table>"
)


@pytest.mark.parametrize(("name", "source"), [("doc.md", WIDE_MD), ("doc.html", WIDE_HTML)])
def test_rows_of_a_wide_table_name_each_cell_by_its_column(
    make_doc, name: str, source: str
) -> None:
    passages = split(make_doc(source, name))
    assert pairs(passages) == [
        ("Traffic", "Rotterdam - Ships per year: 29,000; Busiest month: March"),
        ("Traffic", "Hamburg - Busiest month: July"),
    ]


@pytest.mark.parametrize(
    ("cells", "header", "expected"),
    [
        (["a", "b"], ["K", "V"], "a - b"),  # two columns: key and value
        (["a", "b", "c"], None, "a - b - c"),  # no header row
        (["a", "b", "c"], ["K", "", "W"], "a - b - c"),  # a header cell is missing
        (["a", "b"], ["K", "V", "W"], "a - b"),  # a short row
        (["", "b", "c"], ["K", "V", "W"], "b - c"),  # no key to name the row by
        (["a", "", ""], ["K", "V", "W"], "a"),
    ],
)
def test_table_row_text(cells: list[str], header: list[str] | None, expected: str) -> None:
    assert table_row_text(cells, header) == expected


# --- tables without a header row -------------------------------------------------------

TIMELINE_TXT = """History

Timeline

1863
The committee is set up in Geneva.
1864
Twelve states sign the first convention.
1876
The committee takes its present name.
"""


def test_a_headerless_key_value_table_keeps_every_row(make_doc) -> None:
    passages = split(make_doc(TIMELINE_TXT))
    assert texts(passages) == [
        "1863 - The committee is set up in Geneva.",
        "1864 - Twelve states sign the first convention.",
        "1876 - The committee takes its present name.",
    ]
    # The rows read together as one table.
    assert {p.context for p in passages} == {"\n".join(texts(passages))}


@pytest.mark.parametrize(
    "block",
    [
        "Apples\nPears\nPlums\nFigs\nDates\nLimes\n",  # short lines: a list, not a table
        "1863\nSet up.\n1864\nSigned.\n",  # two pairs only
        "1863\nThe committee is set up.\n1864\n- Twelve states sign.\n1876\nRenamed today.\n",
    ],
)
def test_blocks_that_are_not_headerless_tables(make_doc, block: str) -> None:
    passages = split(make_doc("Doc\n\nPart\n\n" + block))
    assert not any(re.match(r"\d{4} - ", p.text) for p in passages)


# --- Markdown setext headings and thematic breaks --------------------------------------


def test_markdown_setext_headings_nest_like_atx_ones(make_doc) -> None:
    source = (
        "Project\n=======\n\nIntro text about the project.\n\n"
        "Installation\n------------\n\nRun pip install project.\n\n"
        "Usage\n---\n\nCall project.run() to start.\n"
    )
    passages = split(make_doc(source, "doc.md"))
    assert [(p.parents, p.section, p.text) for p in passages] == [
        ((), "Project", "Intro text about the project."),
        (("Project",), "Installation", "Run pip install project."),
        (("Project",), "Usage", "Call project.run() to start."),
    ]


@pytest.mark.parametrize("rule", ["---", "***", "___", "- - -", " * * *"])
def test_markdown_thematic_breaks_are_not_passages(make_doc, rule: str) -> None:
    passages = split(make_doc(f"# Doc\n\nFirst part here.\n\n{rule}\n\nSecond part here.\n",
                              "doc.md"))
    assert texts(passages) == ["First part here.", "Second part here."]


def test_a_list_item_above_a_rule_stays_an_item(make_doc) -> None:
    passages = split(make_doc("# Doc\n\n- first item here\n- second item here\n---\n", "doc.md"))
    assert texts(passages) == ["first item here", "second item here"]
    assert {p.section for p in passages} == {"Doc"}


# --- numbered section headings and Q:/A: entries ---------------------------------------

NUMBERED_DOC = """Guide to Kettles

1. Introduction

Kettles boil water for tea and coffee in most homes.

2. How to Descale a Kettle

Fill it with vinegar and water, boil, and rinse well after an hour.

3. Questions

Q: How long does a kettle last?
A: Most kettles last four to five years,
depending on use.

Question: Can I boil milk in a kettle?
Answer: No, milk burns onto the element.
"""


def test_numbered_lines_standing_alone_between_paragraphs_are_headings(make_doc) -> None:
    passages = split(make_doc(NUMBERED_DOC))
    assert [(p.section, p.text) for p in passages][:2] == [
        ("1. Introduction", "Kettles boil water for tea and coffee in most homes."),
        ("2. How to Descale a Kettle",
         "Fill it with vinegar and water, boil, and rinse well after an hour."),
    ]


def test_q_and_a_entries_are_sections_named_by_their_question(make_doc) -> None:
    passages = split(make_doc(NUMBERED_DOC))
    assert [(p.parents[-1], p.section, p.text) for p in passages][2:] == [
        ("3. Questions", "How long does a kettle last?",
         "Most kettles last four to five years, depending on use."),
        ("3. Questions", "Can I boil milk in a kettle?", "No, milk burns onto the element."),
    ]


def test_a_numbered_list_with_blank_lines_stays_a_list(make_doc) -> None:
    doc = make_doc("Guide\n\nPartners\n\n"
                   "In 2016 it became a related agency of the United Nations and now works "
                   "with agencies such as:\n\n1. UNHCR (refugees)\n\n"
                   "2. UNICEF (children)\n\n3. WHO (health)\n\nTogether they help migrants.\n")
    passages = split(doc)
    assert {p.section for p in passages} == {"Partners"}
    assert "1. UNHCR (refugees)" not in {p.section for p in passages}
    assert texts(passages)[1:4] == ["UNHCR (refugees)", "UNICEF (children)", "WHO (health)"]


def test_a_long_block_of_short_unpunctuated_lines_is_cut_at_line_breaks(make_doc) -> None:
    lines = [f"Step {i}: open panel {i} and press the green button number {i}" for i in range(40)]
    passages = split(make_doc("Manual\n\nSetup steps\n\n" + "\n".join(lines) + "\n"))
    assert len(passages) > 1
    assert all(len(p.text) <= MAX_PASSAGE_CHARS for p in passages)
    assert " ".join(texts(passages)) == " ".join(lines)  # every line, in order, once


def test_html_dt_and_summary_questions_name_their_answers(make_doc) -> None:
    source = (
        "<h1>Kettles</h1><h2>FAQ</h2><dl><dt>How long does a kettle last?</dt>"
        "<dd>Four to five years.</dd><dt>Can I boil milk?</dt><dd>No, it burns.</dd></dl>"
        "<details><summary>Is descaling needed?</summary>Yes, every month.</details>"
    )
    passages = split(make_doc(source, "doc.html"))
    assert [(p.parents, p.section, p.text) for p in passages] == [
        (("Kettles", "FAQ"), "How long does a kettle last?", "Four to five years."),
        (("Kettles", "FAQ"), "Can I boil milk?", "No, it burns."),
        (("Kettles", "FAQ"), "Is descaling needed?", "Yes, every month."),
    ]


def test_a_long_html_dt_is_text_not_a_heading(make_doc) -> None:
    term = "This definition term is a whole sentence that goes on. It has two sentences."
    passages = split(make_doc(f"<h1>Doc</h1><dl><dt>{term}</dt><dd>Detail.</dd></dl>",
                              "doc.html"))
    assert pairs(passages) == [("Doc", term), ("Doc", "Detail.")]


def test_q_and_a_in_separate_blocks(make_doc) -> None:
    source = ("Kettles\n\nFAQ\n\nQ: How long does a kettle last?\n\n"
              "A: Most kettles last four to five years.\n\n"
              "Q: Can I boil milk?\n\nA: No, it burns.\n")
    passages = split(make_doc(source))
    assert pairs(passages) == [("How long does a kettle last?",
                                "Most kettles last four to five years."),
                               ("Can I boil milk?", "No, it burns.")]


def test_html_site_banner_buttons_and_bylines_are_not_passages(make_doc) -> None:
    source = (
        "<html><body><header><div>Site Name</div><h1>Kettles</h1><p>Our tagline here</p>"
        "</header><main><article><header><p>Kettles boil water fast.</p></header>"
        "<p>By the editors · 5 min read</p><p><button>Expand all</button></p>"
        "<h2>Care</h2><p>Descale it monthly.</p></article></main></body></html>"
    )
    passages = split(make_doc(source, "doc.html"))
    assert pairs(passages) == [("Kettles", "Kettles boil water fast."),
                               ("Care", "Descale it monthly.")]


@pytest.mark.parametrize(("name", "source"), [("doc.md", WIDE_MD), ("doc.html", WIDE_HTML)])
def test_markdown_and_html_table_rows_are_shown_with_their_table(
    make_doc, name: str, source: str
) -> None:
    passages = split(make_doc(source, name))
    assert {p.context for p in passages} == {"\n".join(texts(passages))}


@pytest.mark.parametrize(
    ("sentence", "noise"),
    [
        ("Follow us on Twitter", True),
        ("Subscribe to our newsletter", True),
        ("Privacy Policy", True),
        ("Cookie settings", True),
        ("We use cookies to improve your experience.", True),
        ("Tags: migration, refugees", True),
        ("Posted in News", True),
        ("Click to share on Facebook (Opens in new window)", True),
        ("Table of Contents", True),
        ("Back to top", True),
        ("You may also like", True),
        ("Tags are small labels on luggage.", False),
        ("The privacy policy of the agency changed in 2018.", False),
        ("Subscribers get the annual report.", False),
        ("Share of funding from governments", False),
        ("Posted in 1990, the guards stood at the gate for years.", False),
        ("Terms of reference for the committee", False),
    ],
)
def test_web_page_boilerplate_is_noise_and_prose_is_not(sentence: str, noise: bool) -> None:
    assert is_noise(sentence) is noise


# --- every passage bounded ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_text_without_sentence_breaks_is_cut_hard_on_word_boundaries(fmt: str) -> None:
    from qabot.passages import MAX_PASSAGE_CHARS, MAX_SECTION_CHARS

    words = " ".join(f"w{i % 97}" for i in range(40_000))  # ~180 KB, no sentence break
    long_heading = "heading " * 100
    source = {"text": words,
              "markdown": f"# {long_heading}\n\n{words}\n\n{'x' * 3000}",
              "html": f"<h1>{long_heading}</h1><p>{words}</p><p>{'x' * 3000}</p>"}[fmt]
    passages = split_document(Document("d", "T", source, fmt))
    assert " ".join(p.text for p in passages if p.text[0] != "x") == words  # nothing lost
    assert max(len(p.text) for p in passages) <= MAX_PASSAGE_CHARS
    for p in passages:
        if not p.text.startswith("x"):  # a cut inside a word only when one word is too long
            assert re.fullmatch(r"(w\d+ )*w\d+", p.text), p.text[:80]
        assert len(p.section) <= MAX_SECTION_CHARS
    if fmt != "text":
        assert passages[0].section.endswith("heading…")


def test_a_reply_is_bounded_whatever_the_document() -> None:
    from qabot import QABot

    words = " ".join(f"ferry{i % 50} harbour" for i in range(20_000))
    bot = QABot.from_documents([Document("big.txt", "Big", words, "text")])
    reply = bot.ask("ferry7 harbour", 10).to_dict()
    assert len(json.dumps(reply)) < 12 * 1024


# --- plain text: outlines, contents, code lines, Unicode spaces (issue 14) --------------

NBSP = "\u00a0"
OUTLINE_DOC = f"""Kettle Manual

Table of Contents

1. Using a kettle
    1.1. How full should a kettle be?
    1.2. Can I boil milk in a kettle, or will it burn onto the
    element?
2. Cleaning

Chapter{NBSP}1.{NBSP}Using a kettle

1.1.{NBSP}How full should a kettle be?

    Fill it above the minimum mark and below the maximum mark.
{NBSP}{NBSP}{NBSP} Never run it empty.

1.2.{NBSP}Can I boil milk in a kettle, or will it burn onto the
element?

    No. Milk burns onto the element and ruins the kettle.

Chapter{NBSP}2.{NBSP}Cleaning

2.1.{NBSP}Descaling

    To descale it, boil a mix of vinegar and water, then run

    descale --vinegar /usr/share/kettle

    to rinse the scale away.

2.1.1.{NBSP}Daily care

    Empty the kettle after use.
"""


def test_outline_headings_nest_by_depth_after_any_space(make_doc) -> None:
    passages = split(make_doc(OUTLINE_DOC))
    placed = {p.text: (p.parents, p.section) for p in passages}
    assert placed["Empty the kettle after use."] == (
        ("Chapter 2. Cleaning", "2.1. Descaling"), "2.1.1. Daily care")
    assert placed["No. Milk burns onto the element and ruins the kettle."] == (
        ("Chapter 1. Using a kettle",),
        "1.2. Can I boil milk in a kettle, or will it burn onto the element?")


def test_a_table_of_contents_is_neither_passages_nor_headings(make_doc) -> None:
    doc = make_doc(OUTLINE_DOC)
    passages = split(doc)
    body = doc.text.index(f"Chapter{NBSP}1.")
    assert all(p.start >= body for p in passages)
    assert "Kettle Manual" not in {p.section for p in passages}  # no text above the body


def test_wrapped_paragraphs_indented_with_unicode_spaces_are_joined(make_doc) -> None:
    passages = split(make_doc(OUTLINE_DOC))
    assert ("Fill it above the minimum mark and below the maximum mark. Never run it empty."
            in texts(passages))


def test_a_command_line_is_kept_with_the_sentence_it_stands_in(make_doc) -> None:
    passages = split(make_doc(OUTLINE_DOC))
    [passage] = [p for p in passages if "descale --vinegar" in p.text]
    assert passage.section == "2.1. Descaling"
    assert passage.text == ("To descale it, boil a mix of vinegar and water, then run "
                            "descale --vinegar /usr/share/kettle to rinse the scale away.")


@pytest.mark.parametrize("line", [
    "dpkg -l", "apt-get install foo", "/etc/modules", "make deb-pkg",
    "log /var/log/dpkg.log", "CFLAGS=-O2", "--download-only", "server {", "postrm",
])
def test_indented_code_lines_are_never_headings(make_doc, line: str) -> None:
    doc = make_doc("Guide\n\nInstalling\n\n    To list what is installed, type\n\n"
                   f"    {line}\n\n    and read the list it prints on the screen.\n")
    passages = split(doc)
    assert {p.section for p in passages} == {"Installing"}
    assert line in passages[0].text


def test_a_term_above_its_indented_description_stays_with_it(make_doc) -> None:
    doc = make_doc("Scripts\n\n    The individual files are:\n\n    postrm\n\n"
                   "        This script removes what the package created.\n")
    passages = split(doc)
    # The short line introducing it joins it too (a paragraph under MIN_PARAGRAPH_CHARS).
    assert texts(passages) == [
        "The individual files are: postrm This script removes what the package created."]
    assert {p.section for p in passages} == {"Scripts"}


@pytest.mark.parametrize(("number", "depth"), [
    ("A.3", 2), ("IV.", 1), ("12.2.1", 3), ("Appendix A.", 1), ("3.0", 1),
])
def test_outline_numbers_of_every_kind(make_doc, number: str, depth: int) -> None:
    doc = make_doc(f"Title\n\n{number} Hardware Support\n\n    Most hardware works.\n")
    [passage] = split(doc)
    assert passage.section == f"{number} Hardware Support"


@pytest.mark.parametrize("paragraph", [
    "1.5 million people use it every day, according to the survey.",
    "2.0 was the release that changed everything about it\nand is still used.",
])
def test_a_paragraph_opening_with_a_decimal_is_not_a_heading(make_doc, paragraph: str) -> None:
    passages = split(make_doc(f"Title\n\n{paragraph}\n\nMore text follows here.\n"))
    assert {p.section for p in passages} == {"Title"}


def test_a_heading_line_read_as_text_is_not_a_passage_of_its_section(make_doc) -> None:
    doc = make_doc("Guide\n\n"
                   "3.1. Which release is best for me?\n\n"
                   "    Stable, for most people.\n\n"
                   "    3.1. Which release is best for me?\n")
    passages = split(doc)
    assert texts(passages) == ["Stable, for most people."]


@pytest.mark.parametrize("space", ["\u00a0", "\u2003", "\u2009", "\u202f", "\u3000"])
def test_unicode_spaces_count_as_spaces_for_layout(make_doc, space: str) -> None:
    doc = make_doc(f"Title\n\n4.2.{space}Hardware Support\n\n{space * 4}Most hardware works,\n"
                   f"{space * 4}and the rest is listed below.\n")
    [passage] = split(doc)
    assert passage.section == "4.2. Hardware Support"
    assert passage.text == "Most hardware works, and the rest is listed below."


# --- short plain-text paragraphs and wordless passages ---------------------------------


def test_a_short_paragraph_joins_the_next_of_its_section(make_doc) -> None:
    answer = ("The only restriction on redistribution is the copyright statement found "
              "in every source file; the statement asks for credit and nothing more.")
    doc = make_doc(f"FAQ\n\n1.9 Is there a licence?\n\n    No.\n\n    {answer}\n\n"
                   "1.10 Next question?\n\n    Yes.\n")
    passages = split(doc)
    assert [(p.section, p.text) for p in passages] == [
        ("1.9 Is there a licence?", f"No. {answer}"),
        ("1.10 Next question?", "Yes."),   # alone in its section: nothing to join
    ]
    assert doc.text[passages[0].start:passages[0].end].startswith("No.")
    assert doc.text[passages[0].start:passages[0].end].endswith("nothing more.")


def test_a_short_paragraph_ending_its_section_joins_the_one_before(make_doc) -> None:
    doc = make_doc("Getting it\n\nIt is available by anonymous ftp from the project's "
                   "server, in the tools sub-directory.\n\n"
                   "Signed tar files are available too.\n\nNext Part\n\nOther text.\n")
    assert pairs(split(doc))[0] == (
        "Getting it", "It is available by anonymous ftp from the project's server, in the "
        "tools sub-directory. Signed tar files are available too.")


@pytest.mark.parametrize("second", [
    "Note: the shop is closed on Sundays.",                  # a labelled entry stands alone
    "- a list item stays an item",                           # list items are left alone
])
def test_labelled_paragraphs_and_items_are_not_joined(make_doc, second: str) -> None:
    doc = make_doc(f"Shop\n\nThe shop opens at nine.\n\n{second}\n")
    assert len(split(doc)) == 2


def test_paragraphs_are_not_joined_past_the_limit(make_doc) -> None:
    long = " ".join(["word"] * 139) + "."  # 695 characters: with "Short one." over 700
    doc = make_doc(f"Part\n\nShort one.\n\n{long}\n")
    assert texts(split(doc)) == ["Short one.", long]


@pytest.mark.parametrize("name", ["doc.txt", "doc.md", "doc.html"])
def test_a_passage_without_letters_or_digits_is_dropped(make_doc, name: str) -> None:
    body = {"doc.txt": "Licence\n\nThe text of the licence follows here in full.\n\n*\n",
            "doc.md": "# Licence\n\nThe text of the licence follows here in full.\n\n- *\n",
            "doc.html": "<h1>Licence</h1><p>The text of the licence follows here in full.</p>"
                        "<p>* * *</p>"}[name]
    assert texts(split(make_doc(body, name=name))) == [
        "The text of the licence follows here in full."]


@pytest.mark.parametrize(
    ("heading", "line", "echo"),
    [
        ("Setup", "Setup.", True),
        ("Setup", "Set up.", False),
        ("Setup Guide", "Setup guide!", True),
        ("Setup Guide", "SETUP -- GUIDE.", True),
        ("Setup Guide", "Setup notes.", False),  # the same first word, then another
        ("2.1. Setup Guide", "Setup guide.", True),  # the outline number is no word
    ],
)
def test_a_line_only_repeating_its_heading_is_dropped(
    make_doc, heading: str, line: str, echo: bool
) -> None:
    body = ("This paragraph explains the whole matter in enough words to stand as a paragraph "
            "of its own, and it goes on for a while longer so that it is surely kept alone.")
    (passage,) = split(make_doc(f"{heading}\n\n{line}\n\n{body}\n"))
    assert passage.text == (body if echo else f"{line} {body}")


# --- a line introducing code ------------------------------------------------------------

_INTRO = "To compare an archive with the files on disk, send a tar stream to stdout:"
_COMMAND = "borg export-tar repo::archive - | tar --compare -f -"


@pytest.mark.parametrize(("name", "text"), [
    ("doc.md", f"# Compare\n\n{_INTRO}\n\n```\n{_COMMAND}\n```\n\nThat is all.\n"),
    ("doc.md", f"# Compare\n\n{_INTRO}\n\n    {_COMMAND}\n\nThat is all.\n"),
    ("doc.html", f"<h1>Compare</h1><p>{_INTRO}</p><div class='highlight'><pre>"
                 f"<span>{_COMMAND.replace('|', '</span>|<span>')}</span></pre></div>"
                 "<p>That is all.</p>"),
])
def test_a_line_ending_with_a_colon_is_shown_with_the_code_under_it(
        make_doc, name: str, text: str) -> None:
    passages = split(make_doc(text, name))
    # Each is matched on its own words; the line is answered with the code in view.
    assert texts(passages) == [_INTRO, _COMMAND, "That is all."]
    assert [p.shown for p in passages] == [f"{_INTRO}\n{_COMMAND}", _COMMAND, "That is all."]


@pytest.mark.parametrize(("name", "text", "expected"), [
    # No colon: the paragraph does not introduce the code.
    ("doc.md", f"# C\n\nThe archive can be compared.\n\n```\n{_COMMAND}\n```\n",
     ["The archive can be compared.", _COMMAND]),
    ("doc.html", f"<h1>C</h1><p>The archive can be compared.</p><pre>{_COMMAND}</pre>",
     ["The archive can be compared.", _COMMAND]),
    # A list item's colon introduces its own item, not the code after the list.
    ("doc.md", f"# C\n\n- first step:\n\n```\n{_COMMAND}\n```\n", ["first step:", _COMMAND]),
    # Too long together for one passage.
    ("doc.md", f"# C\n\n{'word ' * 130}now:\n\n```\n{_COMMAND}\n```\n",
     [f"{'word ' * 130}now:", _COMMAND]),
])
def test_code_is_not_shown_with_what_does_not_introduce_it(
        make_doc, name: str, text: str, expected: list[str]) -> None:
    passages = split(make_doc(text, name))
    assert texts(passages) == expected
    assert not any(_COMMAND in p.shown for p in passages if p.text != _COMMAND)
