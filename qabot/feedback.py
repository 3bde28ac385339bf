"""Readers' feedback on answers: check a vote, append it to a JSON-lines log that many
threads and server processes share, read the log back, and turn it into a gold set that
``qabot eval`` reads.

The log
-------
One vote is one line of JSON (:meth:`Vote.to_dict`)::

    {"time": "2026-11-30T08:00:00.123Z", "corpus_hash": "<sha256>", "question": "...",
     "passage_id": "iom.txt:15824-16214", "vote": "down", "chosen_passage_id": "iom.txt:753-786"}

``time`` and ``corpus_hash`` are the server's (never the client's). A line is written by one
``os.write`` on a descriptor opened with ``O_APPEND`` while holding ``fcntl.flock`` on the
file (:meth:`FeedbackLog.append`): the size check and the write happen under the lock, so
lines from threads and from the pre-forked worker processes of ``qabot serve --workers N``
never interleave and the cap is never overshot. The file is opened for each vote, so it can
be moved away (rotated) while the server runs. A write that would take the file past
``max_bytes`` is refused (:class:`FeedbackFull`), and the first refusal is logged.

Export rules (:func:`export_gold`)
----------------------------------
Votes are grouped by question (compared after :func:`~qabot.evaluate.gold.normalize_answer`,
so case and spacing do not split them). Each vote is a *claim*:

* 👍 on passage P: "P answers it";
* 👎 with a chosen alternative C: "C answers it" (and "P does not");
* 👎 without one: "P does not answer it", nothing about what does.

A question with any "X answers it" claim becomes an **answerable** item (kind ``feedback``)
whose answer is the **whole text** of the passage with the most such claims (a tie goes to
the one claimed last): the passage the readers named, verbatim, so ``qabot eval`` counts it
answered exactly when the bot answers with that passage (or with the list it is an item
of); a sentence of it would also pass other passages that repeat the sentence. A question
with only "P does not answer it" claims becomes a **candidate unanswerable** item: the
document may not cover it, or the right passage was not offered, which only a person can
tell. Items are marked ``"review": true`` when that is so, and when the votes disagree
(another passage was also named, or a reader said the chosen passage does not answer).
``qabot eval`` skips items marked for review unless ``--include-review`` is given.

Votes recorded against another corpus (another ``corpus_hash``) are skipped with a count,
as are votes naming a passage the corpus no longer has (the splitter changed).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import QABotError
from .limits import MAX_QUESTION_LENGTH

try:  # POSIX; on Windows qabot serve runs one worker process, so a thread lock is enough.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FEEDBACK_ENV",
    "FEEDBACK_FIELDS",
    "FEEDBACK_KIND",
    "MAX_PASSAGE_ID_LENGTH",
    "VOTES",
    "Export",
    "FeedbackError",
    "FeedbackFull",
    "FeedbackLog",
    "Vote",
    "export_gold",
    "parse_feedback",
    "read_feedback",
]

FEEDBACK_ENV = "QABOT_FEEDBACK"
VOTES = ("up", "down")
#: The fields of a ``POST /api/feedback`` body; ``question``, ``passage_id`` and ``vote``
#: are required.
FEEDBACK_FIELDS = ("question", "passage_id", "vote", "chosen_passage_id")
#: A passage id is a document's name and a span; a name longer than this is no document's.
MAX_PASSAGE_ID_LENGTH = 1000
#: The log's size cap: a vote line is about 300-1500 bytes, so some 20,000 votes or more.
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
#: The kind of an answerable gold item made from feedback.
FEEDBACK_KIND = "feedback"

_log = logging.getLogger("qabot.feedback")
_HASH = re.compile(r"^[0-9a-f]{64}$")


class FeedbackError(QABotError, ValueError):
    """A feedback body breaks a rule; ``code`` names the rule for the JSON error body and
    ``status`` is its HTTP status: 400, or 422 for a well-formed passage id that is no
    passage of the corpus (which no schema can tell)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class FeedbackFull(QABotError, OSError):
    """The feedback log has reached its size cap; the vote was not written."""


# --------------------------------------------------------------------------- one vote


@dataclass(frozen=True)
class Vote:
    """One reader's verdict on one reply, as one line of the log."""

    time: str
    corpus_hash: str
    question: str
    passage_id: str
    vote: str
    chosen_passage_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "corpus_hash": self.corpus_hash, "question": self.question,
                "passage_id": self.passage_id, "vote": self.vote,
                "chosen_passage_id": self.chosen_passage_id}

    def to_line(self) -> bytes:
        """The log line: compact JSON (``ensure_ascii``, so one line whatever the text)."""
        return (json.dumps(self.to_dict(), ensure_ascii=True, allow_nan=False,
                           separators=(",", ":")) + "\n").encode("ascii")


