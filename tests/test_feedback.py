"""Readers' feedback (qabot/feedback.py): the vote rules, the locked append under threads
and processes, the size cap, reading the log back, the export rules, and ``qabot eval`` on
an exported gold set."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from qabot import QABot
from qabot.documents import corpus_hash, load_corpus
from qabot.evaluate import bot_asker, evaluate, load_gold, normalize_answer
from qabot.feedback import (
    FEEDBACK_KIND,
    MAX_PASSAGE_ID_LENGTH,
    FeedbackError,
    FeedbackFull,
    FeedbackLog,
    PassageInfo,
    Vote,
    export_gold,
    parse_feedback,
    read_feedback,
)
from qabot.limits import MAX_QUESTION_LENGTH
from qabot.passages import split_documents

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
HASH = "a" * 64
OTHER_HASH = "b" * 64
IDS = frozenset({"doc.txt:0-10", "doc.txt:10-20", "doc.txt:20-30", "a:b.txt:0-5"})


def _vote(question: str = "Where?", passage_id: str = "doc.txt:0-10", vote: str = "up",
          chosen: str | None = None, *, time: str = "2026-01-01T00:00:00.000Z",
          corpus: str = HASH) -> Vote:
    return Vote(time, corpus, question, passage_id, vote, chosen)


# --------------------------------------------------------------------------- the rules


GOOD = {"question": "Where is it?", "passage_id": "doc.txt:0-10", "vote": "up"}


@pytest.mark.parametrize(("body", "code", "needle"), [
    ({**GOOD, "votes": "up"}, "unknown_field", 'unknown field "votes"'),
    ({**GOOD, "time": "x", "corpus_hash": HASH}, "unknown_field", "unknown fields"),
    ({k: v for k, v in GOOD.items() if k != "question"}, "invalid_question", "got nothing"),
    ({**GOOD, "question": ""}, "invalid_question", 'got string ""'),
    ({**GOOD, "question": " \n\t"}, "invalid_question", "non-blank"),
    ({**GOOD, "question": 42}, "invalid_question", "got number"),
    ({**GOOD, "question": None}, "invalid_question", "got null"),
    ({**GOOD, "question": "x" * (MAX_QUESTION_LENGTH + 1)}, "invalid_question", "1 to 1000"),
    ({k: v for k, v in GOOD.items() if k != "vote"}, "invalid_vote", "got nothing"),
    ({**GOOD, "vote": "meh"}, "invalid_vote", 'got string "meh"'),
    ({**GOOD, "vote": "UP"}, "invalid_vote", '"up" or "down"'),
    ({**GOOD, "vote": True}, "invalid_vote", "got boolean true"),
    ({**GOOD, "vote": 1}, "invalid_vote", "got number"),
    ({k: v for k, v in GOOD.items() if k != "passage_id"}, "invalid_passage_id", "got nothing"),
    ({**GOOD, "passage_id": None}, "invalid_passage_id", "got null"),
    ({**GOOD, "passage_id": ""}, "invalid_passage_id", 'got string ""'),
    ({**GOOD, "passage_id": ["doc.txt:0-10"]}, "invalid_passage_id", "got array"),
    ({**GOOD, "passage_id": "x" * (MAX_PASSAGE_ID_LENGTH + 1)}, "invalid_passage_id",
     f"at most {MAX_PASSAGE_ID_LENGTH}"),
    ({**GOOD, "passage_id": "doc.txt:0-11"}, "unknown_passage", 'passage_id "doc.txt:0-11"'),
    ({**GOOD, "passage_id": "../etc/passwd:0-1"}, "unknown_passage", "no passage"),
    ({**GOOD, "vote": "down", "chosen_passage_id": 7}, "invalid_chosen_passage_id",
     "null or a passage id"),
    ({**GOOD, "vote": "down", "chosen_passage_id": ""}, "invalid_chosen_passage_id",
     'got string ""'),
    ({**GOOD, "vote": "down", "chosen_passage_id": "doc.txt:99-100"}, "unknown_passage",
     "chosen_passage_id"),
    ({**GOOD, "vote": "down", "chosen_passage_id": "doc.txt:0-10"},
     "invalid_chosen_passage_id", "another passage"),
    ({**GOOD, "chosen_passage_id": "doc.txt:10-20"}, "invalid_vote", 'goes with vote "down"'),
])
def test_a_bad_body_is_refused_naming_the_field(body: dict[str, Any], code: str,
                                                 needle: str) -> None:
    with pytest.raises(FeedbackError, match=".") as refused:
        parse_feedback(body, IDS, corpus_hash=HASH)
    assert refused.value.code == code
    assert refused.value.status == (422 if code == "unknown_passage" else 400)
    assert needle in str(refused.value)


@pytest.mark.parametrize(("body", "expected"), [
    (GOOD, ("Where is it?", "doc.txt:0-10", "up", None)),
    ({**GOOD, "vote": "down"}, ("Where is it?", "doc.txt:0-10", "down", None)),
    ({**GOOD, "vote": "down", "chosen_passage_id": None},
     ("Where is it?", "doc.txt:0-10", "down", None)),
    ({**GOOD, "vote": "down", "chosen_passage_id": "a:b.txt:0-5"},
     ("Where is it?", "doc.txt:0-10", "down", "a:b.txt:0-5")),
    ({**GOOD, "question": "  Where is it?\n"}, ("Where is it?", "doc.txt:0-10", "up", None)),
    ({**GOOD, "question": "x" * MAX_QUESTION_LENGTH},
     ("x" * MAX_QUESTION_LENGTH, "doc.txt:0-10", "up", None)),
])
def test_a_good_body_becomes_a_vote_with_the_servers_time_and_hash(
        body: dict[str, Any], expected: tuple[Any, ...]) -> None:
    vote = parse_feedback(body, IDS, corpus_hash=HASH, time="2026-01-01T00:00:00.000Z")
    assert (vote.question, vote.passage_id, vote.vote, vote.chosen_passage_id) == expected
    assert (vote.corpus_hash, vote.time) == (HASH, "2026-01-01T00:00:00.000Z")


def test_the_time_is_utc_iso_8601() -> None:
    vote = parse_feedback(GOOD, IDS, corpus_hash=HASH)
    assert len(vote.time) == len("2026-01-01T00:00:00.000Z") and vote.time.endswith("Z")


@pytest.mark.parametrize("question", ["line\nbreak", "sep\u2028arator", "é ünï 中文 😀",
                                      'quote " and \\ backslash'])
def test_a_vote_is_one_ascii_line_that_reads_back_the_same(question: str) -> None:
    vote = _vote(question)
    line = vote.to_line()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert line.decode("ascii")
    assert json.loads(line) == vote.to_dict()


# --------------------------------------------------------------------------- the log


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("ascii").splitlines()]


def test_append_writes_one_line_per_vote(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "votes.jsonl")
    votes = [_vote("first"), _vote("second", vote="down", chosen="doc.txt:10-20")]
    for vote in votes:
        log.append(vote)
    assert _lines(log.path) == [v.to_dict() for v in votes]
    assert read_feedback(log.path) == (tuple(votes), ())


def test_many_threads_append_whole_lines(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "votes.jsonl")
    long = "q" * 900  # lines of ~1 KB, so interleaving would show

    def write(worker: int) -> None:
        for n in range(50):
            log.append(_vote(f"{worker}-{n} {long}"))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    questions = [line["question"] for line in _lines(log.path)]
    assert sorted(questions) == sorted(f"{w}-{n} {long}" for w in range(8) for n in range(50))


WRITER = """
import sys
from qabot.feedback import FeedbackLog, Vote
log = FeedbackLog(sys.argv[1], int(sys.argv[3]))
written = refused = 0
for n in range(int(sys.argv[4])):
    try:
        log.append(Vote("2026-01-01T00:00:00.000Z", "a" * 64, f"{sys.argv[2]}-{n} " + "q" * 5000,
                        "doc.txt:0-10", "up", None))
        written += 1
    except Exception as exc:
        refused += 1
