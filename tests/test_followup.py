"""Follow-up questions (qabot.followup): which questions lean on an earlier one, their topic,
the standalone question built from both, and the blind follow-up gold sets' format.

The examples are made up here about made-up subjects, so no rule can lean on the shipped
corpus or on a gold question."""

from __future__ import annotations

from pathlib import Path

import pytest

from qabot.documents import load_corpus
from qabot.evaluate import items_not_in, load_gold
from qabot.followup import followup_reason, resolve, standalone_question, topic_words
from qabot.passages import split_document

REPO = Path(__file__).resolve().parents[1]
FOLLOWUP_SETS = sorted([REPO / "corpus" / "iom.followups.jsonl",
                        *(REPO / "benchmarks" / "corpora").glob("*/*.followups.jsonl")])


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("When was it built?", "pronoun"),
        ("who's in charge of it?", "pronoun"),
        ("How big is its garden?", "pronoun"),
        ("Did they win?", "pronoun"),
        ("what did she write next?", "pronoun"),
        ("When was that?", "pronoun"),
        ("Who paid for this?", "pronoun"),
        ("How many people work there?", "pronoun"),
        ("What should I do if I see one?", "pronoun"),
        ("And the west wing?", "ellipsis"),
        ("and once they leave?", "ellipsis"),  # the opener decides before the pronoun
        ("What about the roof?", "ellipsis"),
        ("how about in winter?", "ellipsis"),
        ("Why?", "no_topic"),
        ("Tell me more.", "no_topic"),
        ("What else?", "no_topic"),
        ("When was the lighthouse built?", None),
        ("Is there a fee for visitors?", None),  # existential "there"
        ("Are there guided tours?", None),
        ("Which towns have a harbour that freezes?", None),  # relative "that"
        ("Name one of the keepers.", None),  # "one" counts
        ("What does the WHO publish?", None),  # an acronym is a topic
    ],
)
def test_followup_reason(question: str, reason: str | None) -> None:
    assert followup_reason(question) == reason


def test_topic_words_keep_the_previous_questions_content_words_in_order() -> None:
    assert topic_words("When was the Tarn lighthouse built?", "Who paid for it?") == (
        "Tarn", "lighthouse", "built")
    # words the follow-up already has are not repeated; an acronym is kept though "who"
    # is a stop word; a possessive counts once
    assert topic_words("Who founded the WHO's archive?", "When was the archive opened?") == (
        "founded", "WHO's")


@pytest.mark.parametrize(
    ("question", "reason", "expected"),
    [
        ("When was it built?", "pronoun", "When was Tarn lighthouse built?"),
        ("How tall is its tower?", "pronoun", "How tall is Tarn lighthouse's tower?"),
        ("And the harbour?", "ellipsis", "And Tarn lighthouse: the harbour?"),
        ("Why?", "no_topic", "Why (Tarn lighthouse)?"),
        ("tell me more", "no_topic", "tell me more (Tarn lighthouse)"),
    ],
)
def test_standalone_question(question: str, reason: str, expected: str) -> None:
    assert standalone_question(question, reason, ("Tarn", "lighthouse")) == expected


def test_resolve_uses_the_newest_question_with_a_topic() -> None:
    context = ["Where is the Tarn lighthouse?", "Who built the harbour wall?", "Why?"]
    r = resolve("When was it finished?", context)
    # "Why?" has no topic of its own, so the question before it gives the topic
    assert (r.reason, r.topic) == ("pronoun", ("built", "harbour", "wall"))
    assert r.standalone == "When was built harbour wall finished?"


@pytest.mark.parametrize(
    ("question", "context"),
    [
        ("When was the lighthouse built?", ["Who paid for the harbour?"]),  # self-contained
        ("When was it built?", []),  # nothing to lean on
        ("When was it built?", ["Why?"]),  # nothing with a topic to lean on
    ],
)
def test_resolve_keeps_the_question_as_asked(question: str, context: list[str]) -> None:
    r = resolve(question, context)
    assert r.reason is None and r.standalone == question and r.topic == ()


@pytest.mark.parametrize("path", FOLLOWUP_SETS, ids=lambda p: p.parent.name)
def test_blind_followup_sets(path: Path) -> None:
    """Each blind follow-up set loads, pairs every follow-up with its earlier question,
    words every item to stand alone, mixes answerable and unanswerable items in both
    parts, and holds an answer of each answerable item in a passage of its own document."""
    items = load_gold(path)
    passages = [p.text for d in load_corpus(path.parent) for p in split_document(d)]
    assert len(items) == 20 and all(i.kind == "followup" for i in items)
    assert all(i.context and i.standalone for i in items)
    for part in (True, False):
        mine = [i for i in items if i.held_out is part]
        assert any(i.unanswerable for i in mine) and any(not i.unanswerable for i in mine)
    assert items_not_in(items, passages) == []


def test_a_topic_word_is_borrowed_even_when_the_followup_uses_it_as_a_stop_word() -> None:
    # "who" asks in the follow-up; "WHO" names the topic in the earlier question
    assert topic_words("When was the WHO founded?", "who runs it now?") == ("WHO", "founded")