def now_utc() -> str:
    """The time as the log writes it: ISO 8601, UTC, milliseconds, ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_feedback(payload: Mapping[str, Any], passage_ids: Container[str], *,
                   corpus_hash: str, time: str | None = None) -> Vote:
    """The :class:`Vote` a ``POST /api/feedback`` body asks to record, or
    :class:`FeedbackError` naming the field, the rule and the value received.

    Rules: only the fields of :data:`FEEDBACK_FIELDS`; ``question`` a string of 1 to 1000
    characters, not blank (stripped, as ``/api/chat`` does); ``passage_id`` the id of a
    passage of the loaded corpus (the one shown as the answer); ``vote`` ``"up"`` or
    ``"down"``; ``chosen_passage_id`` absent, null, or, with ``"down"`` only, the id of
    another passage of the corpus (the alternative the reader says was right).
    ``corpus_hash`` and ``time`` are the server's.
    """
    unknown = [name for name in payload if name not in FEEDBACK_FIELDS]
    if unknown:
        names = ", ".join(_quote(name) for name in unknown)
        raise FeedbackError("unknown_field", f"unknown field{'s' if len(unknown) > 1 else ''} "
                            f"{names}: the allowed fields are {', '.join(FEEDBACK_FIELDS)}")
    question = payload.get("question")
    if not isinstance(question, str) or not question.strip() \
            or len(question) > MAX_QUESTION_LENGTH:
        got = "nothing" if "question" not in payload else _describe(question)
        raise FeedbackError("invalid_question", "question must be the question asked, a "
                            f"non-blank string of 1 to {MAX_QUESTION_LENGTH} characters, "
                            f"got {got}")
    vote = payload.get("vote")
    if vote not in VOTES:
        got = "nothing" if "vote" not in payload else _describe(vote)
        raise FeedbackError("invalid_vote", f'vote must be "up" or "down", got {got}')
    passage_id = _passage_id(payload, "passage_id", passage_ids, required=True)
    chosen = _passage_id(payload, "chosen_passage_id", passage_ids, required=False)
    if chosen is not None and vote != "down":
        raise FeedbackError("invalid_vote", 'chosen_passage_id goes with vote "down" (the '
                            'answer was wrong, this passage was right), got vote "up"')
    if chosen == passage_id:
        raise FeedbackError("invalid_chosen_passage_id", "chosen_passage_id must name "
                            "another passage than passage_id (the answer shown)")
    return Vote(time or now_utc(), corpus_hash, question.strip(), passage_id, vote, chosen)


def _passage_id(payload: Mapping[str, Any], name: str, known: Container[str], *,
                required: bool) -> str | None:
    value = payload.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_PASSAGE_ID_LENGTH:
        got = "nothing" if name not in payload else _describe(value)
        what = "a passage id" if required else "null or a passage id"
        raise FeedbackError(f"invalid_{name}", f"{name} must be {what} as replies give it "
                            f"(<document>:<start>-<end>, at most {MAX_PASSAGE_ID_LENGTH} "
                            f"characters), got {got}")
    if value not in known:
        raise FeedbackError("unknown_passage", f"{name} {_quote(value, 200)} is no passage of "
                            "the loaded corpus (GET /api/documents/<document> lists them)",
                            status=422)
    return value


def _describe(value: object) -> str:
    """A JSON value's type, with the value when short: ``string "x"``, ``number 1``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return f"string {_quote(value)}"
    return "array" if isinstance(value, list) else "object"


def _quote(text: str, limit: int = 40) -> str:
    return json.dumps(text if len(text) <= limit else text[:limit] + "…", ensure_ascii=False)


# --------------------------------------------------------------------------- the log