print(written, refused)
"""


def _run_writers(path: Path, processes: int, votes: int, max_bytes: int) -> list[tuple[int, int]]:
    """``processes`` separate Python processes appending ``votes`` each at once."""
    running = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(p),
                                 str(max_bytes), str(votes)], stdout=subprocess.PIPE, text=True)
               for p in range(processes)]
    counts = []
    for process in running:
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0
        written, refused = out.split()
        counts.append((int(written), int(refused)))
    return counts


def test_several_processes_append_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "votes.jsonl"
    counts = _run_writers(path, processes=4, votes=100, max_bytes=10**9)
    assert counts == [(100, 0)] * 4
    questions = [line["question"] for line in _lines(path)]  # every line parses
    assert sorted(questions) == sorted(f"{p}-{n} " + "q" * 5000
                                       for p in range(4) for n in range(100))


def test_the_cap_holds_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "votes.jsonl"
    line = len(_vote("0-0 " + "q" * 5000).to_line())
    cap = 30 * line + line // 2  # room for exactly 30 of the (about equal) lines
    counts = _run_writers(path, processes=4, votes=20, max_bytes=cap)
    assert sum(w for w, _ in counts) == len(_lines(path))
    assert path.stat().st_size <= cap
    assert 29 <= len(_lines(path)) <= 30


def test_a_full_log_refuses_writes_logs_once_and_recovers_when_moved(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "votes.jsonl"
    size = len(_vote().to_line())
    log = FeedbackLog(path, max_bytes=2 * size)
    log.append(_vote())
    log.append(_vote())
    with caplog.at_level(logging.ERROR, logger="qabot.feedback"):
        for _ in range(3):
            with pytest.raises(FeedbackFull, match="full"):
                log.append(_vote())
    assert path.stat().st_size == 2 * size  # nothing written, nothing cut
    full = [r for r in caplog.records if r.name == "qabot.feedback"]
    assert len(full) == 1
    assert f"feedback log {path} is full" in full[0].getMessage()
    path.rename(tmp_path / "votes.1.jsonl")  # rotated by hand: the next vote starts a file
    log.append(_vote())
    assert len(_lines(path)) == 1 and not log.full_reported


def test_an_unwritable_log_path_fails_at_check(tmp_path: Path) -> None:
    with pytest.raises(FeedbackError, match="cannot append feedback"):
        FeedbackLog(tmp_path / "no" / "such" / "dir" / "votes.jsonl").check()
    with pytest.raises(FeedbackError, match="cannot append feedback"):
        FeedbackLog(tmp_path).check()  # a directory


def test_read_feedback_leaves_out_bad_lines_naming_them(tmp_path: Path) -> None:
    path = tmp_path / "votes.jsonl"
    good = _vote()
    bad_lines = [
        "not json",
        "[1, 2]",
        json.dumps({**good.to_dict(), "extra": 1}),
        json.dumps({**good.to_dict(), "vote": "sideways"}),
        json.dumps({**good.to_dict(), "corpus_hash": "short"}),
    ]
    path.write_text("\n".join([good.to_line().decode().strip(), *bad_lines, "",
                               good.to_line().decode()]), "utf-8")
    votes, problems = read_feedback(path)
    assert votes == (good, good)
    assert [p.split(":")[0] for p in problems] == [f"line {n}" for n in range(2, 7)]
    with pytest.raises(FeedbackError, match="no such file"):
        read_feedback(tmp_path / "missing.jsonl")


# --------------------------------------------------------------------------- export


PASSAGES = {pid: PassageInfo(f"text of {pid}", f"section of {pid}") for pid in IDS}
A, B, C = "doc.txt:0-10", "doc.txt:10-20", "doc.txt:20-30"


def _t(n: int) -> str:
    return f"2026-01-01T00:00:{n:02d}.000Z"


@pytest.mark.parametrize(("votes", "answer", "review"), [
    # one thumbs-up: the shown passage is the answer
    ([("up", A, None)], A, False),
    # thumbs-down choosing another passage: that passage
    ([("down", A, B)], B, False),
    # a thumbs-down alone: a candidate unanswerable item, for review
    ([("down", A, None)], None, True),
    ([("down", A, None), ("down", B, None)], None, True),
    # confirmations agree
    ([("up", A, None), ("up", A, None)], A, False),
    # one reader says A is wrong without naming another, another confirms B: B, no conflict
    ([("down", A, None), ("up", B, None)], B, False),
    # A named twice, B once: A wins by majority; disagreement marked
    ([("up", A, None), ("down", A, B), ("up", A, None)], A, True),
    # a tie goes to the passage named last
    ([("up", A, None), ("down", A, B)], B, True),
    ([("down", A, B), ("up", A, None)], A, True),
    # a reader said the winner does not answer: marked
    ([("up", A, None), ("down", A, None)], A, True),
    ([("down", A, C), ("down", C, None), ("down", B, C)], C, True),
])
def test_export_merges_the_votes_on_a_question(votes: list[tuple[str, str, str | None]],
                                               answer: str | None, review: bool) -> None:
    recorded = [_vote("Where is it?", shown, value, chosen, time=_t(n))
                for n, (value, shown, chosen) in enumerate(votes)]
    result = export_gold(recorded, PASSAGES, HASH)
    assert result.votes_used == len(votes)
    (item,) = result.items
    assert item["review"] is review
    if answer is None:
        assert item == {"id": "f001", "question": "Where is it?", "answers": [],
                        "section": None, "kind": "unanswerable", "unanswerable": True,
                        "review": True}
    else:
        assert item == {"id": "f001", "question": "Where is it?",
                        "answers": [PASSAGES[answer].text], "section": PASSAGES[answer].section,
                        "kind": FEEDBACK_KIND, "unanswerable": False, "review": review}


def test_export_groups_questions_by_normalised_text_in_order_of_first_vote() -> None:
    votes = [_vote("Where is it?", A, time=_t(1)), _vote("Who?", B, time=_t(2)),
             _vote("where  IS it?", A, time=_t(3))]
    items = export_gold(votes, PASSAGES, HASH).items
    assert [(i["id"], i["question"]) for i in items] == [("f001", "where  IS it?"),
                                                          ("f002", "Who?")]


def test_export_skips_other_corpora_and_vanished_passages_counting_them() -> None:
    votes = [_vote("Where is it?", A), _vote("Other corpus?", A, corpus=OTHER_HASH),
             _vote("Gone?", "doc.txt:90-99"), _vote("Gone too?", A, "down", "doc.txt:90-99")]
    result = export_gold(votes, PASSAGES, HASH)
    assert [i["question"] for i in result.items] == ["Where is it?"]
    assert (result.votes_used, result.other_corpus, result.unknown_passage) == (1, 1, 2)


def test_exported_lines_load_as_a_gold_set(tmp_path: Path) -> None:
    votes = [_vote("Where is it?", A), _vote("Huh?", B, "down"), _vote("Who?", A, "down", C)]
    gold = tmp_path / "gold.jsonl"
    gold.write_text(export_gold(votes, PASSAGES, HASH).lines(), "utf-8")
    items = load_gold(gold)
    assert [(i.id, i.kind, i.unanswerable, i.review) for i in items] == [
        ("f001", "feedback", False, False), ("f002", "unanswerable", True, True),
        ("f003", "feedback", False, False)]
    assert items[2].answers == (PASSAGES[C].text,)


@pytest.mark.parametrize("corpus", [CORPUS, *sorted((REPO / "benchmarks" / "corpora").iterdir())],
                         ids=lambda p: p.name)
def test_a_passages_text_is_always_within_what_the_bot_shows_of_it(corpus: Path) -> None:
    """What the export's answer rule rests on: a reply showing passage P (alone, or as the
    list it is an item of) contains P's whole text, so the exported item counts it right."""
    for p in split_documents(load_corpus(corpus)):
        assert normalize_answer(p.text) in normalize_answer(p.shown), p


