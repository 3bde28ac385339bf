"""Answer questions: rank passages, decide whether the best one answers, mark its best sentence."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

import numpy as np

from .documents import Document, corpus_hash, load_corpus
from .errors import CorpusError, IndexFormatError, QuestionError
from .followup import resolve
from .limits import DEFAULT_TOP_K, MAX_CONTEXT, MAX_QUESTION_LENGTH, MAX_TOP_K
from .passages import Passage, split_answer_sentences, split_document
from .retrieval import Hit, Ranker, load_encoder, normalize, resolve_encoder_name
from .retrieval.lexical import indexed_text, word_tokens
from .retrieval.ranker import Progress

__all__ = [
    "DEFAULT_THRESHOLD",
    "DEFAULT_THRESHOLDS",
    "DEFAULT_TOP_K",
    "MAX_CONTEXT",
    "MAX_QUESTION_LENGTH",
    "MAX_TOP_K",
    "Alternative",
    "Answer",
    "QABot",
    "index_version",
    "passage_ids",
    "validate_context",
    "validate_question",
    "validate_top_k",
]

#: The best passage is the answer when its fused score reaches this and it holds some of
#: the question's words or stands out by its meaning (below). Per encoder, since the fused
#: score's scale depends on the signals; chosen by ``benchmarks/tune_fusion.py`` on the
#: pooled tuning parts of the gold sets, keeping the rejection of unanswerable questions
#: at least at TF-IDF's own (docs/accuracy.md).
DEFAULT_THRESHOLDS = {"none": 0.13, "static": 0.2, "transformer": 0.2}
DEFAULT_THRESHOLD = DEFAULT_THRESHOLDS["static"]
#: "Holds some of the question's words": at least this idf-weighted share of them.
MIN_COVERAGE = 0.05
#: ...or, whatever its words, its meaning stands out: its cosine with the question exceeds
#: the median passage's by this much (how far above the document as a whole it stands).
SEMANTIC_MARGIN = {"static": 0.25, "transformer": 0.2}
#: How deep to look for a passage holding every number of the question.
NUMBER_SEARCH_DEPTH = 10
#: A question naming only the document's subject ("What is zsh?" of the zsh FAQ) is
#: answered by its opening: the first of its first ``OPENING_DEPTH`` passages written as
#: prose (at least ``OPENING_WORDS`` words, ended by a full stop).
OPENING_DEPTH = 3
OPENING_WORDS = 8

NOT_FOUND_MESSAGE = (
    "Sorry, the document does not seem to cover that. Try rephrasing, or pick one of the "
    "nearest sections below."
)
GREETING_MESSAGE = (
    "Hello! Ask me a question about the document and I will answer with the passage that "
    "answers it and the section it comes from."
)
THANKS_MESSAGE = "You're welcome! Ask me anything else about the document."
GOODBYE_MESSAGE = "Goodbye! Come back with any other question about the document."
HELP_MESSAGE = (
    "I answer questions about the document: ask in plain words, and I reply with the passage "
    "that answers it and the section it comes from, so you can check it at the source."
)


def passage_ids(passages: Sequence[Passage]) -> tuple[str, ...]:
    """Each passage's stable id, ``<document>:<start>-<end>``: its document's name and the
    character span it was taken from (``document.text[start:end]``, offsets into the text
    as decoded). Where several passages share one span (a long HTML paragraph split in
    parts), the second is ``<document>:<start>-<end>:2``, the third ``...:3``, in document
    order. The same document gives the same ids on every load and on every server;
    ``GET /api/documents/<document>`` lists each passage under its id."""
    seen: Counter[str] = Counter()
    ids = []
    for p in passages:
        base = f"{p.document}:{p.start}-{p.end}"
        seen[base] += 1
        ids.append(base if seen[base] == 1 else f"{base}:{seen[base]}")
    return tuple(ids)


@dataclass(frozen=True)
class Alternative:
    """A runner-up passage offered beside the answer (or, when nothing is found, the best
    passage of one of the nearest sections)."""

    answer: str
    section: str
    document: str
    score: float
    passage_id: str

    def to_dict(self) -> dict[str, Any]:
        return {"answer": self.answer, "section": self.section, "document": self.document,
                "score": round(self.score, 4), "passage_id": self.passage_id}


@dataclass(frozen=True)
class Answer:
    """The reply to one question; :meth:`to_dict` is the JSON shape everywhere.

    ``answer`` is the passage as shown (:attr:`Passage.shown`): for an item of a list, the
    whole list, one item a line, with ``highlight`` the sentence that matched. When
    ``found`` is false, ``answer``, ``section``, ``document``, ``highlight`` and
    ``passage_id`` are ``None``, ``message`` says why, and ``alternatives`` lists the best
    passage of each of the nearest sections, one per section, as suggestions. ``score`` is
    the best passage's score in both cases. No passage or list is offered twice.
    ``passage_id`` (:func:`passage_ids`) names the answer's passage in its document.
    ``resolved_question`` is the standalone question actually answered when ``question``
    was read as a follow-up of the conversation's earlier questions (``None`` when it was
    answered as asked); ``to_dict`` has the key only when the question came with a
    context (``with_context``), so a reply to a question alone keeps its old shape.
    """

    question: str
    found: bool
    answer: str | None
    section: str | None
    document: str | None
    score: float
    highlight: str | None
    alternatives: tuple[Alternative, ...] = field(default_factory=tuple)
    message: str | None = None
    passage_id: str | None = None
    resolved_question: str | None = None
    with_context: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = {
            "question": self.question,
            "found": self.found,
            "answer": self.answer,
            "section": self.section,
            "document": self.document,
            "score": round(self.score, 4),
            "highlight": self.highlight,
            "alternatives": [a.to_dict() for a in self.alternatives],
            "message": self.message,
            "passage_id": self.passage_id,
        }
        if self.with_context:
            out["resolved_question"] = self.resolved_question
        return out


def validate_question(question: object) -> str:
    """The question stripped of surrounding space, or :class:`QuestionError`."""
    if not isinstance(question, str):
        raise QuestionError(f"question must be a string, got {type(question).__name__}")
    stripped = question.strip()
    if not stripped or len(stripped) > MAX_QUESTION_LENGTH:
        raise QuestionError(
            f"question must be 1 to {MAX_QUESTION_LENGTH} characters, got {len(stripped)}"
        )
    return stripped


def validate_context(context: object) -> tuple[str, ...]:
    """``context`` (the conversation's earlier questions, newest last) as a tuple of
    stripped questions, or :class:`QuestionError`: ``None`` or a list/tuple of at most
    ``MAX_CONTEXT`` strings, each valid as a question."""
    if context is None:
        return ()
    if isinstance(context, str) or not isinstance(context, Sequence):
        raise QuestionError(f"context must be a list of at most {MAX_CONTEXT} earlier "
                            f"questions, got {type(context).__name__}")
    if len(context) > MAX_CONTEXT:
        raise QuestionError(f"context must hold at most {MAX_CONTEXT} earlier questions, "
                            f"got {len(context)}")
    out = []
    for number, item in enumerate(context, start=1):
        try:
            out.append(validate_question(item))
        except QuestionError as exc:
            raise QuestionError(f"context item {number}: {exc}") from None
    return tuple(out)


def validate_top_k(top_k: object) -> int:
    """``top_k`` as an int in 1..MAX_TOP_K, or :class:`QuestionError` (bools are refused)."""
    if isinstance(top_k, bool) or not isinstance(top_k, int | np.integer):
        raise QuestionError(
            f"top_k must be an integer from 1 to {MAX_TOP_K}, got {type(top_k).__name__}"
        )
    if not 1 <= top_k <= MAX_TOP_K:
        raise QuestionError(f"top_k must be an integer from 1 to {MAX_TOP_K}, got {top_k}")
    return int(top_k)


_LOWER_WORD = re.compile(r"[a-z']+")
_GREETING = re.compile(
    r"^(hi|hello|hey|hiya|howdy|yo|greetings|good (morning|afternoon|evening|day))"
    r"( there| bot| qabot)?$"
)
_THANKS = re.compile(
    r"^(thanks?|thank you|thx|ty|cheers|great|ok|okay|cool|nice)( (a lot|so much|very much))?$"
)
_GOODBYE = re.compile(
    r"^(bye|goodbye|good bye|bye bye|see you|see you later|see ya|cya|farewell|"
    r"good night)( now| then| for now)?$"
)
_HELP = re.compile(
    r"^(help|what can you do|who are you|what are you|how does this work|what do you do|"
    r"how do i use (this|you))$"
)


def small_talk_message(question: str) -> str | None:
    """A friendly reply when the question is a greeting, thanks, a goodbye or a request for
    help."""
    text = " ".join(_LOWER_WORD.findall(normalize(question)))
    for pattern, message in ((_GREETING, GREETING_MESSAGE), (_THANKS, THANKS_MESSAGE),
                             (_GOODBYE, GOODBYE_MESSAGE), (_HELP, HELP_MESSAGE)):
        if pattern.match(text):
            return message
    return None


class QABot:
    """Question answering over a corpus: build once, then :meth:`ask` many times.

    The question is first spell-corrected against the corpus's own words, then passages
    are ranked by the fused lexical + semantic score (:class:`~qabot.retrieval.Ranker`).
    The best passage is the answer when its fused score is at least ``threshold`` and it
    either holds at least ``MIN_COVERAGE`` of the question's idf-weighted content words or
    its meaning stands out (its cosine with the question exceeds the median passage's by
    ``SEMANTIC_MARGIN``); otherwise the reply has ``found`` false and lists the best
    passage of each of the nearest sections as suggestions; but a question naming only
    what the whole document is about (its words in too many passages to be indexed: "What
    is zsh?" of the zsh FAQ) that would be declined is answered by the document's opening,
    the first of its first ``OPENING_DEPTH`` passages written as prose that names it. A
    question that names a
    number of three digits or more ("in 2018", "175 states") is answered only by a
    passage holding that number, the best such passage among the top
    ``NUMBER_SEARCH_DEPTH``; shorter numbers, as in "a 40-foot yacht" or "COVID-19", are
    too often context to count. A number alone is not
    coverage unless a heading above the passage names it, so a year cannot on its own make
    a citation the answer to an unrelated question.
    """

    def __init__(
        self,
        index: Ranker,
        documents: tuple[Document, ...] = (),
        *,
        threshold: float | None = None,
    ) -> None:
        self.index = index
        self.documents = tuple(documents)
        self.encoder = index.encoder_name
        #: ``passage_ids[i]`` is the id of ``passages[i]`` (:func:`passage_ids`).
        self.passage_ids = passage_ids(index.passages)
        self.threshold = float(DEFAULT_THRESHOLDS[self.encoder] if threshold is None
                               else threshold)
        self._openings = _openings(index.passages)

    @classmethod
    def from_documents(
        cls,
        documents: tuple[Document, ...] | list[Document],
        *,
        threshold: float | None = None,
        index_dir: str | os.PathLike[str] | None = None,
        encoder: str | None = None,
        progress: Progress | None = None,
    ) -> QABot:
        """Build a bot from loaded documents, reusing a fresh index saved in ``index_dir``.

        ``encoder`` is ``"static"`` (the default), ``"transformer"`` (needs the extra) or
        ``"none"`` (TF-IDF alone). A saved index is reused only when it was built from the
        same corpus by the same code (qabot's version and a hash of the splitting and
        indexing modules) with the same encoder; otherwise it is rebuilt and overwritten.
        ``progress(stage, done, total)`` is told how a build advances (documents split,
        words indexed, passages embedded).
        """
        documents = tuple(documents)
        model = load_encoder(resolve_encoder_name(encoder))
        index = None
        digest = corpus_hash(documents)
        version = index_version()
        if index_dir is not None:
            try:
                index = Ranker.load(index_dir, version=version, corpus_hash=digest,
                                    encoder=model)
            except IndexFormatError:
                index = None
        if index is None:
            report = progress or (lambda stage, done, total: None)
            split: list[Passage] = []
            for number, document in enumerate(documents, start=1):
                split += split_document(document)
                report("splitting documents", number, len(documents))
            passages = tuple(split)
            if not passages:
                names = ", ".join(d.name for d in documents)
                raise CorpusError(f"{names}: no text to answer from")
            index = Ranker.build(passages, model, progress=progress)
            if index_dir is not None and _read_only(index_dir):
                _log.warning("%s: the index folder is read-only; serving a fresh in-memory "
                             "index instead of the saved one, which is stale or damaged",
                             index_dir)
            elif index_dir is not None:
                index.save(index_dir, version=version, corpus_hash=digest)
        return cls(index, documents, threshold=threshold)

    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        threshold: float | None = None,
        index_dir: str | os.PathLike[str] | None = None,
        encoder: str | None = None,
    ) -> QABot:
        """Build a bot from a file or folder (default ``$QABOT_CORPUS``, else ``./corpus``)."""
        return cls.from_documents(load_corpus(path), threshold=threshold, index_dir=index_dir,
                                  encoder=encoder)

    @property
    def passages(self) -> tuple[Passage, ...]:
        return self.index.passages

    def ask(self, question: str, top_k: int = DEFAULT_TOP_K,
            context: Sequence[str] | None = None) -> Answer:
        """Answer ``question`` with the best passage and ``top_k - 1`` alternatives.

        ``context`` holds the conversation's earlier questions, newest last (at most
        ``MAX_CONTEXT``). A question that leans on them (:mod:`qabot.followup`: a pronoun
        pointing back, an ellipsis, no topic of its own) is answered as the standalone
        question built from the newest one with a topic, given in ``resolved_question``.
        Without ``context`` the reply is exactly that of the question alone.
        """
        question = validate_question(question)
        top_k = validate_top_k(top_k)
        context = validate_context(context)
        if not context:
            return self._ask(question, top_k)
        resolution = resolve(question, context)
        if resolution.reason is None or small_talk_message(question) is not None:
            return replace(self._ask(question, top_k), with_context=True)
        answer = self._ask(resolution.standalone, top_k)
        return replace(answer, question=question, resolved_question=resolution.standalone,
                       with_context=True)

    def _ask(self, question: str, top_k: int) -> Answer:
        """:meth:`ask` of a question alone, already validated."""
        chat = small_talk_message(question)
        if chat is not None:
            return Answer(question, False, None, None, None, 0.0, None, (), chat)
        query = self.index.correct_spelling(question)
        numbers = _NUMBER.findall(query)
        scores = self.index.score(query)
        hits = self._distinct_hits(scores.fused, max(top_k, NUMBER_SEARCH_DEPTH if numbers else 0))
        # A number in the question ("in 2018") must be in the answer: the best passage
        # that has every one of them is the candidate, however far down it ranks.
        best = next((h for h in hits if _has_numbers(h.passage, numbers)), None)
        if best is None or not self._answers(query, numbers, best, scores.semantic):
            opening = (None if best is None or numbers
                       else self._opening(query, best.passage.document))
            if opening is None:
                nearest = self._section_hits(scores.fused, top_k)
                return Answer(question, False, None, None, None, hits[0].score, None,
                              tuple(self._alternative(h) for h in nearest), NOT_FOUND_MESSAGE)
            # "What is zsh?" of the zsh FAQ, found in no passage more than in the others:
            # the document's opening says.
            best = Hit(self.index.passages[opening], opening, float(scores.fused[opening]))
            hits = [best, *(h for h in hits if h.position != opening)]
        p = best.passage
        others = [h for h in hits if h is not best][: top_k - 1]
        return Answer(question, True, p.shown, p.section, p.document, best.score,
                      self.highlight(query, p.text),
                      tuple(self._alternative(h) for h in others), None,
                      self.passage_ids[best.position])

    def _opening(self, query: str, document: str) -> int | None:
        """The passage answering a question that names only what the whole document is
        about ("What is zsh?", "Tell me about grep"): the first of the document's first
        ``OPENING_DEPTH`` passages written as prose that names it, in its text or its
        headings, if any."""
        stems = self.index.subject_stems(query)
        if not stems:
            return None
        return next((i for i in self._openings.get(document, ())
                     if _is_prose(self.index.passages[i].text)
                     and stems <= set(word_tokens(indexed_text(self.index.passages[i])))),
                    None)

    def _answers(self, query: str, numbers: list[str], best: Hit,
                 semantic: np.ndarray | None) -> bool:
        """Whether the best passage is good enough to be offered as the answer."""
        if best.score < self.threshold:
            return False
        if self._covers(query, numbers, best):
            return True
        margin = SEMANTIC_MARGIN.get(self.encoder)
        return (semantic is not None and margin is not None and len(semantic) > 1
                and semantic[best.position] - float(np.median(semantic)) >= margin)

    def _covers(self, query: str, numbers: list[str], best: Hit) -> bool:
        """Whether the passage holds enough of the question's words. Numbers count towards
        coverage, but cannot be all of it unless a heading above the passage names them
        (a section about "the 1990s"): a year shared with a bibliography entry does not
        make it the answer to an unrelated question."""
        p = best.passage
        covered = self.index.coverage(query, best.position)
        if covered < MIN_COVERAGE:
            return False
        # A question without numbers is its own words: its coverage is already known.
        words = _without_numbers(query)
        return ((covered if words == query else self.index.coverage(words, best.position)) > 0
                or _names_any(" ".join((*p.parents, p.section)), numbers))

    def _distinct_hits(self, scores: np.ndarray, count: int) -> list[Hit]:
        """At least ``count`` hits with distinct shown answers (fewer only when the corpus
        has fewer): a list's items share one answer, so more are fetched until enough."""
        return self._deepening(scores, count, _distinct)

    def _deepening(self, scores: np.ndarray, count: int,
                   keep: Callable[[list[Hit]], list[Hit]]) -> list[Hit]:
        """``keep`` of the top hits, looking twice as deep each time until it keeps at
        least ``count`` of them or the corpus is exhausted."""
        depth = 2 * count
        while True:
            hits = keep(self.index.top(scores, depth))
            if len(hits) >= count or depth >= len(scores):
                return hits
            depth *= 2

    def _alternative(self, hit: Hit) -> Alternative:
        p = hit.passage
        return Alternative(p.shown, p.section, p.document, hit.score,
                           self.passage_ids[hit.position])

    def _section_hits(self, scores: np.ndarray, count: int) -> list[Hit]:
        """The best passage of each of the ``count`` best-scoring sections, best first:
        the suggestions of a reply that found nothing. Several top passages often share a
        section, and a section offered twice hides the next one, which may be the one the
        reader wants."""
        hits = self._deepening(scores, count, lambda top: _one_per_section(_distinct(top)))
        return hits[:count]

    def highlight(self, question: str, text: str) -> str:
        """The sentence of ``text`` most similar to ``question`` (the whole text if one)."""
        spans = split_answer_sentences(text)
        if len(spans) <= 1:
            return text
        sentences = [text[s:e] for s, e in spans]
        scores = self.index.similarity(question, sentences)
        return sentences[int(np.argmax(scores))]

    def sections(self) -> list[dict[str, Any]]:
        """Each document with its sections, in order, and their passage counts."""
        titles = {d.name: d.title for d in self.documents}
        out: dict[str, dict[str, Any]] = {}
        for p in self.passages:
            doc = out.setdefault(p.document, {"document": p.document,
                                              "title": titles.get(p.document, p.document),
                                              "sections": {}})
            doc["sections"][p.section] = doc["sections"].get(p.section, 0) + 1
        return [
            {**doc, "sections": [{"section": s, "passages": n} for s, n in doc["sections"].items()]}
            for doc in out.values()
        ]

    def document(self, name: str) -> dict[str, Any] | None:
        """The document called ``name`` as qabot read it, for a reader to open an answer at
        its source: its title and its sections in order, each with its headings above it
        and its passages (id, text, span). ``None`` when the corpus has no such document.

        ``name`` is only ever compared with the names of the loaded documents: nothing is
        read from disk here, so no name can reach a file outside the corpus.
        """
        titles = {d.name: d.title for d in self.documents}
        sections: list[dict[str, Any]] = []
        for p, pid in zip(self.passages, self.passage_ids, strict=True):
            if p.document != name:
                continue
            last = sections[-1] if sections else None
            if last is None or (last["section"], last["parents"]) != (p.section,
                                                                      list(p.parents)):
                last = {"section": p.section, "parents": list(p.parents), "passages": []}
                sections.append(last)
            last["passages"].append({"passage_id": pid, "text": p.text, "start": p.start,
                                     "end": p.end})
        if not sections:
            return None
        return {"document": name, "title": titles.get(name, name), "sections": sections}


_log = logging.getLogger(__name__)


def _read_only(folder: str | os.PathLike[str]) -> bool:
    """True when ``folder`` exists but cannot be written (a read-only mount, say)."""
    return os.path.isdir(folder) and not os.access(folder, os.W_OK)


def index_version() -> str:
    """qabot's version plus a short hash of the modules that decide what an index holds:
    the loader, the passage readers and the whole retrieval package (a module added there,
    as ``tfidf.py`` was, counts without being listed here)."""
    from . import __version__

    digest = hashlib.sha256()
    for module in ("documents.py", "passages", "retrieval"):
        entry = resources.files("qabot").joinpath(module)
        # A package counts by its modules, in name order.
        files = (sorted((f for f in entry.iterdir() if f.name.endswith(".py")),
                        key=lambda f: f.name) if entry.is_dir() else [entry])
        for file in files:
            digest.update(file.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


#: Numbers a question can name as the fact it asks about: years, counts of 100 and more.
_NUMBER = re.compile(r"(?<!\d)\d{3,}(?!\d)")
_DIGITS = re.compile(r"\d+")
_LETTER = re.compile(r"[^\W\d_]")


def _without_numbers(question: str) -> str:
    """The question without its numbers, or as it is when it is nothing but numbers."""
    stripped = _DIGITS.sub(" ", question)
    return stripped if _LETTER.search(stripped) else question


def _names(text: str, number: str) -> bool:
    """True when ``number`` occurs in ``text`` as a whole number."""
    return re.search(rf"(?<!\d){number}(?!\d)", text) is not None


def _names_any(text: str, numbers: list[str]) -> bool:
    """True when ``text`` names one of ``numbers`` (a heading about "the 1990s")."""
    return any(_names(text, n) for n in numbers)


def _openings(passages: Sequence[Passage]) -> dict[str, list[int]]:
    """Each document's first ``OPENING_DEPTH`` passages, where it says what it is about."""
    firsts: dict[str, list[int]] = {}
    for position, p in enumerate(passages):
        seen = firsts.setdefault(p.document, [])
        if len(seen) < OPENING_DEPTH:
            seen.append(position)
    return firsts


def _is_prose(text: str) -> bool:
    return len(text.split()) >= OPENING_WORDS and text.rstrip().endswith((".", "!"))


def _has_numbers(passage: Passage, numbers: list[str]) -> bool:
    """True when each number occurs in the passage or its headings as a whole number."""
    text = " ".join((*passage.parents, passage.section, passage.text))
    return all(_names(text, n) for n in numbers)


def _first_per(hits: list[Hit], key: Callable[[Passage], tuple[str, str]]) -> list[Hit]:
    """The hits, best first, keeping the first of each ``key(passage)``."""
    seen: set[tuple[str, str]] = set()
    out = []
    for hit in hits:
        known = key(hit.passage)
        if known not in seen:
            seen.add(known)
            out.append(hit)
    return out


def _distinct(hits: list[Hit]) -> list[Hit]:
    """The hits, best first, keeping one per shown answer (a list's items share one)."""
    return _first_per(hits, lambda p: (p.document, p.shown))


def _one_per_section(hits: list[Hit]) -> list[Hit]:
    """The hits, best first, keeping the first of each section of each document."""
    return _first_per(hits, lambda p: (p.document, p.section))