class FeedbackLog:
    """The append-only JSON-lines log of votes at ``path``, capped at ``max_bytes``.

    Holds no open file: each :meth:`append` opens, locks, checks the size, writes one line
    and closes. ``full_reported`` keeps the "log is full" line to one per process until a
    write succeeds again (say, after the file was moved away).
    """

    def __init__(self, path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.full_reported = False
        # Threads of one process on Windows (no flock); on POSIX, flock also orders threads,
        # since each append opens its own file description.
        self._thread_lock = threading.Lock()

    def check(self) -> None:
        """Open the log for appending once (creating it), so that a wrong path fails at
        start-up rather than at the first vote: :class:`FeedbackError` naming the problem."""
        try:
            os.close(self._open())
        except OSError as exc:
            raise FeedbackError("feedback_unwritable", f"{self.path}: cannot append feedback "
                                f"to it: {exc.strerror or exc}") from None

    def append(self, vote: Vote) -> None:
        """Append ``vote`` as one line, atomically with respect to every other writer;
        :class:`FeedbackFull` (nothing written) when the line would pass the cap."""
        line = vote.to_line()
        with self._thread_lock:
            fd = self._open()
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                size = os.fstat(fd).st_size
                if size + len(line) > self.max_bytes:
                    self._report_full(size)
                    raise FeedbackFull(f"{self.path} is full ({size} bytes of "
                                       f"{self.max_bytes})")
                written = os.write(fd, line)
                if written != len(line):  # out of space mid-line: take the piece back
                    os.ftruncate(fd, size)
                    raise OSError(f"short write to {self.path} ({written} of {len(line)} "
                                  "bytes)")
                self.full_reported = False
            finally:
                os.close(fd)  # also releases the lock

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def _report_full(self, size: int) -> None:
        if not self.full_reported:
            _log.error("feedback log %s is full (%d bytes, limit %d): votes are refused with "
                       "507 until it is moved away or emptied", self.path, size,
                       self.max_bytes)
            self.full_reported = True


def read_feedback(path: str | os.PathLike[str]) -> tuple[tuple[Vote, ...], tuple[str, ...]]:
    """The votes of a log, and one problem line per line that is not a vote (``line N:
    ...``), which is left out. :class:`FeedbackError` when the file cannot be read."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise FeedbackError("no_feedback", f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedbackError("no_feedback", f"{path}: cannot read: {exc}") from None
    votes: list[Vote] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            votes.append(_vote_from_line(line))
        except (ValueError, TypeError) as exc:
            problems.append(f"line {number}: {exc}")
    return tuple(votes), tuple(problems)


def _vote_from_line(line: str) -> Vote:
    obj = json.loads(line)
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    if set(obj) != {"time", "corpus_hash", *FEEDBACK_FIELDS}:
        raise ValueError("not a vote (its fields differ)")
    if not isinstance(obj["time"], str) or not isinstance(obj["corpus_hash"], str) \
            or not _HASH.match(obj["corpus_hash"]):
        raise ValueError("bad time or corpus_hash")
    # The same rules the server checked, with any passage id allowed: whether the ids are
    # still in the corpus is the export's question.
    return parse_feedback({k: obj[k] for k in FEEDBACK_FIELDS}, _Anything(),
                          corpus_hash=obj["corpus_hash"], time=obj["time"])


class _Anything:
    def __contains__(self, item: object) -> bool:
        return True


# --------------------------------------------------------------------------- export


@dataclass(frozen=True)
class Export:
    """A gold set made from votes: its items (the JSON objects of the gold file, in order of
    each question's first vote) and what was left out, for the command to report."""

    items: tuple[dict[str, Any], ...]
    votes_used: int
    other_corpus: int = 0
    unknown_passage: int = 0
    problems: tuple[str, ...] = field(default_factory=tuple)

    def lines(self) -> str:
        """The gold file's text, one JSON object a line."""
        return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in self.items)


@dataclass(frozen=True)
class PassageInfo:
    """What an export needs of a passage: its text and its section."""

    text: str
    section: str


def export_gold(votes: Iterable[Vote], passages: Mapping[str, PassageInfo],
                corpus_hash: str) -> Export:
    """The gold set of ``votes`` on the corpus whose passages (by id) are ``passages`` and
    whose hash is ``corpus_hash``, by the rules in this module's docstring."""
    from .evaluate.gold import normalize_answer

    used: dict[str, list[Vote]] = {}
    other_corpus = unknown = 0
    for vote in votes:
        if vote.corpus_hash != corpus_hash:
            other_corpus += 1
            continue
        if vote.passage_id not in passages or (vote.chosen_passage_id is not None
                                               and vote.chosen_passage_id not in passages):
            unknown += 1
            continue
        used.setdefault(normalize_answer(vote.question), []).append(vote)
    items = [_item(n, group, passages) for n, group in enumerate(used.values(), start=1)]
    return Export(tuple(items), sum(len(g) for g in used.values()), other_corpus, unknown)


def _item(number: int, votes: Sequence[Vote], passages: Mapping[str, PassageInfo]
          ) -> dict[str, Any]:
    question = votes[-1].question  # the latest wording of it
    right: dict[str, int] = {}  # passage id -> claims that it answers, in order of last claim
    wrong: set[str] = set()  # passages claimed not to answer
    for vote in sorted(votes, key=lambda v: v.time):
        if vote.vote == "up":
            claimed = vote.passage_id
        else:
            wrong.add(vote.passage_id)
            claimed = vote.chosen_passage_id
        if claimed is not None:
            right[claimed] = right.pop(claimed, 0) + 1  # re-inserted: latest last
    item_id = f"f{number:03d}"
    if not right:
        return {"id": item_id, "question": question, "answers": [], "section": None,
                "kind": "unanswerable", "unanswerable": True, "review": True}
    # max() keeps the first of equals: scan latest first so a tie goes to the latest.
    best = max(reversed(right), key=lambda pid: right[pid])
    passage = passages[best]
    return {"id": item_id, "question": question, "answers": [passage.text],
            "section": passage.section, "kind": FEEDBACK_KIND, "unanswerable": False,
            "review": len(right) > 1 or best in wrong}
