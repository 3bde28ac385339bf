"""Tests of answer-accuracy evaluation (qabot/evaluate.py and ``qabot eval``).

The metric tests use a tiny hand-made gold set and a fake asker, so every expected number
can be checked by hand; the CLI and ``--url`` tests run the real engine on the shipped
corpus and only compare numbers with each other (the engine's accuracy moves as it is
tuned; the CI gate in ``.ci/run`` is what pins it).
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from qabot.answer import QABot
from qabot.cli import main
from qabot.errors import QABotError
from qabot.evaluate import (
    KINDS,
    METRIC_KEYS,
    GoldItem,
    GoldSetError,
    RemoteError,
    at_threshold,
    evaluate,
    format_failures,
    format_report,
    http_asker,
    is_held_out,
    items_not_in,
    judge,
    load_gold,
    normalize_answer,
    sweep,
)

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
GOLD = CORPUS / "iom.questions.jsonl"
FOLLOWUPS = CORPUS / "iom.followups.jsonl"


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Geneva", "geneva"),  # casefold
        ("STRASSE straße", "strasse strasse"),  # casefold is stronger than lower()
        ("ﬁnancial", "financial"),  # NFKC: ligature
        ("ＩＯＭ ２０２４", "iom 2024"),  # NFKC: full-width letters and digits
        ("Key Milestones in IOM’s History", "key milestones in iom's history"),
        ("‘single’ and “double”", "'single' and \"double\""),
        ("a \n\t  b", "a b"),  # whitespace runs collapse
        ("a\u00a0b\u2003c", "a b c"),  # no-break and em spaces too
        ("  padded  ", "padded"),
        ("", ""),
    ],
)
def test_normalize_answer(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


def item(id_: str, answers: tuple[str, ...] = ("Geneva",), section: str | None = "Where?",
         kind: str = "paraphrase") -> GoldItem:
    unanswerable = kind == "unanswerable"
    return GoldItem(id_, f"question {id_}?", () if unanswerable else answers,
                    None if unanswerable else section, kind, unanswerable)


def reply(found: bool, answer: str | None = None, section: str | None = None,
          alternatives: tuple[str, ...] = (), score: float = 0.5) -> dict[str, Any]:
    return {
        "question": "q", "found": found, "answer": answer if found else None,
        "section": section if found else None, "document": "doc.txt", "score": score,
        "highlight": None,
        "alternatives": [{"answer": a, "section": f"S{i}", "document": "doc.txt", "score": 0.1}
                         for i, a in enumerate(alternatives)],
        "message": None,
    }


def test_answered_needs_found_and_the_first_passage() -> None:
    gold = item("t1", answers=("Geneva", "Amy Pope"))
    hit = judge(gold, reply(True, "Led by AMY  POPE.", "Where?"), k=5)
    assert (hit.answered, hit.rank, hit.correct) == (True, 1, True)
    declined = judge(gold, reply(False, alternatives=("It sits in Geneva.",)), k=5)
    assert (declined.answered, declined.rank, declined.correct) == (False, 1, False)
    second = judge(gold, reply(True, "Nothing here.", "Where?", ("x", "in geneva")), k=5)
    assert (second.answered, second.rank, second.section_correct) == (False, 3, True)
    assert judge(gold, reply(True, "Nothing here.", "Where?", ("x", "in geneva")), k=2).rank is None


def test_section_is_compared_normalised_and_only_when_found() -> None:
    gold = item("t1", section="Key Milestones in IOM’s History")
    assert judge(gold, reply(True, "x", "key milestones in  IOM's history"), 5).section_correct
    assert not judge(gold, reply(True, "x", "Key Milestones"), 5).section_correct
    assert not judge(gold, reply(False, alternatives=("x",)), 5).section_correct


def test_unanswerable_is_right_when_declined() -> None:
    gold = item("t2", kind="unanswerable")
    assert judge(gold, reply(False, alternatives=("Geneva",)), 5).correct
    wrong = judge(gold, reply(True, "Geneva", "Where?"), 5)
    assert not wrong.correct and wrong.rank is None


# --------------------------------------------------------------------------- metrics


# A tiny gold set, by hand. k = 3. Held-out: ids divisible by 3 (t3, t6).
#   t1 paraphrase  found, first passage right            -> answered, rank 1, section right
#   t2 paraphrase  found, wrong; 3rd passage right       -> rank 3, section wrong
#   t3 keyword     declined; 1st suggestion right        -> rank 1, not answered (held-out)
#   t4 keyword     found, nothing right, section right   -> rank none, section right
#   t5 unanswerable declined                             -> right
#   t6 unanswerable found                                -> wrong (held-out)
TINY = (
    (item("t1"), reply(True, "In Geneva.", "Where?")),
    (item("t2"), reply(True, "No.", "Elsewhere", ("No.", "Geneva!"))),
    (item("t3", kind="keyword"), reply(False, alternatives=("geneva", "no"))),
    (item("t4", kind="keyword"), reply(True, "No.", "where?", ("no", "no"))),
    (item("t5", kind="unanswerable"), reply(False, alternatives=("Geneva",))),
    (item("t6", kind="unanswerable"), reply(True, "No.", "Where?")),
)


def fake_asker(pairs: tuple[tuple[GoldItem, dict[str, Any]], ...]):  # type: ignore[no-untyped-def]
    answers = {gold.question: rep for gold, rep in pairs}

    def ask(question: str) -> Mapping[str, Any]:
        return answers[question]

    return ask


def tiny_report(k: int = 3):  # type: ignore[no-untyped-def]
    return evaluate([gold for gold, _ in TINY], fake_asker(TINY), k)


def test_metrics_by_hand() -> None:
    m = tiny_report().overall
    assert (m.n, m.n_answerable, m.n_unanswerable) == (6, 4, 2)
    assert m.answer_accuracy == pytest.approx(1 / 4)  # t1
    assert m.recall_at_k == pytest.approx(3 / 4)  # t1, t2, t3
    assert m.mrr == pytest.approx((1 + 1 / 3 + 1 + 0) / 4)
    assert m.section_accuracy == pytest.approx(2 / 4)  # t1, t4
    assert m.rejection_accuracy == pytest.approx(1 / 2)  # t5
    assert m.false_answer_rate == pytest.approx(1 / 2)  # t6
    assert m.overall_accuracy == pytest.approx(2 / 6)  # t1, t5


def test_metrics_look_at_k_passages_only() -> None:
    m = tiny_report(k=2).overall
    assert m.recall_at_k == pytest.approx(2 / 4)  # t2's rank 3 no longer counts
    assert m.mrr == pytest.approx((1 + 1) / 4)
    assert m.answer_accuracy == pytest.approx(1 / 4)


def test_metrics_by_kind_and_split() -> None:
    report = tiny_report()
    by_kind = dict(report.by_kind)
    assert list(by_kind) == ["paraphrase", "keyword", "unanswerable"]
    assert by_kind["paraphrase"].answer_accuracy == pytest.approx(1 / 2)
    assert by_kind["paraphrase"].mrr == pytest.approx((1 + 1 / 3) / 2)
    assert by_kind["keyword"].recall_at_k == pytest.approx(1 / 2)
    assert by_kind["keyword"].rejection_accuracy is None  # no unanswerable keyword items
    assert by_kind["unanswerable"].answer_accuracy is None
    assert by_kind["unanswerable"].overall_accuracy == pytest.approx(1 / 2)
    held, tuning = report.held_out, report.tuning
    assert (held.n, held.answer_accuracy, held.recall_at_k, held.rejection_accuracy,
            held.overall_accuracy) == (2, 0.0, 1.0, 0.0, 0.0)
    assert tuning.n == 4
    assert tuning.answer_accuracy == pytest.approx(1 / 3)
    assert tuning.mrr == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert tuning.overall_accuracy == pytest.approx(2 / 4)
    assert [r.item.id for r in report.failures] == ["t2", "t3", "t4", "t6"]


def test_report_json_shape_and_failures_text() -> None:
    report = tiny_report()
    data = report.to_dict()
    for key in ("n", "k", "by_kind", "failures", "held_out", "tuning", *METRIC_KEYS):
        assert key in data
    assert data["answer_accuracy"] == 0.25 and data["k"] == 3
    assert set(METRIC_KEYS) <= set(data["held_out"]) and set(METRIC_KEYS) <= set(data["tuning"])
    assert data["by_kind"]["unanswerable"]["answer_accuracy"] is None
    assert [f["id"] for f in data["failures"]] == ["t2", "t3", "t4", "t6"]
    assert data["failures"][1]["held_out"] is True and data["failures"][1]["rank"] == 1
    text = format_failures(report)
    assert "t2 [paraphrase]" in text and "expected: Geneva" in text
    assert text.index("t4") < text.index("held-out") < text.index("t3")  # held-out last
    assert "—" in format_report(report)  # undefined metrics are shown as a dash


# --------------------------------------------------------------------------- sweep


# Tuning items (t1, t2, t4, t5, t7) answered when score >= t. Overall accuracy on them:
#   t <= 0.1: t1 t2 (2/5) | (0.1, 0.3]: t1 t2 t5 (3/5) | (0.3, 0.4]: t1 t5 (2/5)
#   (0.4, 0.5]: t1 t5 t7 (3/5) | > 0.5: t5 t7 (2/5)
# Best plateaus: (0.1, 0.3] (width 0.2) beats (0.4, 0.5]; its middle is 0.2.
SWEEP = (
    (item("t1"), reply(True, "Geneva", "Where?", score=0.5)),
    (item("t2"), reply(True, "Geneva", "Where?", score=0.3)),
    (item("t3"), reply(True, "Geneva", "Where?", score=0.05)),  # held-out
    (item("t4"), reply(True, "No.", "Where?", ("Geneva",), score=0.2)),
    (item("t5", kind="unanswerable"), reply(True, "x", "Where?", score=0.1)),
    (item("t7", kind="unanswerable"), reply(True, "x", "Where?", score=0.4)),
)


def test_sweep_by_hand() -> None:
    result = sweep([g for g, _ in SWEEP], [r for _, r in SWEEP], k=3, current=0.45)
    points = {round(p.threshold, 4): p for p in result.points}
    assert min(points) == 0.1  # the lowest answered tuning score: below it nothing changes
    assert points[0.1].overall_accuracy == pytest.approx(2 / 5)
    assert points[0.1].answer_accuracy == pytest.approx(2 / 3)
    assert points[0.25].overall_accuracy == pytest.approx(3 / 5)
    assert points[0.35].answer_accuracy == pytest.approx(1 / 3)
    assert max(points) == 0.51  # one step above the top score: everything declined
    assert points[0.51].rejection_accuracy == 1.0 and points[0.51].answer_accuracy == 0.0
    assert result.best.threshold == pytest.approx(0.2)
    assert result.best.overall_accuracy == pytest.approx(3 / 5)
    assert result.best_held_out.answer_accuracy == 0.0  # t3 scores 0.05 < 0.2
    assert result.best_all.overall_accuracy == pytest.approx(3 / 6)
    assert result.current is not None and result.current.overall_accuracy == pytest.approx(3 / 5)
    assert result.to_dict()["best_threshold"] == pytest.approx(0.2)


def test_at_threshold_declines_with_the_same_ranked_list() -> None:
    found = reply(True, "A", "S", ("B", "C"), score=0.3)
    assert at_threshold(found, 0.3) == found
    low = at_threshold(found, 0.31)
    assert (low["found"], low["answer"], low["section"]) == (False, None, None)
    assert [a["answer"] for a in low["alternatives"]] == ["A", "B", "C"]
    # A reply declined for another reason (small talk, too little coverage) stays declined.
    declined = reply(False, alternatives=("A", "B"), score=0.4)
    assert at_threshold(declined, 0.0)["found"] is False
    assert at_threshold(declined, 0.0)["alternatives"] == declined["alternatives"]


# --------------------------------------------------------------------------- gold files


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps({"id": "q001", "question": "Where?", "answers": ["Geneva"],
                   "section": "S", "kind": "direct", "unanswerable": False})
GOOD_U = json.dumps({"id": "q002", "question": "asdf", "answers": [], "section": None,
                     "kind": "unanswerable", "unanswerable": True})


def variant(**changes: Any) -> str:
    obj = json.loads(GOOD)
    obj.update(changes)
    return json.dumps({k: v for k, v in obj.items() if v is not ...})


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('{"id": "q9", "question": ', "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (variant(section=...), "missing key(s) section"),
        (variant(answer="typo"), "unknown key(s) answer"),
        (variant(kind="trivia"), "kind must be one of"),
        (variant(unanswerable=True), "unanswerable must be true exactly when"),
        (variant(answers=[]), "at least one answer"),
        (variant(answers="Geneva"), "answers must be a list"),
        (variant(section=None), "section must be a non-empty string"),
        (variant(question="  "), "question must be a non-empty string"),
        (variant(id=7), "id must be a non-empty string"),
        (variant(kind="unanswerable", unanswerable=True), "needs answers [] and section null"),
        (variant(id="q002"), "duplicate id 'q002' (first on line 2)"),
    ],
)
def test_load_gold_names_the_bad_line(tmp_path: Path, bad: str, message: str) -> None:
    path = write(tmp_path, GOOD, GOOD_U, "", bad)  # the blank line 3 still counts
    with pytest.raises(GoldSetError) as info:
        load_gold(path)
    assert isinstance(info.value, QABotError)
    assert f"{path}:4: " in str(info.value) and message in str(info.value)


FOLLOWUP = json.dumps({"id": "f001", "context": ["Where is the IOM?"],
                       "question": "When was it founded?", "answers": ["1951"],
                       "section": "S", "kind": "followup", "unanswerable": False,
                       "standalone": "When was the IOM founded?"})


def followup(**changes: Any) -> str:
    obj = json.loads(FOLLOWUP)
    obj.update(changes)
    return json.dumps({k: v for k, v in obj.items() if v is not ...})


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (followup(context=...), "a followup item needs context"),
        (followup(context=[]), "a followup item needs context"),
        (followup(context="Where is the IOM?"), "a followup item needs context"),
        (followup(context=[" "]), "a followup item needs context"),
        (followup(context=["Where?"] * 6), "a followup item needs context, a list of 1 to 5"),
        (followup(standalone=""), "standalone must be a non-empty string"),
        (followup(unanswerable=True), "an unanswerable item needs answers [] and section null"),
        (variant(context=["Where?"]), "unknown key(s) context (context and standalone are for"),
    ],
)
def test_load_gold_checks_followup_items(tmp_path: Path, bad: str, message: str) -> None:
    with pytest.raises(GoldSetError) as info:
        load_gold(write(tmp_path, GOOD, bad))
    assert f":2: {message}" in str(info.value)


def test_followup_items_load_and_are_asked_with_their_context(tmp_path: Path) -> None:
    unanswerable = followup(id="f002", answers=[], section=None, unanswerable=True,
                            standalone=...)
    items = load_gold(write(tmp_path, GOOD, FOLLOWUP, unanswerable))
    assert [(i.kind, i.unanswerable, i.context, i.standalone) for i in items] == [
        ("direct", False, (), None),
        ("followup", False, ("Where is the IOM?",), "When was the IOM founded?"),
        ("followup", True, ("Where is the IOM?",), None)]
    calls = []

    def ask(question: str, *context: Any) -> Mapping[str, Any]:
        calls.append((question, *context))
        return {"found": True, "answer": "In 1951.", "section": "S", "alternatives": [],
                "score": 0.5, "resolved_question": "When was IOM founded?"}

    report = evaluate(items, ask, 5)
    # only a follow-up gets a second argument, so a question -> reply asker still serves
    assert calls == [("Where?",), ("When was it founded?", ("Where is the IOM?",)),
                     ("When was it founded?", ("Where is the IOM?",))]
    assert [k for k, _ in report.by_kind] == ["direct", "followup"]
    assert [r.correct for r in report.results] == [False, True, False]
    failures = format_failures(report)
    assert "after:    Where is the IOM?\n  asked as: When was IOM founded?" in failures
    listed = report.to_dict()["failures"]
    assert "context" not in listed[0]
    assert listed[1]["context"] == ["Where is the IOM?"]
    assert listed[1]["resolved_question"] == "When was IOM founded?"


def test_load_gold_good_missing_and_empty(tmp_path: Path) -> None:
    items = load_gold(write(tmp_path, GOOD, "", GOOD_U))
    assert [(i.id, i.line, i.answers, i.section) for i in items] == [
        ("q001", 1, ("Geneva",), "S"), ("q002", 3, (), None)]
    with pytest.raises(GoldSetError, match="no such file"):
        load_gold(tmp_path / "nope.jsonl")
    with pytest.raises(GoldSetError, match="no questions"):
        load_gold(write(tmp_path, "", "  "))


@pytest.mark.parametrize(
    ("id_", "held"),
    [("q003", True), ("q108", True), ("q001", False), ("q110", False), ("q000", True),
     ("x12", True), ("q1-2", True), ("abc", False)],
)
def test_is_held_out(id_: str, held: bool) -> None:
    assert is_held_out(item(id_)) is held


def test_shipped_gold_set_integrity() -> None:
    items = load_gold(GOLD)  # also checks schema, kinds and unique ids
    corpus = normalize_answer((CORPUS / "iom.txt").read_text(encoding="utf-8"))
    headings = {normalize_answer(re.sub(r"^\+\s*|\s*>$", "", line.strip()))
                for line in (CORPUS / "iom.txt").read_text(encoding="utf-8").splitlines()}
    assert len(items) >= 80
    assert len({i.id for i in items}) == len(items)
    assert sum(i.unanswerable for i in items) >= 15
    assert {i.kind for i in items} == set(KINDS)
    for i in items:
        if i.unanswerable:
            assert i.answers == () and i.section is None, i.id
        else:
            assert i.section, i.id
            assert normalize_answer(i.section) in headings, (i.id, i.section)
            for answer in i.answers:
                assert normalize_answer(answer) in corpus, (i.id, answer)
    held = [i for i in items if i.held_out]
    assert len(held) == 36 and all(int(i.id[1:]) % 3 == 0 for i in held)
    assert {i.kind for i in held} == {i.kind for i in items if not i.held_out} == set(KINDS)


# --------------------------------------------------------------------------- CLI


def run(*args: str) -> Any:
    result = CliRunner().invoke(main, ["eval", *args], catch_exceptions=False)
    return result


@pytest.fixture(scope="module")
def followups_measured() -> dict[str, Any]:
    """One in-process ``--json`` run of the shipped corpus's follow-up set."""
    result = run(str(FOLLOWUPS), "--corpus", str(CORPUS), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cli_reads_a_followup_set_and_asks_with_context(
        followups_measured: dict[str, Any]) -> None:
    items = load_gold(FOLLOWUPS)
    assert followups_measured["n"] == len(items) == 20
    assert set(followups_measured["by_kind"]) == {"followup"}
    bot = QABot.from_path(CORPUS)
    wrong = {f["id"] for f in followups_measured["failures"]}
    for it in items:
        reply = bot.ask(it.question, top_k=5, context=it.context).to_dict()
        assert judge(it, reply, 5).correct is (it.id not in wrong), it.id
    for failure in followups_measured["failures"]:
        assert failure["context"] and "resolved_question" in failure


@pytest.fixture(scope="module")
def measured() -> dict[str, Any]:
    """One in-process ``--json`` run of the shipped gold set, reused by the CLI tests."""
    result = run(str(GOLD), "--corpus", str(CORPUS), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cli_table_and_failures(measured: dict[str, Any]) -> None:
    accuracy = measured["overall_accuracy"]  # does not depend on k either
    result = run(str(GOLD), "--corpus", str(CORPUS), "--top-k", "3", "--show-failures",
                 "--min-accuracy", str(accuracy - 0.001))
    assert result.exit_code == 0, result.output
    assert "meets --min-accuracy" in result.stderr
    out = result.stdout
    for label in ("overall", *KINDS, "tuning", "held-out", "recall@3", "MRR@3", "false-ans"):
        assert label in out
    assert re.search(r"^overall\s+110\s+90\s+20\s", out, flags=re.MULTILINE)
    assert re.search(r"^held-out\s+36\s", out, flags=re.MULTILINE)
    # Correctness does not depend on k, so the failures are those of the k = 5 run.
    assert f"Failures: {len(measured['failures'])} of 110" in out
    for failure in measured["failures"]:
        assert f"{failure['id']} [{failure['kind']}] {failure['question']}" in out
    assert "expected:" in out and "got:      found=" in out


def test_cli_json(measured: dict[str, Any]) -> None:
    for key in ("n", "k", "by_kind", "failures", "held_out", "tuning", *METRIC_KEYS):
        assert key in measured
    assert (measured["n"], measured["k"]) == (110, 5)
    assert set(measured["by_kind"]) == set(KINDS)
    assert measured["held_out"]["n"] == 36 and measured["tuning"]["n"] == 74
    assert 0 <= measured["overall_accuracy"] <= 1
    assert measured["false_answer_rate"] == pytest.approx(1 - measured["rejection_accuracy"])
    wrong = round((1 - measured["overall_accuracy"]) * 110)
    assert len(measured["failures"]) == wrong


def test_cli_min_accuracy_fails_below(measured: dict[str, Any]) -> None:
    accuracy = measured["overall_accuracy"]
    # (The passing direction is checked in test_cli_table_and_failures.)
    bad = run(str(GOLD), "--corpus", str(CORPUS), "--min-accuracy", str(accuracy + 0.001))
    assert bad.exit_code == 1
    assert "below --min-accuracy" in bad.stderr
    assert "overall" in bad.stdout  # the table is still printed
    out_of_range = run(str(GOLD), "--corpus", str(CORPUS), "--min-accuracy", "60")
    assert out_of_range.exit_code == 2


def test_cli_malformed_file_is_one_line_exit_1(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD, '{"id": "q2", oops}')
    result = run(str(path), "--corpus", str(CORPUS))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("qabot: error: ") and f"{path}:2:" in result.stderr


def test_items_not_in_lists_answerable_items_whose_answers_are_nowhere() -> None:
    items = [item("q1", ("Geneva",)), item("q2", ("Lisbon", "Porto")),
             item("q4", ("GENEVA,  Switzerland",)), item("q5", kind="unanswerable")]
    texts = ["The headquarters is in Geneva, Switzerland.", "Nothing else."]
    assert [it.id for it in items_not_in(items, texts)] == ["q2"]


def test_cli_warns_when_the_gold_set_is_about_another_document(tmp_path: Path) -> None:
    other = tmp_path / "other.txt"
    other.write_text("Kettles\n\nA kettle boils water in two minutes.\n", "utf-8")
    result = run(str(GOLD), "--corpus", str(other))
    assert result.exit_code == 0
    assert ("qabot: warning: 90 of 90 answerable items have no expected answer in any passage"
            in result.stderr)
    assert "--corpus" in result.stderr


def test_cli_reads_answers_in_passages_not_markup(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<h1>Health</h1><p>The Office d'Hygi&egrave;ne was in Paris.</p>", "utf-8")
    gold = write(tmp_path, json.dumps({
        "id": "x1", "question": "Which office was in Paris?", "answers": ["d'Hygiène"],
        "section": "Health", "kind": "direct", "unanswerable": False}))
    result = run(str(gold), "--corpus", str(page))
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr


def test_cli_notes_items_no_passage_can_answer(measured: dict[str, Any]) -> None:
    # q036 asks about the page's "comment section" line, which is dropped as boilerplate.
    result = run(str(GOLD), "--corpus", str(CORPUS), "--json")
    assert "warning" not in result.stderr
    assert "qabot: note: no passage holds an expected answer of q036 " in result.stderr


def test_cli_option_conflicts(tmp_path: Path) -> None:
    assert run(str(GOLD), "--corpus", str(CORPUS), "--url", "http://x").exit_code == 2
    assert run(str(GOLD), "--url", "http://x", "--threshold", "0.1").exit_code == 2
    assert run(str(GOLD), "--sweep", "--min-accuracy", "0.5").exit_code == 2


def test_cli_threshold_override() -> None:
    result = run(str(GOLD), "--corpus", str(CORPUS), "--json", "--threshold", "5")
    data = json.loads(result.stdout)
    assert data["answer_accuracy"] == 0 and data["rejection_accuracy"] == 1
    assert data["recall_at_k"] > 0  # declined replies still rank their suggestions


@pytest.fixture(scope="module")
def local_sweep() -> dict[str, Any]:
    """One in-process ``--sweep --json`` run of the shipped gold set."""
    result = run(str(GOLD), "--corpus", str(CORPUS), "--sweep", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cli_sweep_json(local_sweep: dict[str, Any], measured: dict[str, Any]) -> None:
    data = local_sweep
    assert set(data) >= {"k", "points", "best_threshold", "best", "current"}
    assert set(data["best"]) == {"tuning", "held_out", "all"}
    # At the bot's own threshold, the sweep (asked at 0) reproduces the real tuning numbers.
    assert data["current"]["overall_accuracy"] == measured["tuning"]["overall_accuracy"]
    assert data["current"]["answer_accuracy"] == measured["tuning"]["answer_accuracy"]
    assert data["current"]["rejection_accuracy"] == measured["tuning"]["rejection_accuracy"]
    best = data["best"]["tuning"]["overall_accuracy"]
    assert all(p["overall_accuracy"] <= best for p in data["points"])


def test_cli_sweep_table_and_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "sweep.png"
    result = run(str(GOLD), "--corpus", str(CORPUS), "--plot", str(png))  # implies --sweep
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "TUNING part" in out and "Best threshold (overall accuracy on tuning):" in out
    assert re.search(r"^\s+0\.\d{4}\s", out, flags=re.MULTILINE)  # a row of the grid
    assert "<- best" in out and "held-out: answer@1" in out and "Current threshold" in out
    assert f"wrote {png}" in result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_plot_without_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes the import fail
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    result = run(str(GOLD), "--corpus", str(CORPUS), "--sweep", "--plot",
                 str(tmp_path / "x.png"))
    assert result.exit_code == 1
    assert "--plot needs matplotlib" in result.stderr and result.stderr.count("\n") == 1


# --------------------------------------------------------------------------- --url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_url_unreachable_is_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RemoteError, match="cannot reach"):
        http_asker(url, 5)("Where?")
    result = run(str(GOLD), "--url", url)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "cannot reach" in result.stderr
    assert run(str(GOLD), "--url", "file:///etc/passwd").exit_code == 1


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, QABot]]:
    """The real app on a free port, in a daemon thread."""
    from werkzeug.serving import make_server

    from qabot.server import create_app

    bot = QABot.from_path(CORPUS)
    httpd = make_server("127.0.0.1", 0, create_app(bot=bot), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", bot
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_url_gives_the_same_numbers(server: tuple[str, QABot],
                                    measured: dict[str, Any]) -> None:
    url, _ = server
    result = run(str(GOLD), "--url", url + "/", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == measured  # every number and every failure


def test_url_sweep_matches_in_process(server: tuple[str, QABot],
                                      local_sweep: dict[str, Any]) -> None:
    url, _ = server
    remote = run(str(GOLD), "--url", url, "--sweep", "--json")
    assert remote.exit_code == 0, remote.output
    data = json.loads(remote.stdout)
    assert data["current"] is None  # a server's threshold is not known to the client
    # Over --url the sweep starts at the lowest score the server answered; from there on
    # (where it is exact) every point equals the in-process sweep's.
    low = data["points"][0]["threshold"]
    local = {p["threshold"]: p for p in local_sweep["points"] if p["threshold"] >= low}
    both = [p for p in data["points"] if p["threshold"] in local]
    assert len(both) >= 10
    assert all(p == local[p["threshold"]] for p in both)


def test_url_server_error_is_reported(server: tuple[str, QABot]) -> None:
    url, _ = server
    with pytest.raises(RemoteError, match=r"HTTP 400: .*top_k"):
        http_asker(url, 0)("Where?")
    with pytest.raises(RemoteError, match=r"^t1 \(line 0\): .*HTTP 400"):
        evaluate([item("t1")], http_asker(url, 0), 5)  # the error names the item


def test_url_sends_a_followups_context(server: tuple[str, QABot],
                                       followups_measured: dict[str, Any]) -> None:
    url, _ = server
    result = run(str(FOLLOWUPS), "--url", url, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == followups_measured  # every number and every failure
