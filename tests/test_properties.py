"""Property tests: any document splits into valid passages and any question gets a valid reply.

qabot is meant for documents nobody has seen yet, so beside the hand-checked shapes of
test_passages.py these throw generated documents and questions at the pipeline and check
the invariants that must always hold.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qabot import QABot, QuestionError
from qabot.documents import Document
from qabot.passages import (
    LIST_MARKER_CHARS,
    MAX_LIST_CHARS,
    MAX_PASSAGE_CHARS,
    MAX_SECTION_CHARS,
    split_document,
)

WORDS = st.sampled_from(
    "the harbour board opened a ferry terminal in 1990 . , : ; ? ! ( ) - + > • 1. (ii) "
    "Year Event This image shows Leave a Comment e.g. J. Smith café naïve 東京 **bold** "
    "_x_ # ## | --- ``` <p> </p> <h2> </h2> <li> <tr><td> &amp;".split()
)
LINE = st.lists(WORDS, min_size=0, max_size=25).map(" ".join)
INDENT = st.sampled_from(["", "  ", "    ", "\t"])
TEXT = st.lists(st.tuples(INDENT, LINE), min_size=1, max_size=40).map(
    lambda lines: "\n".join(indent + line for indent, line in lines)
)
FORMATS = st.sampled_from([("doc.txt", "text"), ("doc.md", "markdown"), ("doc.html", "html")])

FAST = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(text=TEXT, fmt=FORMATS)
def test_any_document_splits_into_valid_passages(text: str, fmt: tuple[str, str]) -> None:
    name, kind = fmt
    doc = Document(name, "Title", text, kind)
    passages = split_document(doc)
    previous_start = -1
    for p in passages:
        assert p.text.strip() and p.section.strip()
        assert p.document == name
        assert 0 <= p.start < p.end <= len(text)
        assert p.start >= previous_start
        previous_start = p.start
        # A list item is shown with its list: whole lines, the item's own among them.
        assert p.text in p.shown.split("\n")
        assert len(p.shown) <= max(MAX_LIST_CHARS, len(p.text)) + 2 * LIST_MARKER_CHARS
        # Every passage is bounded, a sentence longer than the bound included.
        assert len(p.text) <= MAX_PASSAGE_CHARS and len(p.section) <= MAX_SECTION_CHARS


# Any text at all: every character, long words, long lines, markup fragments.
ANY_TEXT = st.lists(
    st.one_of(st.text(max_size=50), WORDS, st.sampled_from(["\n", "\n\n", "\r\n", " " * 9]),
              st.builds(lambda c, n: c * n, st.sampled_from(["x", "ab ", "é", "# "]),
                        st.integers(0, 900))),
    max_size=60,
).map("".join)


@FAST
@given(text=ANY_TEXT, fmt=FORMATS)
def test_any_text_splits_into_bounded_passages_inside_the_document(
        text: str, fmt: tuple[str, str]) -> None:
    name, kind = fmt
    passages = split_document(Document(name, "Title", text, kind))  # never raises
    for p in passages:
        assert 0 <= p.start < p.end <= len(text)
        assert p.text.strip() and p.section.strip()
        assert len(p.text) <= MAX_PASSAGE_CHARS and len(p.section) <= MAX_SECTION_CHARS
        assert len(p.shown) <= max(MAX_LIST_CHARS, MAX_PASSAGE_CHARS) + 2 * LIST_MARKER_CHARS


QUESTION = st.text(min_size=1, max_size=200)


@FAST
@given(question=QUESTION, top_k=st.integers(min_value=1, max_value=10))
def test_any_question_gets_a_valid_reply_or_a_question_error(
    bot: QABot, question: str, top_k: int
) -> None:
    try:
        data = bot.ask(question, top_k=top_k).to_dict()
    except QuestionError:
        assert not question.strip()
        return
    assert set(data) == {"question", "found", "answer", "section", "document", "score",
                         "highlight", "alternatives", "message", "passage_id"}
    assert len(data["alternatives"]) <= top_k
    ids = [a["passage_id"] for a in data["alternatives"]] + [data["passage_id"]] * data["found"]
    assert len(ids) == len(set(ids)) and set(ids) <= set(bot.passage_ids)
    shown = [a["answer"] for a in data["alternatives"]] + [data["answer"]] * data["found"]
    assert len(shown) == len(set(shown))  # a passage or list is offered once
    if data["found"]:
        assert data["answer"] and data["section"] and data["highlight"] in data["answer"]
    else:
        assert data["answer"] is None and data["message"]