# --------------------------------------------------------------------------- evaluation


def test_eval_on_an_exported_set_counts_what_the_readers_said(tmp_path: Path,
                                                               bot: QABot) -> None:
    """Votes on real replies of the shipped corpus: a confirmed answer is answered, an answer
    voted down for its runner-up is wrong with the right passage at rank 2, and a thumbs-down
    alone is an unanswerable candidate the bot (which answered it) gets wrong."""
    digest = corpus_hash(bot.documents)
    ids = frozenset(bot.passage_ids)
    confirmed = bot.ask("Who funds the IOM?")
    corrected = bot.ask("Where is the IOM headquarters?")
    doubted = bot.ask("When was IOM founded?")
    assert confirmed.found and corrected.found and doubted.found
    bodies = [
        {"question": confirmed.question, "passage_id": confirmed.passage_id, "vote": "up"},
        {"question": corrected.question, "passage_id": corrected.passage_id, "vote": "down",
         "chosen_passage_id": corrected.alternatives[0].passage_id},
        {"question": doubted.question, "passage_id": doubted.passage_id, "vote": "down"},
    ]
    votes = [parse_feedback(b, ids, corpus_hash=digest) for b in bodies]
    passages = {pid: PassageInfo(p.text, p.section)
                for pid, p in zip(bot.passage_ids, bot.passages, strict=True)}
    gold = tmp_path / "gold.jsonl"
    gold.write_text(export_gold(votes, passages, digest).lines(), "utf-8")
    items = load_gold(gold)
    report = evaluate(items, bot_asker(bot, 5), 5)
    results = {r.item.question: r for r in report.results}
    assert results[confirmed.question].correct and results[confirmed.question].rank == 1
    assert not results[corrected.question].correct and results[corrected.question].rank == 2
    assert not results[doubted.question].correct and results[doubted.question].item.review
    assert report.overall.answer_accuracy == 0.5
